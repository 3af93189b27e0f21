"""Billing staff's commands: accounts, subscriptions, invoices, payments, credit notes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ledger.api_client import Api
from ledger.commands import add_command, add_group, at_of, decimal_arg, decimal_text, staff_options, with_api


def date_arg(text: str) -> date:
    import argparse

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def month_arg(text: str) -> str:
    """A billing period given as a month, YYYY-MM (the API takes it so)."""
    import argparse

    try:
        first = date.fromisoformat(text + "-01")
        (first + timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):  # 9999-12 has no next month to end on
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM) the ledger can bill") from None
    return text


def _report(what: str, answer: dict, done: str) -> int:
    print(f"{what}: {done if answer['changed'] else 'nothing changed (it was done before)'}")
    return 0


def _money(api: Api, customer_id: str, of: str, amount: Decimal, currency: str | None = None) -> dict:
    """An amount typed in major units as the API takes it, in minor units: more decimals than
    the currency has is refused here, never rounded. Without a currency, the account's."""
    from domain.money import minor_units_exactly

    currency = (currency or api.get(f"/customers/{customer_id}")["currency"]).upper()
    return {"amount": minor_units_exactly(amount, currency, f"customer {customer_id!r}: {of}: amount"),
            "currency": currency}


# --- accounts and subscriptions ------------------------------------------------------------


@with_api
def cmd_account_open(api: Api, args) -> int:
    answer = api.post("/customers", {
        "customer_id": args.customer, "name": args.name, "currency": args.currency,
        "payment_terms_days": args.terms, "tax_rate": decimal_text(args.tax_rate), "at": at_of(args),
    })
    return _report(f"account {args.customer}", answer, "opened")


@with_api
def cmd_account_profile(api: Api, args) -> int:
    answer = api.patch(f"/customers/{args.customer}", {
        "name": args.name, "payment_terms_days": args.terms, "tax_rate": decimal_text(args.tax_rate), "at": at_of(args),
    })
    return _report(f"account {args.customer}", answer, "profile changed")


@with_api
def cmd_account_policy(api: Api, args) -> int:
    answer = api.put(f"/customers/{args.customer}/policy", {"policy": args.policy, "at": at_of(args)})
    return _report(f"account {args.customer}", answer, f"now under collections policy {args.policy}")


@with_api
def cmd_account_close(api: Api, args) -> int:
    answer = api.post(f"/customers/{args.customer}/closure", {"at": at_of(args)})
    return _report(f"account {args.customer}", answer, "closed")


@with_api
def cmd_subscription_add_metered(api: Api, args) -> int:
    answer = api.post(f"/customers/{args.customer}/subscriptions", {
        "kind": "metered", "subscription_id": args.subscription, "product": args.product, "meter": args.meter,
        "unit": args.unit, "unit_price": decimal_text(args.unit_price), "markup_percent": decimal_text(args.markup), "at": at_of(args),
    })
    return _report(f"subscription {args.subscription}", answer, "added")


@with_api
def cmd_subscription_add_seats(api: Api, args) -> int:
    answer = api.post(f"/customers/{args.customer}/subscriptions", {
        "kind": "seats", "subscription_id": args.subscription, "product": args.product, "seats": args.seats,
        "price_per_seat": decimal_text(args.price_per_seat), "starts_on": args.starts_on.isoformat(), "at": at_of(args),
    })
    return _report(f"subscription {args.subscription}", answer, "added")


@with_api
def cmd_subscription_seats(api: Api, args) -> int:
    answer = api.put(f"/customers/{args.customer}/subscriptions/{args.subscription}/seats", {
        "seats": args.seats, "effective_on": args.effective_on.isoformat(), "at": at_of(args),
    })
    return _report(f"subscription {args.subscription}", answer, f"{args.seats} seats from {args.effective_on}")


@with_api
def cmd_account_show(api: Api, args) -> int:
    import json

    from ledger.commands.render import account_table

    account = api.get(f"/customers/{args.customer}")
    print(json.dumps(account, indent=2) if args.format == "json" else account_table(account))
    return 0


# --- invoices, payments, credits ---------------------------------------------------------------


@with_api
def cmd_invoice_issue(api: Api, args) -> int:
    from ledger.commands.runs import bill_run_summary, follow_run

    period = {"period": args.period, "at": at_of(args)}
    if args.all:  # the bill run: a job of the server, followed here
        return follow_run(api, "/invoices/runs", {**period, "workers": args.workers}, bill_run_summary)
    invoice = api.post(f"/customers/{args.customer}/invoices", period)
    number = invoice["invoice_number"]
    print(f"{invoice['customer_id']}: " + (f"invoice {number} issued" if invoice["changed"]
                                           else "period closed before (nothing changed)"))
    return 0


@with_api
def cmd_payment_receive(api: Api, args) -> int:
    amount = _money(api, args.customer, f"payment {args.payment!r}", args.amount, args.currency)
    answer = api.post(f"/customers/{args.customer}/payments", {
        "payment_id": args.payment, "amount": amount, "method": args.method, "reference": args.reference,
        "invoice_number": args.invoice, "at": at_of(args),
    })
    return _report(f"payment {args.payment}", answer, "received and allocated")


def reason_command(path: str, what: str, done: str):
    """A command that sends the API one reason and its business time; `path` and `what` are
    filled in with the command's arguments ({customer}, {payment}, {invoice}...)."""

    @with_api
    def run(api: Api, args) -> int:
        answer = api.post(path.format_map(vars(args)), {"reason": args.reason, "at": at_of(args)})
        return _report(what.format_map(vars(args)), answer, done)

    return run


cmd_payment_reverse = reason_command("/customers/{customer}/payments/{payment}/reversal", "payment {payment}",
                                     "reversed; what it settled is open again")


@with_api
def cmd_payment_refund(api: Api, args) -> int:
    amount = _money(api, args.customer, f"refund {args.refund!r}", args.amount)
    answer = api.post(f"/customers/{args.customer}/refunds", {
        "refund_id": args.refund, "amount": amount, "method": args.method, "reference": args.reference,
        "at": at_of(args),
    })
    return _report(f"refund {args.refund}", answer, "paid from the credit balance")


@with_api
def cmd_credit_note(api: Api, args) -> int:
    amount = _money(api, args.customer, f"credit note {args.credit_note!r}", args.amount)
    answer = api.post(f"/customers/{args.customer}/credit-notes", {
        "credit_note_id": args.credit_note, "invoice_number": args.invoice, "amount": amount, "reason": args.reason,
        "at": at_of(args),
    })
    return _report(f"credit note {args.credit_note}", answer, f"issued against {args.invoice}")


def register(sub) -> None:
    account = add_group(sub, "account", "customer accounts")
    p = add_command(account, "open", cmd_account_open, "open a customer account")
    p.add_argument("customer")
    p.add_argument("--name", required=True)
    p.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    p.add_argument("--terms", type=int, default=30, help="payment terms in days (default 30)")
    p.add_argument("--tax-rate", type=decimal_arg, default=Decimal(0), help="tax rate in percent")
    staff_options(p)
    p = add_command(account, "show", cmd_account_show, "an account as the ledger holds it now: balance, invoices, suspensions")
    p.add_argument("customer")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p = add_command(account, "profile", cmd_account_profile, "change the billing profile (what is given)")
    p.add_argument("customer")
    p.add_argument("--name")
    p.add_argument("--terms", type=int, help="payment terms in days")
    p.add_argument("--tax-rate", type=decimal_arg, help="tax rate in percent")
    staff_options(p)
    p = add_command(account, "policy", cmd_account_policy, "put the account under a collections policy")
    p.add_argument("customer")
    p.add_argument("policy")
    staff_options(p)
    p = add_command(account, "close", cmd_account_close, "close a customer account")
    p.add_argument("customer")
    staff_options(p)

    subscription = add_group(sub, "subscription", "subscriptions of an account")
    p = add_command(subscription, "add-metered", cmd_subscription_add_metered, "add a metered subscription")
    p.add_argument("customer")
    p.add_argument("subscription")
    p.add_argument("--product", required=True)
    p.add_argument("--meter", required=True)
    p.add_argument("--unit", required=True)
    p.add_argument("--unit-price", type=decimal_arg, required=True)
    p.add_argument("--markup", type=decimal_arg, default=Decimal(0), help="percent; negative for a discount")
    staff_options(p)
    p = add_command(subscription, "add-seats", cmd_subscription_add_seats, "add a seat-based subscription")
    p.add_argument("customer")
    p.add_argument("subscription")
    p.add_argument("--product", required=True)
    p.add_argument("--seats", type=int, required=True)
    p.add_argument("--price-per-seat", type=decimal_arg, required=True, help="monthly price of one seat")
    p.add_argument("--starts-on", type=date_arg, required=True)
    staff_options(p)
    p = add_command(subscription, "seats", cmd_subscription_seats, "change the seat count from a day on")
    p.add_argument("customer")
    p.add_argument("subscription")
    p.add_argument("seats", type=int)
    p.add_argument("--effective-on", type=date_arg, required=True)
    staff_options(p)

    invoice = add_group(sub, "invoice", "close billing periods")
    p = add_command(invoice, "issue", cmd_invoice_issue, "close a billing period: issue the invoice")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("customer", nargs="?")
    target.add_argument("--all", action="store_true",
                        help="every account: the bill run (progress, then a summary; Ctrl-C stops it, run again to finish)")
    p.add_argument("--period", type=month_arg, required=True, help="the month billed, YYYY-MM")
    p.add_argument("--workers", type=int, help="with --all: the server's worker processes (default: one per core)")
    staff_options(p)

    payment = add_group(sub, "payment", "payments, reversals and refunds")
    p = add_command(payment, "receive", cmd_payment_receive, "record a payment; it settles open invoices oldest first")
    p.add_argument("customer")
    p.add_argument("payment", help="the payment's own id (a retry with the same id changes nothing)")
    p.add_argument("--amount", type=decimal_arg, required=True)
    p.add_argument("--currency", required=True)
    p.add_argument("--method", default="transfer")
    p.add_argument("--reference", default="")
    p.add_argument("--invoice", help="the invoice the payer names, settled first")
    staff_options(p)
    p = add_command(payment, "reverse", cmd_payment_reverse, "reverse a payment (bounced, charged back)")
    p.add_argument("customer")
    p.add_argument("payment")
    p.add_argument("--reason", required=True)
    staff_options(p)
    p = add_command(payment, "refund", cmd_payment_refund, "pay credit balance back to the customer")
    p.add_argument("customer")
    p.add_argument("refund", help="the refund's own id")
    p.add_argument("--amount", type=decimal_arg, required=True)
    p.add_argument("--method", default="transfer")
    p.add_argument("--reference", default="")
    staff_options(p)

    credit = add_group(sub, "credit-note", "credit notes")
    p = add_command(credit, "issue", cmd_credit_note, "issue a credit note against an invoice")
    p.add_argument("customer")
    p.add_argument("credit_note", metavar="credit-note", help="the credit note's own id")
    p.add_argument("--invoice", required=True)
    p.add_argument("--amount", type=decimal_arg, required=True)
    p.add_argument("--reason", required=True)
    staff_options(p)

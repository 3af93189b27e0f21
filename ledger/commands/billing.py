"""Billing staff's commands: accounts, subscriptions, invoices, payments, credit notes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.roles import Permission
from ledger.commands import (
    add_command,
    add_group,
    business_time,
    decimal_arg,
    staff_options,
    with_services,
)
from ledger.config import Settings


def date_arg(text: str) -> date:
    import argparse

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def month_arg(text: str) -> tuple[date, date]:
    """A billing period given as a month, YYYY-MM: its first day and the next month's."""
    import argparse

    try:
        first = date.fromisoformat(text + "-01")
        return first, (first + timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):  # 9999-12 has no next month to end on
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM) the ledger can bill") from None


def _app(settings: Settings):
    from eventstore.postgres import open_application

    return open_application(settings)


def _report(what: str, changed: bool, done: str) -> int:
    print(f"{what}: {done if changed else 'nothing changed (it was done before)'}")
    return 0


def _minor_units(app, customer_id: str, of: str, amount: Decimal, currency: str | None = None) -> tuple[int, str]:
    from domain.money import minor_units_exactly

    currency = currency or app.get_account(customer_id).currency
    return minor_units_exactly(amount, currency, f"customer {customer_id!r}: {of}: amount"), currency


# --- accounts and subscriptions ------------------------------------------------------------


@with_services
def cmd_account_open(settings: Settings, args) -> int:
    opened = _app(settings).open_account(
        args.customer, args.name, args.currency, args.terms, args.tax_rate, at=business_time(args), actor=args.actor
    )
    return _report(f"account {args.customer}", opened, "opened")


@with_services
def cmd_account_profile(settings: Settings, args) -> int:
    app = _app(settings)
    account = app.get_account(args.customer)
    changed = app.change_profile(
        args.customer, args.name or account.name,
        account.payment_terms_days if args.terms is None else args.terms,
        account.tax_rate if args.tax_rate is None else args.tax_rate,
        at=business_time(args), actor=args.actor,
    )
    return _report(f"account {args.customer}", changed, "profile changed")


@with_services
def cmd_account_policy(settings: Settings, args) -> int:
    changed = _app(settings).assign_policy(args.customer, args.policy, at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", changed, f"now under collections policy {args.policy}")


@with_services
def cmd_account_close(settings: Settings, args) -> int:
    closed = _app(settings).close_account(args.customer, at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", closed, "closed")


@with_services
def cmd_subscription_add_metered(settings: Settings, args) -> int:
    added = _app(settings).add_metered_subscription(
        args.customer, args.subscription, args.product, args.meter, args.unit, args.unit_price, args.markup,
        at=business_time(args), actor=args.actor,
    )
    return _report(f"subscription {args.subscription}", added, "added")


@with_services
def cmd_subscription_add_seats(settings: Settings, args) -> int:
    added = _app(settings).add_seat_subscription(
        args.customer, args.subscription, args.product, args.seats, args.price_per_seat, args.starts_on,
        at=business_time(args), actor=args.actor,
    )
    return _report(f"subscription {args.subscription}", added, "added")


@with_services
def cmd_subscription_seats(settings: Settings, args) -> int:
    changed = _app(settings).change_seats(
        args.customer, args.subscription, args.seats, args.effective_on, at=business_time(args), actor=args.actor
    )
    return _report(f"subscription {args.subscription}", changed, f"{args.seats} seats from {args.effective_on}")


@with_services
def cmd_account_show(settings: Settings, args) -> int:
    import json

    from readside.account_view import account_summary, render_summary

    app = _app(settings)
    app.authorize(args.actor, Permission.READ_BILLING_VIEWS)
    summary = account_summary(app.get_account(args.customer))
    print(json.dumps(summary, indent=2, default=str) if args.format == "json" else render_summary(summary))
    return 0


# --- invoices, payments, credits ---------------------------------------------------------------


@with_services
def cmd_invoice_issue(settings: Settings, args) -> int:
    app = _app(settings)
    start, end = args.period
    customers = app.index.customer_ids() if args.all else [args.customer]
    for customer_id in customers:
        number = app.issue_invoice(customer_id, start, end, at=business_time(args), actor=args.actor)
        print(f"{customer_id}: " + (f"invoice {number} issued" if number else "period closed before (nothing changed)"))
    return 0


@with_services
def cmd_payment_receive(settings: Settings, args) -> int:
    app = _app(settings)
    amount, currency = _minor_units(app, args.customer, f"payment {args.payment!r}", args.amount, args.currency)
    received = app.receive_payment(
        args.customer, args.payment, amount, currency, args.method, args.reference, args.invoice,
        at=business_time(args), actor=args.actor,
    )
    return _report(f"payment {args.payment}", received, "received and allocated")


@with_services
def cmd_payment_reverse(settings: Settings, args) -> int:
    reversed_ = _app(settings).reverse_payment(
        args.customer, args.payment, args.reason, at=business_time(args), actor=args.actor
    )
    return _report(f"payment {args.payment}", reversed_, "reversed; what it settled is open again")


@with_services
def cmd_payment_refund(settings: Settings, args) -> int:
    app = _app(settings)
    amount, _ = _minor_units(app, args.customer, f"refund {args.refund!r}", args.amount)
    refunded = app.refund(args.customer, args.refund, amount, args.method, args.reference,
                          at=business_time(args), actor=args.actor)
    return _report(f"refund {args.refund}", refunded, "paid from the credit balance")


@with_services
def cmd_credit_note(settings: Settings, args) -> int:
    app = _app(settings)
    amount, _ = _minor_units(app, args.customer, f"credit note {args.credit_note!r}", args.amount)
    issued = app.issue_credit_note(args.customer, args.credit_note, args.invoice, amount, args.reason,
                                   at=business_time(args), actor=args.actor)
    return _report(f"credit note {args.credit_note}", issued, f"issued against {args.invoice}")


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
    p.add_argument("--as", dest="actor", required=True,
                   help="the staff user who reads; must be allowed to read balances, invoices and collection status")
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
    target.add_argument("--all", action="store_true", help="every account")
    p.add_argument("--period", type=month_arg, required=True, help="the month billed, YYYY-MM")
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

"""The support view of one customer, on one page: the views' rows as of the staff member's
day, put in plain words by service/console/explanations.py. A form is on the page only for
a staff member whose role allows it (the server refuses it to the others as well)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from domain.accounts.collections_rules import owed_overdue
from domain.errors import UnknownCustomer
from domain.roles import Permission
from service.auth import context
from service.routes.accounts import account_out
from service.console import explanations as say
from service.console import charts, preview, reads
from service.console.session import Refused, Staff
from service.console.web import page, today_of


def _date(value) -> date | None:
    return None if value is None else value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def facts(support: dict, invoices: list[dict]) -> tuple[dict[str, say.Invoice], list[say.Reversal]]:
    by_number = {
        i["invoice_number"]: say.Invoice(i["invoice_number"], i["amount_open"], i["days_past_due"] or 0,
                                         i["written_off"], _date(i["written_off_on"]))
        for i in invoices
    }
    reversals = [
        say.Reversal(p["payment_id"], _date(p["reversed_on"]), p["reversal_reason"] or "reversed",
                     tuple(a["invoice_number"] for a in p["settled"] or ()))
        for p in support["last_payments"] if p["reversed"]
    ]
    return by_number, reversals


def keeping_suspended(ledger, account, subscription_ids: list[str], today: date) -> list[str]:
    """The invoices that keep these subscriptions suspended: what the domain's reinstatement
    counts (domain/accounts/collections_rules.owed_overdue), for each subscription, or for the
    account when a suspension is account-wide."""
    policy = ledger.policy_book().policy(account.policy_name)
    scopes = {account.suspensions[s].scope for s in subscription_ids if s in account.suspensions}
    invoices = account.invoices.values()
    owed = (owed_overdue(invoices, policy, today) if "account" in scopes
            else [i for s in subscription_ids for i in owed_overdue(invoices, policy, today, s)])
    return sorted({i.number for i in owed})


def suspensions(ledger, account, support: dict, invoices: dict[str, say.Invoice], reversals: list[say.Reversal],
                today: date) -> list[str]:
    """One sentence per suspension (subscriptions suspended together, for the same reason)."""
    grouped: dict[tuple, list[str]] = {}
    for s in support["suspended_subscriptions"]:
        key = (s["since"], s["reason"], s["by_policy"], tuple(s["invoice_numbers"]), s["deprovision_deadline"])
        grouped.setdefault(key, []).append(s["subscription_id"])
    return [
        say.suspension(say.Suspension(tuple(ids), _date(since), reason, by_policy, numbers, _date(deadline)),
                       invoices, reversals, support["currency"], today,
                       [invoices[n] for n in keeping_suspended(ledger, account, ids, today) if n in invoices])
        for (since, reason, by_policy, numbers, deadline), ids in grouped.items()
    ]


def hold_sentence(request: Request, staff: Staff, collection: dict | None, today: date) -> str | None:
    if not collection or not collection["hold_kind"]:
        return None
    until = collection["hold_until"]
    after = preview.account_plan(context(request).ledger, collection["customer_id"],
                                 date.fromordinal(until.toordinal() + 1), staff.user)
    numbers = sorted({n for p in after for n in p.invoice_numbers})
    return say.hold(collection["hold_kind"], until, collection["hold_reason"],
                    say.AfterHold(tuple(p.event_type for p in after), tuple(numbers)), today)


def customer_page(request: Request, staff: Staff, customer_id: str, status_code: int = 200,
                  error: str | None = None, form: dict[str, Any] | None = None) -> HTMLResponse:
    staff.require(Permission.READ_BILLING_VIEWS)
    ctx = context(request)
    today = today_of(request)
    try:
        account = ctx.ledger.get_account(customer_id)
    except UnknownCustomer as unknown:
        raise Refused(404, str(unknown)) from None
    values: dict[str, Any] = {"account": account, "customer_id": customer_id, "error": error, "form": form or {},
                              "currency": account.currency}
    invoices = reads.invoices(request, customer_id, today)
    values["invoices"] = invoices
    values["open_invoices"] = [i for i in invoices if i["amount_open"]]
    values["subscriptions"] = account_out(account).subscriptions
    values["balance_chart"] = charts.balance_svg(reads.balance_over_time(request, customer_id), account.currency)
    if staff.may(Permission.READ_SUPPORT_VIEW):
        support = reads.support(request, customer_id, today)
        collection = reads.collection(request, customer_id, today)
        if support:
            by_number, reversals = facts(support, invoices)
            values.update(
                support=support, collection=collection,
                balance_sentence=say.balance(support["balance"], support["currency"]),
                suspension_sentences=suspensions(ctx.ledger, account, support, by_number, reversals, today),
                hold=hold_sentence(request, staff, collection, today),
                timeline=[{**t, "by": say.acted_by(t["event_type"], t["sentence"], t["actor"])}
                          for t in reads.timeline(request, customer_id)],
                payments_of={i["invoice_number"]: [(p["payment_id"], a["amount"], p["reversed"])
                                                   for p in support["last_payments"] for a in p["settled"] or ()
                                                   if a["invoice_number"] == i["invoice_number"]] for i in invoices},
                credit_notes_of={i["invoice_number"]: [(cn, amount) for cn, (n, amount) in account.credit_notes.items()
                                                       if n == i["invoice_number"]] for i in invoices},
            )
    if staff.may(Permission.WORK_SUPPORT_CASES):
        values["support_plan"] = context(request).settings.partner_support_plan
    return page(request, "customer.html", staff, status_code, **values)

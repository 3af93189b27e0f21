"""`ledger account show`: one account as the event store holds it now, for billing staff.

(Analysts and helpdesk agents read the projections; this reads the aggregate itself,
so it is always current, and shows the same numbers the next command will act on.)
"""

from __future__ import annotations

from domain.money import format_minor_units
from readside.tables import cell


def account_summary(account) -> dict:
    money = lambda amount: format_minor_units(amount, account.currency)  # noqa: E731
    return {
        "customer_id": account.customer_id,
        "name": account.name,
        "currency": account.currency,
        "status": "closed" if account.closed else "open",
        "payment_terms_days": account.payment_terms_days,
        "tax_rate": str(account.tax_rate),
        "collections_policy": account.policy_name,
        "balance": money(account.balance),
        "credit_balance": money(account.credit_balance),
        "hold": None if account.hold is None else f"{account.hold.kind} until {account.hold.until}: {account.hold.reason}",
        "subscriptions": [
            {"id": s.subscription_id, "kind": "seats", "product": s.product, "seats": s.seat_changes[-1][1],
             "suspended": s.subscription_id in account.suspensions}
            for s in account.seat_subscriptions.values()
        ] + [
            {"id": s.subscription_id, "kind": "metered", "product": s.product, "meter": s.meter,
             "suspended": s.subscription_id in account.suspensions}
            for s in account.subscriptions.values()
        ],
        "invoices": [
            {"number": i.number, "issued": i.issue_date, "due": i.due_date, "total": money(i.total),
             "open": money(i.open_amount), "status": i.status}
            for i in account.invoices.values()
        ],
        "suspensions": [
            {"subscription": s.subscription_id, "since": s.since, "reason": s.reason,
             "deprovision_deadline": s.deprovision_deadline}
            for s in account.suspensions.values()
        ],
    }


def render_summary(summary: dict) -> str:
    lines = [f"{cell(summary['customer_id'])}  {cell(summary['name'])}  ({summary['status']}, {summary['currency']})"]
    for key in ("balance", "credit_balance", "payment_terms_days", "tax_rate", "collections_policy", "hold"):
        lines.append(f"  {key.replace('_', ' ')}: {cell(summary[key])}")
    for section in ("subscriptions", "invoices", "suspensions"):
        lines.append(f"  {section}:")
        for item in summary[section] or [{"": "(none)"}]:
            lines.append("    " + "  ".join(f"{k}={cell(v)}" if k else cell(v) for k, v in item.items()))
    return "\n".join(lines)

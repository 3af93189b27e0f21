"""Customer balances: per customer, what its account holds and what usage it has accrued.

`change_for` is pure: one ledger event in, the change to one customer's row out.
Changes of one customer within a batch fold into one row update (`fold`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.money import price_usage


@dataclass(frozen=True)
class BalanceChange:
    customer_id: str
    last_notification_id: int
    last_event_at: datetime
    customer_name: str | None = None
    currency: str | None = None
    account_status: str | None = None
    metered_subscriptions: int = 0
    usage_lines: int = 0
    unbilled_usage: Decimal = Decimal(0)

    def then(self, later: BalanceChange) -> BalanceChange:
        """This change followed by a later one of the same customer."""
        return replace(
            later,
            customer_name=later.customer_name or self.customer_name,
            currency=later.currency or self.currency,
            account_status=later.account_status or self.account_status,
            metered_subscriptions=self.metered_subscriptions + later.metered_subscriptions,
            usage_lines=self.usage_lines + later.usage_lines,
            unbilled_usage=self.unbilled_usage + later.unbilled_usage,
        )


def change_for(event_type: str, event: dict[str, Any]) -> BalanceChange | None:
    base = {
        "customer_id": event["customer_id"],
        "last_notification_id": event["notification_id"],
        "last_event_at": event["occurred_at"],
    }
    if event_type == "AccountOpened":
        return BalanceChange(**base, customer_name=event["name"], currency=event["currency"], account_status="open")
    if event_type == "MeteredSubscriptionAdded":
        return BalanceChange(**base, metered_subscriptions=1)
    if event_type == "AccountClosed":
        return BalanceChange(**base, account_status="closed")
    if event_type == "UsageRecorded":
        amount = price_usage(event["quantity"], event["unit_price"], event["markup_percent"])
        return BalanceChange(**base, usage_lines=1, unbilled_usage=amount)
    return None


def fold(changes: list[BalanceChange]) -> list[BalanceChange]:
    by_customer: dict[str, BalanceChange] = {}
    for change in changes:
        earlier = by_customer.get(change.customer_id)
        by_customer[change.customer_id] = change if earlier is None else earlier.then(change)
    return list(by_customer.values())


class BalancesProjection:
    """Applies a batch of ledger events to `customer_balances` inside the caller's transaction."""

    name = "balances"
    sql = None

    def __init__(self):
        from projections import load_sql

        self.sql = load_sql("balances")

    def create(self, cursor) -> None:
        cursor.execute(self.sql["create"])

    def apply(self, cursor, events: list[tuple[str, dict[str, Any]]]) -> int:
        changes = [c for c in (change_for(t, e) for t, e in events) if c is not None]
        if not changes:
            return 0
        customers = sorted({c.customer_id for c in changes})  # sorted: a fixed lock order
        cursor.execute(self.sql["watermarks"], {"customer_ids": customers})
        applied_through = dict(cursor.fetchall())
        # An event at or below a customer's watermark was applied before (a republish).
        fresh = [c for c in changes if c.last_notification_id > applied_through.get(c.customer_id, 0)]
        folded = fold(fresh)
        if folded:
            cursor.executemany(self.sql["upsert"], [vars(c) for c in folded])
        return len(fresh)

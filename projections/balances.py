"""Customer balances: per customer, what its account holds and what usage it has accrued.

`change_for` is pure: one ledger event in, the change to one customer's row out.
Changes of one customer within a batch fold into one row update (`fold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.money import price_usage
from projections.base import Filter, LedgerEvent, Projection, View


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
        return BalanceChange(
            self.customer_id,
            later.last_notification_id,
            later.last_event_at,
            later.customer_name or self.customer_name,
            later.currency or self.currency,
            later.account_status or self.account_status,
            self.metered_subscriptions + later.metered_subscriptions,
            self.usage_lines + later.usage_lines,
            self.unbilled_usage + later.unbilled_usage,
        )


def change_for(event_type: str, event: dict[str, Any]) -> BalanceChange | None:
    customer, position, at = event["customer_id"], event["notification_id"], event["occurred_at"]
    if event_type == "UsageRecorded":
        amount = price_usage(event["quantity"], event["unit_price"], event["markup_percent"])
        return BalanceChange(customer, position, at, usage_lines=1, unbilled_usage=amount)
    if event_type == "UsageInvoiced":  # the line's price, again: it is billed now
        amount = price_usage(event["quantity"], event["unit_price"], event["markup_percent"])
        return BalanceChange(customer, position, at, unbilled_usage=-amount)
    if event_type == "AccountOpened":
        return BalanceChange(customer, position, at, event["name"], event["currency"], "open")
    if event_type == "MeteredSubscriptionAdded":
        return BalanceChange(customer, position, at, metered_subscriptions=1)
    if event_type == "AccountClosed":
        return BalanceChange(customer, position, at, account_status="closed")
    return None


def fold(changes: list[BalanceChange]) -> list[BalanceChange]:
    by_customer: dict[str, BalanceChange] = {}
    for change in changes:
        earlier = by_customer.get(change.customer_id)
        by_customer[change.customer_id] = change if earlier is None else earlier.then(change)
    return list(by_customer.values())


BALANCES_VIEW = View(
    name="customer_balances",
    query_name="balances",
    key="customer_id",
    row_name="balance",
    help="customer balances: account, subscriptions and unbilled usage per customer",
    columns={
        "customer_id": "the customer",
        "customer_name": "name on the account",
        "currency": "billing currency (ISO 4217)",
        "account_status": "open or closed",
        "metered_subscriptions": "number of metered subscriptions",
        "usage_lines": "usage lines recorded",
        "unbilled_usage": "exact price of the recorded usage not yet invoiced, in the currency (rounded only on an invoice)",
        "last_event_at": "business time of the last ledger event applied to the row",
        "days_since_last_event": "whole days from last_event_at to the query's time (UTC dates), computed when read",
    },
    shown=(
        "customer_id", "customer_name", "currency", "account_status",
        "metered_subscriptions", "usage_lines", "unbilled_usage",
    ),
    amounts={"unbilled_usage": "currency"},
    filters=(
        Filter("status", "account_status", "=", help="only accounts in this status", choices=("open", "closed")),
        Filter("currency", "currency", "=", str.upper, help="only accounts billed in this currency"),
        Filter("min-unbilled", "unbilled_usage", ">=", Decimal, help="only customers with at least this unbilled usage"),
        Filter("idle-days", "days_since_last_event", ">=", int, help="only customers without an event for at least this many days"),
    ),
)


class BalancesProjection(Projection):
    """Applies ledger events to `customer_balances`; the row's `last_notification_id` is
    the customer's watermark."""

    name = "balances"
    tables = ("customer_balances",)
    event_types = frozenset(
        {"AccountOpened", "MeteredSubscriptionAdded", "AccountClosed", "UsageRecorded", "UsageInvoiced"}
    )
    views = (BALANCES_VIEW,)

    def changes(self, events: list[LedgerEvent]) -> list[BalanceChange]:
        return fold([c for c in (change_for(t, e) for t, e in events) if c is not None])

    def write(self, cursor, changes: list[BalanceChange]) -> None:
        if not changes:
            return
        # One statement for the whole batch: the rows travel as one array per column.
        cursor.execute(
            self.sql["upsert"],
            {
                "customer_id": [c.customer_id for c in changes],
                "customer_name": [c.customer_name for c in changes],
                "currency": [c.currency for c in changes],
                "metered_subscriptions": [c.metered_subscriptions for c in changes],
                "usage_lines": [c.usage_lines for c in changes],
                "unbilled_usage": [c.unbilled_usage for c in changes],
                "last_notification_id": [c.last_notification_id for c in changes],
                "last_event_at": [c.last_event_at for c in changes],
            },
            prepare=True,
        )
        statuses = [c for c in changes if c.account_status is not None]
        if statuses:
            cursor.execute(
                self.sql["set_status"],
                {
                    "customer_id": [c.customer_id for c in statuses],
                    "account_status": [c.account_status for c in statuses],
                    "last_notification_id": [c.last_notification_id for c in statuses],
                },
                prepare=True,
            )

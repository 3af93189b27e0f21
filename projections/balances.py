"""Customer balances: per customer, what its account holds and what usage it has accrued.

`change_for` is pure: one ledger event in, the change to one customer's row out.
Changes of one customer within a batch fold into one row update (`fold`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext
from operator import attrgetter
from typing import Any

from domain.bounds import EXACT
from domain.money import price_usage, without_trailing_zeros
from projections.base import Filter, LedgerEvent, Projection, View


# Money columns, in integer minor units of the account's currency.
MONEY_COLUMNS = ("invoiced", "credited", "paid", "reversed", "refunded", "written_off", "outstanding", "credit_balance")
# Columns a change adds to: counts, the exact unbilled usage, and money.
ADDED = ("metered_subscriptions", "usage_lines", "unbilled_usage", *MONEY_COLUMNS)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ took 1.5 µs more per event (no change is kept past its write)
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
    invoiced: int = 0
    credited: int = 0
    paid: int = 0
    reversed: int = 0
    refunded: int = 0
    written_off: int = 0
    outstanding: int = 0  # what open invoices hold
    credit_balance: int = 0

    def then(self, later: BalanceChange) -> BalanceChange:
        """This change followed by a later one of the same customer."""
        with localcontext(EXACT):  # unbilled usage is exact: the default context keeps 28 digits
            return replace(
                later,
                customer_name=later.customer_name or self.customer_name,
                currency=later.currency or self.currency,
                account_status=later.account_status or self.account_status,
                **{name: getattr(self, name) + getattr(later, name) for name in ADDED},
            )


def _money(event_type: str, e: dict[str, Any]) -> dict[str, int] | None:
    """What an event of the receivables moves on the account, in minor units. The balance
    (outstanding - credit balance) moves by invoiced - credited - written off - paid
    + reversed + refunded, as the domain's does."""
    amount = e.get("amount")
    if event_type == "InvoiceIssued":
        return {"invoiced": e["total"], "outstanding": e["total"]}
    if event_type == "CreditBalanceApplied":
        return {"outstanding": -amount, "credit_balance": -amount}
    if event_type == "PaymentReceived":
        settled = sum(a["amount"] for a in e["allocations"])
        return {"paid": amount, "outstanding": -settled, "credit_balance": e["to_credit_balance"]}
    if event_type == "PaymentReversed":
        reopened = sum(r["amount"] for r in e["reopened"])
        return {"reversed": amount, "outstanding": reopened, "credit_balance": -e["from_credit_balance"]}
    if event_type == "Refunded":
        return {"refunded": amount, "credit_balance": -amount}
    if event_type == "CreditNoteIssued":
        return {"credited": amount, "outstanding": -amount}
    if event_type == "InvoiceWrittenOff":
        return {"written_off": amount, "outstanding": -amount}
    return None


MONEY_EVENTS = frozenset(
    {"InvoiceIssued", "CreditBalanceApplied", "PaymentReceived", "PaymentReversed", "Refunded", "CreditNoteIssued",
     "InvoiceWrittenOff"}
)


def usage_amount(event: dict[str, Any]) -> Decimal:
    """The rated amount a UsageRecorded or UsageInvoiced carries (v2): the domain's, exactly.

    A v1 message (an old topic, read as v2) carries none: the line is priced then by the
    domain's one pricing function, never by a formula of the read side's own. The zeros of
    Avro's fixed scale go (as `price_usage` drops them), so that a v1 and a v2 message of one
    line give the same numeric; in an exact context: the default one (28 digits) would round.
    """
    amount = event.get("amount")
    if amount is None:
        return price_usage(event["quantity"], event["unit_price"], event["markup_percent"])
    return without_trailing_zeros(amount)


def _taken_off(amount: Decimal) -> Decimal:
    """The amount negated exactly: `-amount` rounds to the default context's 28 digits."""
    return EXACT.minus(amount)


def change_for(event_type: str, event: dict[str, Any]) -> BalanceChange | None:
    customer, position, at = event["customer_id"], event["notification_id"], event["occurred_at"]
    if event_type == "UsageRecorded":
        return BalanceChange(customer, position, at, usage_lines=1, unbilled_usage=usage_amount(event))
    if event_type == "UsageInvoiced":  # the line's amount leaves unbilled usage: it is billed now
        return BalanceChange(customer, position, at, unbilled_usage=_taken_off(usage_amount(event)))
    if event_type == "AccountOpened":
        return BalanceChange(customer, position, at, event["name"], event["currency"], "open")
    if event_type == "AccountProfileChanged":
        return BalanceChange(customer, position, at, customer_name=event["name"])
    if event_type == "InvoiceIssued" and event.get("billed_usage") is not None:
        # v2: the usage the invoice bills leaves unbilled usage with it (before v2, each
        # line's own UsageInvoiced took it off, and the invoice carries none)
        return BalanceChange(customer, position, at, unbilled_usage=_taken_off(without_trailing_zeros(event["billed_usage"])), **_money(event_type, event))
    if event_type == "MeteredSubscriptionAdded":
        return BalanceChange(customer, position, at, metered_subscriptions=1)
    if event_type == "AccountClosed":
        return BalanceChange(customer, position, at, account_status="closed")
    money = _money(event_type, event)
    return None if money is None else BalanceChange(customer, position, at, **money)


def fold(changes: list[BalanceChange]) -> list[BalanceChange]:
    """One change per customer, as `then` would chain them; summed in one pass per customer
    (chaining builds a change per event: the projector's hottest loop)."""
    by_customer: dict[str, list[BalanceChange]] = {}
    for change in changes:
        by_customer.setdefault(change.customer_id, []).append(change)
    with localcontext(EXACT):  # unbilled usage is exact: the default context keeps 28 digits
        return [group[0] if len(group) == 1 else _combined(group) for group in by_customer.values()]


def _combined(group: list[BalanceChange]) -> BalanceChange:
    """The group's last change, with the last name, currency and status any change set, and
    the sums of what they add (read a change at a time: a pass per column cost more)."""
    last = group[-1]
    named = (next((value for value in reversed(values) if value), None) for values in zip(*map(_NAMED, group)))
    sums = map(sum, zip(*map(_ADDED, group)))
    return BalanceChange(last.customer_id, last.last_notification_id, last.last_event_at,
                         **dict(zip(NAMED, named)), **dict(zip(ADDED, sums)))


NAMED = ("customer_name", "currency", "account_status")  # a later change's value, if it sets one, wins
_NAMED, _ADDED = attrgetter(*NAMED), attrgetter(*ADDED)


BALANCES_VIEW = View(
    name="customer_balances",
    query_name="balances",
    key="customer_id",
    row_name="balance",
    help="customer balances: what each customer was invoiced and paid, owes and has overdue, and unbilled usage",
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
        "invoiced": "total of every invoice issued, in minor units of the currency",
        "credited": "taken off invoices by credit notes, in minor units",
        "paid": "payments received, in minor units",
        "reversed": "payments reversed (bounced, charged back), in minor units",
        "refunded": "credit balance paid back, in minor units",
        "written_off": "written off as uncollectible, in minor units",
        "outstanding": "what the open invoices still hold, in minor units",
        "credit_balance": "overpayments not yet used (negative: a reversed payment whose credit was refunded), in minor units",
        "balance": "outstanding - credit_balance; always invoiced - credited - written_off - paid + reversed + refunded",
        "overdue": "what the open invoices past their due date plus the policy's grace days hold, as of the query's date",
        "days_past_due": "days the oldest open invoice is past its due date, as of the query's date (0: none is)",
        "last_notification_id": "the last ledger event applied to the row (its position in the store's notification log)",
    },
    shown=(
        "customer_id", "customer_name", "currency", "account_status", "usage_lines", "unbilled_usage",
        "invoiced", "paid", "balance", "overdue", "days_past_due",
    ),
    amounts={"unbilled_usage": "currency", **dict.fromkeys((*MONEY_COLUMNS, "balance", "overdue"), "currency")},
    filters=(
        Filter("status", "account_status", "=", help="only accounts in this status", choices=("open", "closed")),
        Filter("currency", "currency", "=", str.upper, help="only accounts billed in this currency"),
        Filter("min-unbilled", "unbilled_usage", ">=", Decimal, help="only customers with at least this unbilled usage"),
        Filter("idle-days", "days_since_last_event", ">=", int, help="only customers without an event for at least this many days"),
        Filter("min-days-past-due", "days_past_due", ">=", int, help="only customers at least this many days past due"),
    ),
)


class BalancesProjection(Projection):
    """Applies ledger events to `customer_balances`; the row's `last_notification_id` is
    the customer's watermark."""

    name = "balances"
    tables = ("customer_balances",)
    event_types = frozenset(
        {"AccountOpened", "AccountProfileChanged", "MeteredSubscriptionAdded", "AccountClosed", "UsageRecorded",
         "UsageInvoiced"}
    ) | MONEY_EVENTS
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
                **{name: [getattr(c, name) for c in changes] for name in MONEY_COLUMNS},
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

"""Drafting an invoice for a billing period: pure functions from subscriptions and usage to lines.

Each line is rounded once, half-even, from its exact amount; tax is rounded once from
the rounded subtotal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import NamedTuple

from domain import bounds
from domain.accounts.subscriptions import SeatSubscription
from domain.money import to_minor_units


class UsageToBill(NamedTuple):
    """What invoicing needs of one usage line (a named tuple: a bill run builds thirty of
    these an invoice, three million at month end; a frozen dataclass cost twice as much)."""

    usage_id: str
    subscription_id: str
    product: str
    unit: str
    quantity: Decimal
    amount: Decimal  # exact
    period_start: date
    period_end: date


@dataclass(frozen=True)
class InvoiceLine:
    kind: str  # seats | usage | late-usage
    subscription_id: str
    product: str
    quantity: Decimal  # seat-days, or the usage quantity
    unit: str
    period_start: date
    period_end: date  # the usage's own dates for late usage
    amount: int  # minor units
    usage_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvoiceDraft:
    lines: tuple[InvoiceLine, ...]
    subtotal: int
    tax: int
    total: int
    # The exact rated amount of the usage it bills: what leaves the customer's unbilled usage
    # (the invoice names its usage lines; no event per line marks them billed).
    billed_usage: Decimal = Decimal(0)


def seat_lines(
    subscriptions: Iterable[SeatSubscription], period_start: date, period_end: date, currency: str
) -> list[InvoiceLine]:
    lines = []
    for subscription in sorted(subscriptions, key=lambda s: s.subscription_id):
        seat_days, amount = subscription.charge(period_start, period_end)
        if seat_days:
            lines.append(
                InvoiceLine(
                    "seats", subscription.subscription_id, subscription.product, Decimal(seat_days), "seat-days",
                    max(period_start, subscription.starts_on), period_end, to_minor_units(amount, currency),
                )
            )
    return lines


def usage_lines(usage: Iterable[UsageToBill], period_start: date, currency: str) -> list[InvoiceLine]:
    """Usage aggregated per subscription and product; usage of earlier periods is late usage."""
    groups: dict[tuple[str, str, str, str], list[UsageToBill]] = defaultdict(list)
    for item in usage:
        kind = "late-usage" if item.period_start < period_start else "usage"
        groups[(kind, item.subscription_id, item.product, item.unit)].append(item)
    lines = []
    for (kind, subscription_id, product, unit), items in sorted(groups.items(), key=lambda g: (g[0][0] != "usage", g[0])):
        with localcontext(bounds.EXACT):  # sums of amounts and quantities are never rounded (Inexact traps)
            exact = sum((i.amount for i in items), Decimal(0))
            quantity = sum((i.quantity for i in items), Decimal(0))
        lines.append(
            InvoiceLine(
                kind, subscription_id, product, quantity, unit,
                min(i.period_start for i in items), max(i.period_end for i in items),
                to_minor_units(exact, currency), tuple(sorted(i.usage_id for i in items)),
            )
        )
    return lines


def draft_invoice(
    seats: Iterable[SeatSubscription],
    usage: Iterable[UsageToBill],
    period_start: date,
    period_end: date,
    tax_rate: Decimal,
    currency: str,
) -> InvoiceDraft:
    billable = [u for u in usage if u.period_start < period_end]
    lines = seat_lines(seats, period_start, period_end, currency) + usage_lines(billable, period_start, currency)
    subtotal = sum(line.amount for line in lines)
    tax = round(Fraction(subtotal) * Fraction(tax_rate) / 100)  # minor units already: half-even, once
    with localcontext(bounds.EXACT):  # unbilled usage is exact: never rounded
        billed_usage = sum((u.amount for u in billable), Decimal(0))
    return InvoiceDraft(tuple(lines), subtotal, tax, subtotal + tax, billed_usage)

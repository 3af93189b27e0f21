"""Subscriptions on an account: seat-based (prorated by day) and metered (priced per unit)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from domain.money import price_usage


@dataclass(frozen=True)
class MeteredSubscription:
    subscription_id: str
    product: str
    meter: str
    unit: str
    unit_price: Decimal
    markup_percent: Decimal

    def price(self, quantity: Decimal) -> Decimal:
        return price_usage(quantity, self.unit_price, self.markup_percent)


@dataclass(frozen=True)
class SeatSubscription:
    """Seats at a monthly price per seat; a seat change takes effect from a day."""

    subscription_id: str
    product: str
    price_per_seat: Decimal
    starts_on: date
    seat_changes: tuple[tuple[date, int], ...]  # (effective from, seats), in date order

    def with_seats(self, seats: int, effective_on: date) -> SeatSubscription:
        kept = tuple(change for change in self.seat_changes if change[0] < effective_on)
        return replace(self, seat_changes=(*kept, (effective_on, seats)))

    def seats_on(self, day: date) -> int:
        seats = 0
        for effective_on, count in self.seat_changes:
            if effective_on <= day:
                seats = count
        return seats

    def charge(self, period_start: date, period_end: date) -> tuple[int, Fraction]:
        """Seat-days and the exact charge for [period_start, period_end).

        Each day costs seats x price / days in that day's month, so a month costs the
        monthly price whatever its length; the sum stays an exact fraction until the
        invoice rounds it once.
        """
        # Days counted per (month, seat count) first: one fraction per group, not per day (the
        # same exact sum; a bill run drafts a hundred thousand of these).
        days: dict[tuple[int, int, int], int] = {}
        day = max(period_start, self.starts_on)
        while day < period_end:
            key = (day.year, day.month, self.seats_on(day))
            days[key] = days.get(key, 0) + 1
            day += timedelta(days=1)
        price = Fraction(self.price_per_seat)
        seat_days = sum(seats * count for (_, _, seats), count in days.items())
        amount = sum((price * seats * count / calendar.monthrange(year, month)[1]
                      for (year, month, seats), count in days.items()), Fraction(0))
        return seat_days, amount

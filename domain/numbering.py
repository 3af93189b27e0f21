"""Gap-free number series (invoices). A number is taken in the same transaction as the
document that bears it, so a number is never skipped nor used twice; two writers
taking numbers at once conflict on the series' version and one retries."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds

SERIES_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:number-series")
INVOICE_SERIES = "INV"  # invoice numbers: INV-000001, INV-000002, ...


def number_in_series(prefix: str, sequence: int) -> str:
    return f"{prefix}-{sequence:06d}"


def is_in_series(prefix: str, text: str) -> bool:
    """Whether a document number belongs to the series (an invoice number, say)."""
    return text.startswith(f"{prefix}-")


def series_id(prefix: str):
    return uuid5(SERIES_NAMESPACE, prefix)


class NumberSeries(Aggregate):
    class Event(Aggregate.Event):
        actor: str

    class Started(Event, Aggregate.Created):
        prefix: str

    def __init__(self, actor: str, prefix: str):
        self.prefix = prefix
        self.last = 0

    @classmethod
    def start(cls, prefix: str, *, at: datetime, actor: str) -> NumberSeries:
        return cls._create(cls.Started, id=series_id(prefix), timestamp=at, actor=actor, prefix=prefix)

    class NumberTaken(Event):
        number: str
        sequence: int
        document: str  # what bears the number, e.g. the customer whose invoice it is

        def apply(self, series: NumberSeries) -> None:
            series.last = self.sequence

    def next_number(self) -> str:
        """The number `take` gives next, taking nothing (to put on a document before it is
        known to be accepted: a number taken for a refused document would leave a gap)."""
        return number_in_series(self.prefix, self.last + 1)

    def take(self, document: str, *, at: datetime, actor: str) -> str:
        bounds.check_business_time(at, f"number series {self.prefix}: business time")
        sequence = self.last + 1
        number = number_in_series(self.prefix, sequence)
        self.trigger_event(self.NumberTaken, timestamp=at, actor=actor, number=number, sequence=sequence,
                           document=document)
        return number

"""How aggregate state is written into snapshots: dates, and the immutable state objects.

A snapshot is the aggregate's attributes, JSON-encoded by the library's transcoder;
these transcodings teach it the types the ledger keeps there. A state class is named by
its class name alone (not its module), so moving one leaves old snapshots readable.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.accounts.collections_rules import Hold, Suspension
from domain.accounts.receivables import Allocation, InvoiceState, PaymentState
from domain.accounts.subscriptions import MeteredSubscription, SeatSubscription
from domain.policy import CollectionsPolicy

STATE_CLASSES = (
    MeteredSubscription, SeatSubscription, InvoiceState, Allocation, PaymentState, Suspension, Hold, CollectionsPolicy,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _tuples(value: Any) -> Any:
    # JSON has no tuples: state objects hold tuples, so lists come back as tuples.
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class FrozenDataclassTranscoding(Transcoding):
    def __init__(self, cls: type):
        self.type = cls
        self.name = cls.__qualname__

    def encode(self, obj: Any) -> dict:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict) -> Any:
        return self.type(**{name: _tuples(value) for name, value in data.items()})


def register_state_transcodings(transcoder) -> None:
    transcoder.register(DateAsISO())
    for cls in STATE_CLASSES:
        transcoder.register(FrozenDataclassTranscoding(cls))

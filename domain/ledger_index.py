"""The port through which the billing application asks its event store what the library's
get and save do not answer. The event-store adapter implements it with indexes and batch
queries (eventstore/index.py), the in-memory backend of the unit tests by reading every
stored event (tests/unit/in_memory.py); the application never asks which one it has.

Every answer is one query for a whole batch: usage ingest asks once per batch, not once
per usage line.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from domain.accounts import CustomerAccount
    from domain.accounts.invoicing import UsageToBill
    from domain.usage import UsageLine


class LedgerIndex(ABC):
    @abstractmethod
    def customer_ids(self) -> list[str]:
        """Every customer with an account, in the order the accounts were opened."""

    def uninvoiced_usage(self, customer_id: str) -> list[UsageToBill]:
        """The customer's usage lines not on an invoice yet, as invoicing needs them, in the
        order they were recorded."""
        return self.uninvoiced_usage_of([customer_id])[customer_id]

    @abstractmethod
    def uninvoiced_usage_of(self, customer_ids: Sequence[str]) -> dict[str, list[UsageToBill]]:
        """Each of these customers' usage lines not on an invoice yet, as invoicing needs them,
        in the order they were recorded (an empty list for a customer with none). A line is on an invoice when an
        InvoiceIssued of its customer names its usage id (invoices always named them; those
        from before v2 also gave each line an Invoiced event)."""

    @abstractmethod
    def accounts(self, customer_ids: Sequence[str]) -> dict[str, CustomerAccount]:
        """The accounts of these customers that have one, as stored (from their latest snapshot
        and the events after it): a run over many accounts reads a batch at once."""

    @abstractmethod
    def current_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The latest stored version of each of these aggregates that has events."""

    @abstractmethod
    def recorded_usage_lines(self, line_ids: Sequence[UUID]) -> set[UUID]:
        """Those of these usage lines that are recorded."""

    @abstractmethod
    def first_recordings(self, line_ids: Sequence[UUID]) -> list[UsageLine.Recorded]:
        """The event that recorded each of these usage lines that is recorded."""

    def numbering_turn(self, series_id: UUID) -> contextlib.AbstractContextManager[None]:
        """One writer at a time, across processes, between reading a number series and saving
        the documents numbered from it: racing writers then wait their turn instead of
        numbering a whole batch in vain (the store still refuses a second writer of the same
        version of the series, so numbers stay gap-free without it). No turn by default."""
        return contextlib.nullcontext()

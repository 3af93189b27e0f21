"""The billing application on the `eventsourcing` in-memory backend (POPO), for unit tests:
the same domain and application code as on PostgreSQL, without a database.

MemoryLedgerIndex is the LedgerIndex port (domain/ledger_index.py) on that backend: it
answers by reading stored events, every one of them for the questions PostgreSQL answers
from its indexes (a unit test's store holds a few hundred), and one aggregate at a time
for those the PostgreSQL recorder answers per batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.accounts import CustomerAccount, stored_topics
from domain.accounts.invoicing import UsageToBill
from domain.application import BillingLedger
from domain.errors import UnknownCustomer
from domain.ledger_index import LedgerIndex
from domain.usage import UsageLine

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
OPENED = stored_topics(CustomerAccount.Opened)
RECORDED = get_topic(UsageLine.Recorded)
ISSUED = stored_topics(CustomerAccount.InvoiceIssued)


class MemoryLedgerIndex(LedgerIndex):
    def __init__(self, app: BillingLedger):
        self.app = app
        self.recorder = app.recorder

    def _stored(self):
        return self.recorder.select_notifications(start=1, limit=10**9)

    def customer_ids(self) -> list[str]:
        return [self.app.mapper.to_domain_event(n).customer_id for n in self._stored() if n.topic in OPENED]

    def uninvoiced_usage_of(self, customer_ids: Sequence[str]) -> dict[str, list[UsageToBill]]:
        stored = self._stored()
        billed = {
            (event.customer_id, usage_id)
            for event in (self.app.mapper.to_domain_event(n) for n in stored if n.topic in ISSUED)
            for line in event.lines for usage_id in line["usage_ids"]
        }
        found: dict[str, list[UsageToBill]] = {c: [] for c in customer_ids}
        for n in stored:
            if n.topic == RECORDED:
                event = self.app.mapper.to_domain_event(n)
                if event.customer_id in found and (event.customer_id, event.usage_id) not in billed:
                    found[event.customer_id].append(UsageLine.to_bill(event))
        return found

    def accounts(self, customer_ids: Sequence[str]) -> dict[str, CustomerAccount]:
        found = {}
        for customer_id in customer_ids:
            with contextlib.suppress(UnknownCustomer):
                found[customer_id] = self.app.get_account(customer_id)
        return found

    def current_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        latest = {i: self.recorder.select_events(i, desc=True, limit=1) for i in aggregate_ids}
        return {i: events[0].originator_version for i, events in latest.items() if events}

    def recorded_usage_lines(self, line_ids: Sequence[UUID]) -> set[UUID]:
        return {i for i in line_ids if self.recorder.select_events(i, limit=1)}

    def first_recordings(self, line_ids: Sequence[UUID]) -> list[UsageLine.Recorded]:
        return [self.app.mapper.to_domain_event(e) for i in line_ids for e in self.recorder.select_events(i, limit=1)]


def open_in_memory() -> BillingLedger:
    app = BillingLedger(env=IN_MEMORY)
    app.index = MemoryLedgerIndex(app)
    return app

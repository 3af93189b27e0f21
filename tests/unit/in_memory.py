"""The billing application on the `eventsourcing` in-memory backend (POPO), for unit tests:
the same domain and application code as on PostgreSQL, without a database.

The application asks two questions of its store through the LedgerIndex port
(domain/billing_service.py); eventstore/index.py answers them with PostgreSQL indexes, and
MemoryLedgerIndex answers them here by reading every stored event (a unit test's store
holds a few hundred). The PostgreSQL recorder's batch queries (`current_versions`,
`existing_aggregate_ids`) are optional to the application, which falls back to the
library's own calls: usage is rated from accounts read the ordinary way.
"""

from __future__ import annotations

from collections import Counter

from eventsourcing.utils import get_topic

from domain.account import CustomerAccount
from domain.application import BillingLedger
from domain.usage import UsageLine

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
OPENED = get_topic(CustomerAccount.Opened)
RECORDED = get_topic(UsageLine.Recorded)


class MemoryLedgerIndex:
    def __init__(self, app: BillingLedger):
        self.app = app

    def _stored(self):
        return self.app.recorder.select_notifications(start=1, limit=10**9)

    def customer_ids(self) -> list[str]:
        return [self.app.mapper.to_domain_event(n).customer_id for n in self._stored() if n.topic == OPENED]

    def uninvoiced_usage(self, customer_id: str) -> list[UsageLine]:
        stored = self._stored()
        events_per_line = Counter(n.originator_id for n in stored)  # invoicing adds a line's second event
        lines = []
        for n in stored:
            if n.topic == RECORDED and events_per_line[n.originator_id] == 1:
                event = self.app.mapper.to_domain_event(n)
                if event.customer_id == customer_id:
                    lines.append(event.mutate(None))
        return lines


def open_in_memory() -> BillingLedger:
    app = BillingLedger(env=IN_MEMORY)
    app.index = MemoryLedgerIndex(app)
    return app

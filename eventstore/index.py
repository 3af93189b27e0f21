"""The LedgerIndex port of the billing application (domain/ledger_index.py) on PostgreSQL:
which customers have accounts, and which usage lines of a customer are not invoiced,
answered by indexes that PostgreSQL keeps in the same transaction as the events
themselves; and, for usage ingest, batch queries of the recorder (eventstore/postgres.py):
which usage lines are recorded, their first events, the current version of accounts.

Customers come from the stored AccountOpened events (a partial index keeps it a lookup);
a customer's usage from the store's customer column and its index (eventstore/postgres.py).
Nothing here is a copy that could drift: drop the indexes and the answers stay the same,
only slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier, Literal

from domain.accounts import CustomerAccount, account_id, stored_topics
from domain.ledger_index import LedgerIndex
from domain.usage import UsageLine
from eventstore.postgres import select_events_after, select_latest_events

RECORDED = get_topic(UsageLine.Recorded)
ISSUED = stored_topics(CustomerAccount.InvoiceIssued)
# An account opened before the account moved to domain/accounts/ is stored under its old topic.
OPENED = stored_topics(CustomerAccount.Opened)

DDL = """
CREATE INDEX IF NOT EXISTS accounts_opened_under_any_topic ON {schema}.{events} (notification_id)
    WHERE topic IN ({opened});
DROP INDEX IF EXISTS {schema}.accounts_opened;
"""

# A line invoiced before invoices named their lines has a second event of its own.
UNINVOICED = """
SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {schema}.{events} e
WHERE e.customer_id = ANY(%s) AND e.topic = {recorded}
  AND NOT EXISTS (
      SELECT 1 FROM {schema}.{events} later
      WHERE later.originator_id = e.originator_id AND later.originator_version > 1)
ORDER BY e.notification_id
"""

# The usage ids the customers' invoices name, read off their JSON by PostgreSQL (one row per
# id, none per invoice line object decoded in Python).
BILLED = """
SELECT i.customer_id, u.usage_id FROM {schema}.{events} i,
    jsonb_array_elements({schema}.event_json(i.state) -> 'lines') AS l(line),
    jsonb_array_elements_text(l.line -> 'usage_ids') AS u(usage_id)
WHERE i.customer_id = ANY(%s) AND i.topic IN ({issued})
"""

CUSTOMERS = """
SELECT customer_id FROM {schema}.{events}
WHERE topic IN ({opened}) ORDER BY notification_id
"""


class PostgresLedgerIndex(LedgerIndex):
    def __init__(self, app, create: bool = True):
        self.app = app
        recorder = app.recorder
        self.datastore = recorder.datastore
        names = {
            "schema": Identifier(self.datastore.schema),
            "events": Identifier(recorder.events_table_name),
            "recorded": Literal(RECORDED),
            "opened": SQL(", ").join(Literal(topic) for topic in OPENED),
            "issued": SQL(", ").join(Literal(topic) for topic in ISSUED),
        }
        self.uninvoiced_sql = SQL(UNINVOICED).format(**names)
        self.billed_sql = SQL(BILLED).format(**names)
        self.customers_sql = SQL(CUSTOMERS).format(**names)
        if create:  # the store's owner; other roles find the index made
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(SQL(DDL).format(**names))

    def customer_ids(self) -> list[str]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.customers_sql)
            return [row["customer_id"] for row in curs.fetchall()]

    def uninvoiced_usage_of(self, customer_ids: Sequence[str]) -> dict[str, list[UsageLine.Recorded]]:
        customers = list(customer_ids)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.billed_sql, (customers,), prepare=True)
            billed = {(r["customer_id"], r["usage_id"]) for r in curs.fetchall()}
            curs.execute(self.uninvoiced_sql, (customers,), prepare=True)
            rows = curs.fetchall()
        found: dict[str, list[UsageLine.Recorded]] = {c: [] for c in customers}
        to_domain_event = self.app.mapper.to_domain_event
        for r in rows:
            event = to_domain_event(StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])))
            if (event.customer_id, event.usage_id) not in billed:
                found[event.customer_id].append(event)
        return found

    def accounts(self, customer_ids: Sequence[str]) -> dict[str, CustomerAccount]:
        ids = {account_id(c): c for c in customer_ids}
        snapshots = select_latest_events(self.app.snapshots.recorder, list(ids)) if self.app.snapshots else []
        to_domain_event = self.app.mapper.to_domain_event
        accounts = {s.originator_id: to_domain_event(s).mutate(None) for s in snapshots}
        after = {i: accounts[i].version if i in accounts else 0 for i in ids}
        for stored in select_events_after(self.app.recorder, after):
            accounts[stored.originator_id] = to_domain_event(stored).mutate(accounts.get(stored.originator_id))
        return {ids[i]: account for i, account in accounts.items()}

    def current_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        return self.app.recorder.current_versions(aggregate_ids)

    def recorded_usage_lines(self, line_ids: Sequence[UUID]) -> set[UUID]:
        return set(self.app.recorder.existing_aggregate_ids(line_ids))

    def first_recordings(self, line_ids: Sequence[UUID]) -> list[UsageLine.Recorded]:
        return [self.app.mapper.to_domain_event(e) for e in self.app.recorder.select_first_events(line_ids)]

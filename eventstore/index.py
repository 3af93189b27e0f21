"""The two questions the billing application asks of the event store, answered by
indexes that PostgreSQL keeps in the same transaction as the events themselves:
which customers have accounts, and which usage lines of a customer are not invoiced.

Customers come from the stored AccountOpened events (a partial index keeps it a lookup);
a customer's usage from the store's customer column and its index (eventstore/postgres.py).
Nothing here is a copy that could drift: drop the indexes and the answers stay the same,
only slower.
"""

from __future__ import annotations

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier, Literal

from domain.account import CustomerAccount
from domain.usage import UsageLine

RECORDED = get_topic(UsageLine.Recorded)
OPENED = get_topic(CustomerAccount.Opened)

DDL = """
CREATE INDEX IF NOT EXISTS accounts_opened ON {schema}.{events} (notification_id)
    WHERE topic = {opened};
"""

UNINVOICED = """
SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {schema}.{events} e
WHERE e.customer_id = %s AND e.topic = {recorded}
  AND NOT EXISTS (
      SELECT 1 FROM {schema}.{events} later
      WHERE later.originator_id = e.originator_id AND later.originator_version > 1)
ORDER BY e.notification_id
"""

CUSTOMERS = """
SELECT customer_id FROM {schema}.{events}
WHERE topic = {opened} ORDER BY notification_id
"""


class PostgresLedgerIndex:
    def __init__(self, app, create: bool = True):
        self.app = app
        recorder = app.recorder
        self.datastore = recorder.datastore
        names = {
            "schema": Identifier(self.datastore.schema),
            "events": Identifier(recorder.events_table_name),
            "recorded": Literal(RECORDED),
            "opened": Literal(OPENED),
        }
        self.uninvoiced_sql = SQL(UNINVOICED).format(**names)
        self.customers_sql = SQL(CUSTOMERS).format(**names)
        if create:  # the store's owner; other roles find the index made
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(SQL(DDL).format(**names))

    def customer_ids(self) -> list[str]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.customers_sql)
            return [row["customer_id"] for row in curs.fetchall()]

    def uninvoiced_usage(self, customer_id: str) -> list[UsageLine]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.uninvoiced_sql, (customer_id,))
            rows = curs.fetchall()
        events = [
            self.app.mapper.to_domain_event(
                StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
            )
            for r in rows
        ]
        return [event.mutate(None) for event in events]

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

import contextlib
import threading
from collections.abc import Iterator, Sequence
from operator import itemgetter
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from domain.accounts import CustomerAccount, account_id, stored_topics
from domain.ledger_index import LedgerIndex
from domain.accounts.invoicing import UsageToBill
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

# The customers' usage lines, one index range per customer (LATERAL: the planner cannot pick a
# scan of the whole store for a batch of customers); those on an invoice are left out in Python
# (BILLED). A line invoiced before invoices stopped writing an event per line (UsageLine.Invoiced)
# is named by its invoice as well: the invoice's lines always carried their usage ids.
UNINVOICED = """
SELECT e.notification_id, e.customer_id, e.state
FROM unnest(%s::text[]) AS c(customer_id) CROSS JOIN LATERAL (
    SELECT r.notification_id, r.customer_id, r.state FROM {schema}.{events} r
    WHERE r.customer_id = c.customer_id AND r.topic = {recorded} OFFSET 0
) e
"""  # OFFSET 0: one range per customer still (pulled up, it could be hash-joined with a scan); in no
# order: each customer's lines are put in order of recording in Python (no sort of the batch)
# What invoicing needs of a line, read off its Recorded event's state (not the whole event decoded).
TO_BILL = ("usage_id", "subscription_id", "product", "unit", "quantity", "amount", "period_start", "period_end")

# The usage ids the customers' invoices name, read off their JSON by PostgreSQL (one row per
# id, none per invoice line object decoded in Python).
BILLED = """
SELECT i.customer_id, u.usage_id
FROM unnest(%s::text[]) AS c(customer_id) CROSS JOIN LATERAL (
    SELECT r.customer_id, r.state FROM {schema}.{events} r
    WHERE r.customer_id = c.customer_id AND r.topic IN ({issued}) OFFSET 0
) i,
    jsonb_array_elements({schema}.event_json(i.state) -> 'lines') AS l(line),
    jsonb_array_elements_text(l.line -> 'usage_ids') AS u(usage_id)
"""

CUSTOMERS = """
SELECT customer_id FROM {schema}.{events}
WHERE topic IN ({opened}) ORDER BY notification_id
"""


class PostgresLedgerIndex(LedgerIndex):
    def __init__(self, app, create: bool = True):
        self.app = app
        self._turn = threading.Lock()  # numbering_turn's, within this process
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

    def uninvoiced_usage_of(self, customer_ids: Sequence[str]) -> dict[str, list[UsageToBill]]:
        customers = list(customer_ids)
        # binary: the events' bytes as they are (text would send each state hex-encoded, twice its size)
        # tuple rows: a batch reads 7,500 usage lines, and a dict for each cost more than it gave
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(self.billed_sql, (customers,), prepare=True)
            billed = set(curs.fetchall())  # (customer id, usage id)
            curs.execute(self.uninvoiced_sql, (customers,), prepare=True)
            rows = curs.fetchall()  # (notification id, customer id, state)
        found: dict[str, list[UsageToBill]] = {c: [] for c in customers}
        fields = self.app.mapper.transcoder.decode_fields
        for _, customer_id, state in sorted(rows, key=itemgetter(0)):
            usage_id, subscription_id, product, unit, quantity, amount, start, end = fields(state, TO_BILL)
            if (customer_id, usage_id) not in billed:
                found[customer_id].append(
                    UsageToBill(usage_id, subscription_id, product, unit, quantity, amount, start.date(), end.date())
                )
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

    @contextlib.contextmanager
    def numbering_turn(self, series_id: UUID) -> Iterator[None]:
        # A session-level advisory lock on a connection of its own (autocommit, so not idle in a
        # transaction while the batch is numbered and saved); a writer that dies leaves it free.
        # Threads of one process (the API's) queue here first, each without a connection: waiting
        # ones holding the pool's connections could leave the turn's holder none to save with.
        key = int.from_bytes(series_id.bytes[:8], "big", signed=True)
        with self._turn, self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def current_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        return self.app.recorder.current_versions(aggregate_ids)

    def recorded_usage_lines(self, line_ids: Sequence[UUID]) -> set[UUID]:
        return set(self.app.recorder.existing_aggregate_ids(line_ids))

    def first_recordings(self, line_ids: Sequence[UUID]) -> list[UsageLine.Recorded]:
        return [self.app.mapper.to_domain_event(e) for e in self.app.recorder.select_first_events(line_ids)]

"""The event store: the `eventsourcing` PostgreSQL recorder, configured from a database URL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, Notification, StoredEvent, Tracking
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import get_topic, retry
from psycopg import InterfaceError, OperationalError
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from domain.application import BillingLedger
from domain.credentials import AccessLog
from eventstore.chain import append_statement, install_chain
from eventstore.transcoding import FastJSONTranscoder


class StoreSettings(Protocol):
    """Where the event store is; the wiring's `ledger.config.Settings` provides it."""

    database_url: str | None
    store_schema: str


@dataclass(frozen=True)
class CustomerStoredEvent(StoredEvent):
    """A stored event with the customer it belongs to ("" for staff, policy and number-series
    events), known from the domain event: the recorder writes it to a column of its own."""

    customer_id: str = ""


class LedgerMapper(Mapper):
    def to_stored_event(self, domain_event) -> CustomerStoredEvent:
        # The library's to_stored_event, building one stored event instead of two (this
        # runs once per usage event at ingest).
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return CustomerStoredEvent(
            originator_id, originator_version, get_topic(type(domain_event)), stored_state,
            getattr(domain_event, "customer_id", ""),
        )


# The customer column, added to a store made before it existed (filled from the events'
# JSON once), and the index that finds a customer's events in order: a customer's history
# and its usage not yet invoiced (eventstore/index.py) are both one range of it. A column
# rather than an expression index on the JSON: PostgreSQL then parses no JSON per insert.
CUSTOMER_COLUMN_DDL = """
CREATE OR REPLACE FUNCTION {schema}.event_json(state bytea) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- the library stores events as UTF-8 JSON; decoding it is deterministic
    AS $$ SELECT convert_from(state, 'UTF8')::jsonb $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = {schema_name}
                   AND table_name = {events_name} AND column_name = 'customer_id') THEN
        ALTER TABLE {schema}.{events} ADD COLUMN customer_id text;
        -- the store is append-only (eventstore/chain.py): filling a new column is maintenance
        PERFORM set_config('ledger.maintenance', 'customer column filled from the events', true);
        UPDATE {schema}.{events} SET customer_id = coalesce({schema}.event_json(state) ->> 'customer_id', '');
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS {index} ON {schema}.{events} (customer_id, notification_id);
DROP INDEX IF EXISTS {schema}.usage_recorded_by_customer;
DROP INDEX IF EXISTS {schema}.ledger_events_by_customer;
"""
CUSTOMER_INDEX = "events_by_customer"


class StoreNotMigrated(RuntimeError):
    """The store lacks what this version writes through, and this process may not create it."""


class LedgerRecorder(PostgresProcessRecorder):
    """The library's process recorder, with a batch insert of its own, ingest counts, and queries.

    The library inserts a batch with executemany in pipeline mode; with batches of
    thousands of events that stalled here (client and server each waiting to read).
    One statement per batch (`append_<table>`, eventstore/chain.py) takes the append lock
    that keeps notification ids in commit order and inserts the batch, sent as five arrays:
    alone in autocommit when there is no tracking record (a command's events), last in the
    tracking record's transaction when there is one.

    A tracking object that carries `counts` (the ingest's CountedTracking) also adds them
    to its source's row of `ledger_ingest_counts`, in the same transaction: the counts
    then reconcile with what was committed, across restarts and ingest instances.
    """

    COUNT_COLUMNS = ("consumed", "recorded", "duplicates", "conflicting", "dead_letters")

    def __init__(self, datastore, **kwargs):
        super().__init__(datastore, **kwargs)
        self.counts_table = Identifier(self.datastore.schema), Identifier(f"{self.events_table_name.removesuffix('_events')}_ingest_counts")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (source text PRIMARY KEY, consumed bigint NOT NULL, "
                "recorded bigint NOT NULL, duplicates bigint NOT NULL, dead_letters bigint NOT NULL, "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(*self.counts_table)
        )
        # Conflicting duplicates (the same usage id with other content) are counted apart;
        # a table made before they were keeps its rows, with none counted.
        self.sql_create_statements.append(
            SQL("ALTER TABLE {}.{} ADD COLUMN IF NOT EXISTS conflicting bigint NOT NULL DEFAULT 0").format(*self.counts_table)
        )
        self._append_statement = append_statement(self.datastore.schema, self.events_table_name).as_bytes(None)
        # Asked on every command (domain/kept.py): composed once, not per call.
        events = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        self._current_versions_statement = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(events).as_bytes(None)
        # One aggregate's, as a scalar subquery (%s: its id; NULL when it has no events): for a
        # query of another table that needs the version in the same round trip (the service
        # asks for a token and for the staff directory's version together).
        self.version_subquery = SQL("(SELECT max(originator_version) FROM {} WHERE originator_id = %s)").format(
            events).as_string(None)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = (), *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's, reading only the columns a notification carries, as tuples: its
        `SELECT *` also read each event's customer, chain hash and commit time and made a dict of
        every row. The relay reads every event through here (5.4 -> 3.7 µs of its CPU an event)."""
        conditions, params = [], []
        if start is not None:
            conditions.append(SQL("notification_id>=%s" if inclusive_of_start else "notification_id>%s"))
            params.append(start)
        if stop is not None:
            conditions.append(SQL("notification_id<=%s"))
            params.append(stop)
        if topics:
            conditions.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        statement = SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name))
        if conditions:
            statement += SQL(" WHERE ") + SQL(" AND ").join(conditions)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                Notification(id=id_, originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
                for id_, originator_id, version, topic, state in curs.fetchall()
            ]

    def create_table(self) -> None:
        super().create_table()
        names = {
            "schema": Identifier(self.datastore.schema),
            "events": Identifier(self.events_table_name),
            "schema_name": Literal(self.datastore.schema),
            "events_name": Literal(self.events_table_name),
            "index": Identifier(CUSTOMER_INDEX),
        }
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(CUSTOMER_COLUMN_DDL).format(**names))
            # Last: from here on the table refuses updates (eventstore/chain.py).
            install_chain(curs, self.datastore.schema, self.events_table_name)

    def check_migrated(self) -> None:
        """For a process that may not create the store's objects (not its owner): the append
        function it writes through is there, or it says which command makes it, before any write
        fails on PostgreSQL's "function does not exist"."""
        append = f"append_{self.events_table_name}"
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT to_regproc(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL AS found",
                         (self.datastore.schema, append))
            if not curs.fetchone()["found"]:
                raise StoreNotMigrated(
                    f"the event store in schema {self.datastore.schema!r} has no {append}(): it was made by an "
                    "earlier version or not at all; run `ledger db migrate` with its owner's credentials first"
                )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is None:
            if not stored_events:
                return []
            # One statement in autocommit (the pool's connections are): the lock is taken,
            # the events inserted and the lock released by the statement's commit, all in the
            # database, with no round trip to this process while it is held. Taken across
            # round trips, each answer had to wait for this thread to get the GIL back.
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                return self._append(curs, stored_events)
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            counts = getattr(tracking, "counts", None)
            if counts is not None:
                self._add_counts(curs, tracking.application_name, counts)
            if not stored_events:
                return []
            # last, so that the lock is held for this statement and the commit only
            return self._append(curs, stored_events)

    def _append(self, curs, stored_events: Sequence[StoredEvent]) -> list[int]:
        # `append_<table>` takes the append lock through the owner's function (the
        # application role may insert into the store, not take that lock), notifies the library's
        # channel and inserts the arrays (%b: binary, without per-element quoting). The fifth
        # is each event's customer (LedgerMapper); an event stored by other means has its
        # customer read from its JSON.
        curs.execute(
            self._append_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
                [getattr(e, "customer_id", None) for e in stored_events],
                f"{self.datastore.lock_timeout}s",
            ),
            prepare=True,
        )
        return [row["notification_id"] for row in curs.fetchall()]

    def _add_counts(self, curs, source: str, counts) -> None:
        values = [getattr(counts, c) for c in self.COUNT_COLUMNS]
        curs.execute(
            SQL(
                "INSERT INTO {0}.{1} (source, consumed, recorded, duplicates, conflicting, dead_letters) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source) DO UPDATE SET "
                "consumed = {1}.consumed + excluded.consumed, recorded = {1}.recorded + excluded.recorded, "
                "duplicates = {1}.duplicates + excluded.duplicates, conflicting = {1}.conflicting + excluded.conflicting, "
                "dead_letters = {1}.dead_letters + excluded.dead_letters, updated_at = now()"
            ).format(*self.counts_table),
            [source, *values],
            prepare=True,
        )

    def ingest_counts(self) -> list[dict]:
        """One row per source (`ingest:<topic>:<topic id>:<partition>`), as committed."""
        statement = SQL("SELECT source, consumed, recorded, duplicates, conflicting, dead_letters, updated_at FROM {}.{} ORDER BY source")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement.format(*self.counts_table))
            return [dict(row) for row in curs.fetchall()]

    def existing_aggregate_ids(self, ids: Sequence[UUID]) -> list[UUID]:
        if not ids:
            return []
        statement = SQL(
            "SELECT originator_id FROM {}.{} WHERE originator_id = ANY(%s) AND originator_version = 1"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(ids),), prepare=True)
            return [row["originator_id"] for row in curs.fetchall()]

    def select_first_events(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The first event of each of these aggregates that has one (a usage line's recording)."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%s) AND originator_version = 1"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(ids),), prepare=True)
            return [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                for row in curs.fetchall()
            ]

    def current_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """The latest stored version of each aggregate that has events."""
        if not ids:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._current_versions_statement, (list(ids),), prepare=True)
            return {row["originator_id"]: row["version"] for row in curs.fetchall()}

    def reset_tracking(self, application_name: str) -> None:
        """Forget a position: single-row tracking only moves forward, so delete it."""
        statement = SQL("DELETE FROM {}.{} WHERE application_name = %s").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement, (application_name,))


# Batch reads of any of the library's PostgreSQL recorders (the ledger's, or its snapshot
# store's, which is the library's own recorder): many aggregates in one query.

def select_latest_events(recorder, ids: Sequence[UUID]) -> list[StoredEvent]:
    """The latest event of each of these aggregates that has one (in a snapshot store: their
    latest snapshots)."""
    if not ids:
        return []
    statement = SQL(
        "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state FROM {}.{} "
        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    return _stored_events(recorder, statement, (list(ids),))


def select_events_after(recorder, after: dict[UUID, int]) -> list[StoredEvent]:
    """The events of each of these aggregates after the version given for it, in the order
    of each aggregate's versions. One range of the primary key per aggregate: LATERAL, and
    OFFSET 0 so that the planner keeps it so (a join, or the subquery pulled up into one, was
    hash-joined with a scan of the whole store: 6 s a batch at 3 million events)."""
    if not after:
        return []
    statement = SQL(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state "
        "FROM unnest(%s::uuid[], %s::bigint[]) WITH ORDINALITY AS a(id, after, n) CROSS JOIN LATERAL ("
        "SELECT originator_id, originator_version, topic, state FROM {}.{} "
        "WHERE originator_id = a.id AND originator_version > a.after OFFSET 0) e "
        "ORDER BY a.n, e.originator_version"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    return _stored_events(recorder, statement, (list(after), list(after.values())))


def _stored_events(recorder, statement, params) -> list[StoredEvent]:
    # binary: the events' bytes as they are (text would send each state hex-encoded, twice its size)
    with recorder.datastore.get_connection() as conn, conn.cursor(binary=True) as curs:
        curs.execute(statement, params, prepare=True)
        return [
            StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
            for row in curs.fetchall()
        ]


def application_env(settings: StoreSettings, create_tables: bool = True) -> dict[str, str]:
    """Translate a PostgreSQL URL into the environment the eventsourcing factory reads."""
    assert settings.database_url, "resolve the services before building the application"
    params = conninfo_to_dict(settings.database_url)
    user = str(params.get("user", "postgres"))
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "PROCESS_RECORDER_TOPIC": f"{LedgerRecorder.__module__}:{LedgerRecorder.__qualname__}",
        # The service's access log too: append-only, chained, locked through the owner's function.
        "APPLICATION_RECORDER_TOPIC": f"{LedgerRecorder.__module__}:{LedgerRecorder.__qualname__}",
        # Writes the library's JSON, faster (see eventstore/transcoding.py).
        "TRANSCODER_TOPIC": f"{FastJSONTranscoder.__module__}:{FastJSONTranscoder.__qualname__}",
        "MAPPER_TOPIC": f"{LedgerMapper.__module__}:{LedgerMapper.__qualname__}",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "localhost")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": str(params.get("password") or password_from_file(params.get("passfile"), user)),
        "POSTGRES_SCHEMA": settings.store_schema,
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "POSTGRES_POOL_SIZE": "4",
        # Seconds to wait for a connection from the pool (the library's default is 30): during
        # an outage each attempt of a process, and any command, gives up after this.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # Only the store's owner creates and migrates its tables (`ledger db migrate`).
        "CREATE_TABLE": "yes" if create_tables else "no",
    }


def password_from_file(passfile: str | None, user: str) -> str:
    """The password libpq would read from a password file (`passfile=` in the URL, else
    PGPASSFILE): the library connects with explicit parameters, without the file."""
    path = passfile or os.environ.get("PGPASSFILE")
    if not path or not os.path.isfile(path):
        return ""
    for line in open(path).read().splitlines():
        fields = line.split(":", 4)
        if len(fields) == 5 and fields[3] in ("*", user):
            return fields[4]
    return ""


def may_set_up(database_url: str, schema: str) -> bool:
    """Whether this connection's role owns the store's schema (or may create it)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT CASE WHEN n.oid IS NULL THEN has_database_privilege(current_database(), 'CREATE') "
            "ELSE pg_has_role(current_user, n.nspowner, 'USAGE') END "
            "FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = %s",
            (schema,),
        ).fetchone()
        return bool(row[0])


def ensure_schema(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # PostgreSQL checks CREATE on the database before IF NOT EXISTS: the store's owner
        # (`ledger db roles`) owns the schema without that right
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))


# pg_advisory_lock key taken while a process creates or updates the store's tables,
# functions and indexes ("ledger" in ASCII).
SETUP_LOCK = 0x6C6564676572


@contextlib.contextmanager
def setup_lock(database_url: str) -> Iterator[None]:
    """One process at a time sets the store up: PostgreSQL refuses concurrent CREATE OR
    REPLACE FUNCTION ("tuple concurrently updated") when several ledger processes start
    together (two ingest instances, the relay, the CLI)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def as_migrated(app, owner: bool):
    """`app`, once a process that is not the store's owner has found the store migrated (closed
    and refused otherwise: `LedgerRecorder.check_migrated`)."""
    if not owner:
        try:
            app.recorder.check_migrated()
        except StoreNotMigrated:
            app.close()
            raise
    return app


def open_application(settings: StoreSettings) -> BillingLedger:
    from eventstore.index import PostgresLedgerIndex

    with setup_lock(settings.database_url):
        owner = may_set_up(settings.database_url, settings.store_schema)
        if owner:
            ensure_schema(settings.database_url, settings.store_schema)
        app = as_migrated(BillingLedger(env=application_env(settings, create_tables=owner)), owner)
        app.index = PostgresLedgerIndex(app, create=owner)
    return app


def open_access_log(settings: StoreSettings) -> AccessLog:
    """The service's access events (sign-ins, tokens, passwords set), in a log of their own beside
    the ledger's; like the ledger's, only the store's owner creates its table."""
    with setup_lock(settings.database_url):
        owner = may_set_up(settings.database_url, settings.store_schema)
        if owner:
            ensure_schema(settings.database_url, settings.store_schema)
        return as_migrated(AccessLog(env=application_env(settings, create_tables=owner)), owner)

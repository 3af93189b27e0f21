"""The event store is append-only and hash-chained.

Three triggers on the recorder's events table, installed with the table:

* `ledger_events_append_only` refuses UPDATE, DELETE and TRUNCATE for every role, unless
  the transaction sets `ledger.maintenance` to a reason and the role is (a member of) the
  table's owner; each such statement is logged in `maintenance_log` (who, when, why, what).
* `ledger_events_serialise` takes the table's append lock before any row of an INSERT
  gets its notification id (the recorder takes it first, through `lock_<table>()`,
  where the library takes the table's EXCLUSIVE lock): notification ids are then issued
  in commit order, and the previous event of each new one is committed and final. The
  append lock is the EXCLUSIVE lock of an empty table of its own (`<table>_append_lock`),
  not of the events table: EXCLUSIVE on the events table conflicts with the lock VACUUM and
  ANALYZE take, so every automatic vacuum of a store being written to stalled all writers
  for `deadlock_timeout` (1 s) and was then cancelled, again at each retry, and the store
  was never vacuumed. Only the owner may lock that table (an advisory lock would do the
  same for the writers, but any role that can connect could take it and stall them).
* `ledger_events_chain` sets each new event's `recorded_at` to the transaction's time
  (whatever the writer passed) and its `chain_hash`: SHA-256 over the previous event's
  hash and this event's stored bytes (`event_hash`). It is computed in the inserting
  transaction, under that lock: where the order is decided, so concurrent writers
  cannot fork the chain.

The recorder appends through `append_<table>(...)`: the lock, the library's NOTIFY and
the insert in one statement, so that a command's append (autocommit) holds the lock only
inside the database, never across a round trip to a Python process waiting for its GIL.

An event stored before the chain existed has neither: its commit time is unknown (NULL,
never invented) and its hash is filled by `ledger db migrate` (`fill_chain`), in
notification order. Until then, new events chain from nothing (NULL), and the migration
walks through them too. `walk_chain` recomputes the hashes in Python, independently of the
database's own function, and names the first event that does not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier, Literal

GENESIS = bytes(32)  # the "previous hash" of the first event
MAINTENANCE_SETTING = "ledger.maintenance"
MAINTENANCE_LOG = "maintenance_log"
CHAIN_COLUMNS = "notification_id, originator_id, originator_version, topic, state, customer_id, recorded_at, chain_hash"

# The hash of one event, in SQL; `event_hash` below is the same in Python. Each field
# is length-prefixed (NULL has a marker of its own), so no two events share their bytes.
CHAIN_DDL = """
ALTER TABLE {schema}.{events} ADD COLUMN IF NOT EXISTS recorded_at timestamptz;
ALTER TABLE {schema}.{events} ADD COLUMN IF NOT EXISTS chain_hash bytea;
CREATE TABLE IF NOT EXISTS {schema}.{log} (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    by_user text NOT NULL, as_role text NOT NULL,
    operation text NOT NULL, table_name text NOT NULL, reason text NOT NULL);

CREATE OR REPLACE FUNCTION {schema}.chain_field(x bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN x IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(octet_length(x)) || x END $$;
-- STABLE, as what it calls is (convert_to, extract from a timestamptz): declared IMMUTABLE,
-- PostgreSQL would not inline it into the chain trigger's expression, and each stored event
-- ran it through the SQL-function executor (measured: the trigger's time per event fell by a
-- third to a half, of an insert's two thirds). The same bytes are hashed either way.
CREATE OR REPLACE FUNCTION {schema}.event_hash(
        prev bytea, n bigint, o uuid, v bigint, t text, s bytea, c text, r timestamptz) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT sha256(prev || int8send(n) || uuid_send(o) || int8send(v)
        || {schema}.chain_field(convert_to(t, 'UTF8')) || {schema}.chain_field(s)
        || {schema}.chain_field(convert_to(c, 'UTF8'))
        || {schema}.chain_field(int8send((extract(epoch FROM r) * 1000000)::bigint))) $$;

-- The append lock: the EXCLUSIVE lock of an empty table nobody writes (so that no vacuum or
-- analyze ever needs it for long), held until the transaction ends by every writer of the
-- events table (the serialise trigger takes it for any INSERT), and by nothing else: VACUUM
-- and ANALYZE of the events table do not wait for it, nor it for them. Only the owner may lock
-- it (this function runs with the owner's rights). An INSERT into the events table still takes
-- ROW EXCLUSIVE there, which conflicts with a writer of an older version that takes the events
-- table's own EXCLUSIVE lock: the two exclude each other during an upgrade too.
CREATE TABLE IF NOT EXISTS {schema}.{append_lock} ();
REVOKE ALL ON {schema}.{append_lock} FROM PUBLIC;
CREATE OR REPLACE FUNCTION {lock}() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            -- the chain reads the previous event after the lock: an older snapshot would miss it
            RAISE EXCEPTION 'events are stored in READ COMMITTED transactions only' USING ERRCODE = '25001';
        END IF;
        LOCK TABLE {schema}.{append_lock} IN EXCLUSIVE MODE;
    END $$;
-- An append in one statement: the lock, the notification and the insert, so that a writer
-- in autocommit holds the lock for no round trip to the client (and no wait of the client's
-- for its CPU): it is released by the statement's own commit. The insert is the caller's.
CREATE OR REPLACE FUNCTION {append}(ids uuid[], versions bigint[], topics text[], states bytea[],
        customers text[], lock_wait text) RETURNS SETOF bigint
    LANGUAGE plpgsql SET search_path = pg_catalog
    AS $$ BEGIN
        PERFORM set_config('lock_timeout', lock_wait, true);
        PERFORM {lock}();
        NOTIFY {channel};
        RETURN QUERY INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state, customer_id)
            SELECT i, v, t, s, coalesce(c, {schema}.event_json(s) ->> 'customer_id', '')
            FROM unnest(ids, versions, topics, states, customers) AS e(i, v, t, s, c)
            RETURNING notification_id;
    END $$;
CREATE OR REPLACE FUNCTION {serialise}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ BEGIN PERFORM {lock}(); RETURN NULL; END $$;
CREATE OR REPLACE TRIGGER ledger_events_serialise BEFORE INSERT ON {schema}.{events}
    FOR EACH STATEMENT EXECUTE FUNCTION {serialise}();

CREATE OR REPLACE FUNCTION {chain}() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog
    AS $$ DECLARE
        last_id bigint;
        prev bytea;
    BEGIN
        NEW.recorded_at := transaction_timestamp();
        SELECT e.notification_id, e.chain_hash INTO last_id, prev FROM {schema}.{events} e
            ORDER BY e.notification_id DESC LIMIT 1;
        IF NOT FOUND THEN
            prev := {genesis};
        ELSIF last_id >= NEW.notification_id THEN
            RAISE EXCEPTION 'event % would be stored before event %: the store only appends', NEW.notification_id, last_id
                USING ERRCODE = '23514';
        ELSIF prev IS NULL THEN  -- a store made before the chain, not migrated yet
            NEW.chain_hash := NULL;
            RETURN NEW;
        END IF;
        NEW.chain_hash := {schema}.event_hash(prev, NEW.notification_id, NEW.originator_id,
            NEW.originator_version, NEW.topic, NEW.state, NEW.customer_id, NEW.recorded_at);
        RETURN NEW;
    END $$;
CREATE OR REPLACE TRIGGER ledger_events_chain BEFORE INSERT ON {schema}.{events}
    FOR EACH ROW EXECUTE FUNCTION {chain}();

CREATE OR REPLACE FUNCTION {schema}.refuse_unless_maintenance() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog
    AS $$ DECLARE
        reason text := nullif(current_setting('{setting}', true), '');
        owner oid := (SELECT relowner FROM pg_class WHERE oid = TG_RELID);
    BEGIN
        IF reason IS NULL THEN
            RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
                USING ERRCODE = '42501',
                      HINT = 'a deliberate repair runs as the owner with SET LOCAL {setting} = ''<why>'', and is logged';
        END IF;
        IF NOT pg_has_role(current_user, owner, 'MEMBER') THEN
            RAISE EXCEPTION '% on %.% refused: only the owner may use {setting}', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                USING ERRCODE = '42501';
        END IF;
        INSERT INTO {schema}.{log} (by_user, as_role, operation, table_name, reason)
            VALUES (session_user, current_user, TG_OP, TG_TABLE_NAME, reason);
        RETURN NULL;
    END $$;
CREATE OR REPLACE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.{events}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_unless_maintenance();
CREATE OR REPLACE TRIGGER maintenance_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.{log}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_unless_maintenance();
"""


def chain_names(schema: str, events_table: str) -> dict:
    # Functions of one log are named after its table: the ledger's log and the service's access
    # log each lock and chain themselves (one name for both would point both at the last made).
    return {
        "schema": Identifier(schema),
        "events": Identifier(events_table),
        "lock": Identifier(schema, f"lock_{events_table}"),
        "append_lock": Identifier(append_lock_table(events_table)),
        "append": Identifier(schema, f"append_{events_table}"),
        # the library's channel for the table (PostgresApplicationRecorder.channel_name)
        "channel": Identifier(events_table.replace(".", "_")),
        "serialise": Identifier(schema, f"serialise_{events_table}"),
        "chain": Identifier(schema, f"chain_{events_table}"),
        "log": Identifier(MAINTENANCE_LOG),
        "genesis": SQL("'\\x{}'::bytea").format(SQL(GENESIS.hex())),
        "setting": SQL(MAINTENANCE_SETTING),
    }


def append_lock_table(events_table: str) -> str:
    """The empty table whose EXCLUSIVE lock is the events table's append lock (the owner's alone)."""
    return f"{events_table}_append_lock"


def install_chain(cursor, schema: str, events_table: str) -> None:
    """Add the columns, the maintenance log, the functions and the triggers (idempotent)."""
    cursor.execute(SQL(CHAIN_DDL).format(**chain_names(schema, events_table)))


def append_statement(schema: str, events_table: str) -> SQL:
    """One append (`append_<table>`): five arrays of the events' fields, and the lock timeout."""
    return SQL("SELECT n AS notification_id FROM {}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::text[], %s) AS n").format(
        Identifier(schema, f"append_{events_table}"))


def lock_statement(schema: str, events_table: str) -> SQL:
    """What the recorder runs instead of the library's LOCK TABLE: the append lock, with the owner's right to take it."""
    return SQL("SELECT {}()").format(Identifier(schema, f"lock_{events_table}"))


# --- the same hash, in Python ------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _field(value: bytes | None) -> bytes:
    return b"\x00" if value is None else b"\x01" + len(value).to_bytes(4, "big") + value


def _int8(n: int) -> bytes:
    return n.to_bytes(8, "big", signed=True)


def event_hash(prev: bytes, notification_id: int, originator_id: UUID, version: int, topic: str | None,
               state: bytes | None, customer_id: str | None, recorded_at: datetime | None) -> bytes:
    micros = None if recorded_at is None else _int8((recorded_at - _EPOCH) // _MICROSECOND)
    return hashlib.sha256(b"".join((
        prev, _int8(notification_id), originator_id.bytes, _int8(version),
        _field(None if topic is None else topic.encode()), _field(state),
        _field(None if customer_id is None else customer_id.encode()), _field(micros),
    ))).digest()


def row_hash(prev: bytes, row: dict) -> bytes:
    return event_hash(prev, row["notification_id"], row["originator_id"], row["originator_version"], row["topic"],
                      None if row["state"] is None else bytes(row["state"]), row["customer_id"], row["recorded_at"])


# --- walking the chain -------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The last event of a chain: what an auditor keeps elsewhere (`<notification id>:<hash hex>`)."""

    notification_id: int
    chain_hash: bytes

    def __str__(self) -> str:
        return f"{self.notification_id}:{self.chain_hash.hex()}"

    @classmethod
    def parse(cls, text: str) -> Head:
        number, sep, digest = text.strip().partition(":")
        try:
            if not sep or len(digest) != 64:
                raise ValueError
            return cls(int(number), bytes.fromhex(digest))
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a chain head (<notification id>:<64 hex digits>)") from None


@dataclass(frozen=True)
class Break:
    """The first event that does not match the chain, and why."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    events: int  # events walked
    head: Head | None  # the last event walked, if the chain held up to it
    broken: Break | None


def _rows(conn, schema: str, events_table: str, after: int, through: int | None, batch: int) -> Iterator[list[dict]]:
    cursor = conn.cursor(row_factory=dict_row)
    statement = SQL(
        "SELECT " + CHAIN_COLUMNS + " FROM {}.{} WHERE notification_id > %s AND notification_id <= %s "
        "ORDER BY notification_id LIMIT %s"
    ).format(Identifier(schema), Identifier(events_table))
    last = through if through is not None else 2**63 - 1
    while True:
        rows = cursor.execute(statement, (after, last, batch)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1]["notification_id"]


def _break(row: dict, reason: str) -> Break:
    return Break(row["notification_id"], row["originator_id"], row["originator_version"], row["topic"], reason)


def walk_chain(conn, schema: str, events_table: str, through: int | None = None, held: Head | None = None,
               after: Head | None = None, batch: int = 5000,
               progress: Callable[[int], None] = lambda _: None) -> ChainReport:
    """Recompute every hash from the first event (or from `after`, a head walked before)
    through `through`, comparing each with the stored one; `held` is a head kept elsewhere
    that the event of its id must still have."""
    prev, walked, last, saw_held = GENESIS, 0, None, held is None
    start = 0
    if after is not None:
        prev, start = after.chain_hash, after.notification_id
        saw_held = saw_held or held.notification_id <= start
    for rows in _rows(conn, schema, events_table, start, through, batch):
        for row in rows:
            stored = None if row["chain_hash"] is None else bytes(row["chain_hash"])
            if stored is None:
                return ChainReport(walked, None, _break(row, "has no hash: the store is not migrated (`ledger db migrate`)"))
            if stored != row_hash(prev, row):
                why = "its stored bytes, or the event before it, changed (edited, removed or reordered)"
                return ChainReport(walked, None, _break(row, f"does not match the chain: {why}"))
            if held is not None and row["notification_id"] == held.notification_id:
                if stored != held.chain_hash:
                    return ChainReport(walked, None, _break(row, f"is not the held head {held}: the chain was rewritten up to it"))
                saw_held = True
            prev, walked, last = stored, walked + 1, row
        progress(len(rows))
    if not saw_held:
        missing = Break(held.notification_id, UUID(int=0), 0, None, "is the held head, and no longer in the store: events were removed")
        return ChainReport(walked, None, missing)
    head = after if last is None else Head(last["notification_id"], bytes(last["chain_hash"]))
    return ChainReport(walked, head, None)


def chain_head(conn, schema: str, events_table: str) -> Head | None:
    """The stored head, as the database has it (verify it with `walk_chain` before trusting it)."""
    statement = SQL("SELECT notification_id, chain_hash FROM {}.{} ORDER BY notification_id DESC LIMIT 1").format(
        Identifier(schema), Identifier(events_table))
    row = conn.cursor(row_factory=dict_row).execute(statement).fetchone()
    if row is None or row["chain_hash"] is None:
        return None
    return Head(row["notification_id"], bytes(row["chain_hash"]))


# --- the migration: chaining the events stored before the chain existed ------------------


def unchained(conn, schema: str, events_table: str) -> int:
    statement = SQL("SELECT count(*) AS n FROM {}.{} WHERE chain_hash IS NULL").format(Identifier(schema), Identifier(events_table))
    return conn.execute(statement).fetchone()[0]


def fill_chain(conn, schema: str, events_table: str, batch: int = 5000,
               progress: Callable[[int], None] = lambda _: None) -> int:
    """Hash the unhashed events in notification order, one committed batch at a time (so an
    interrupted migration resumes where it stopped). Each batch holds the append lock, so the
    last one leaves no unhashed event behind for new ones to chain from. Returns the events hashed."""
    table = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
    first_unhashed = SQL("SELECT min(notification_id) AS n FROM {} WHERE chain_hash IS NULL").format(table)
    previous = SQL("SELECT chain_hash FROM {} WHERE notification_id < %s ORDER BY notification_id DESC LIMIT 1").format(table)
    pending = SQL("SELECT " + CHAIN_COLUMNS + " FROM {} WHERE notification_id >= %s ORDER BY notification_id LIMIT %s").format(table)
    update = SQL(
        "UPDATE {} AS e SET chain_hash = u.h FROM unnest(%s::bigint[], %s::bytea[]) AS u(n, h) WHERE e.notification_id = u.n"
    ).format(table)
    cursor, hashed = conn.cursor(row_factory=dict_row), 0
    while True:
        with conn.transaction():
            cursor.execute(SQL("SELECT set_config({}, %s, true)").format(Literal(MAINTENANCE_SETTING)),
                         ("ledger db migrate: hash chain over the events stored before it",))
            cursor.execute(lock_statement(schema, events_table))
            start = cursor.execute(first_unhashed).fetchone()["n"]
            if start is None:
                return hashed
            row = cursor.execute(previous, (start,)).fetchone()
            prev = GENESIS if row is None else row["chain_hash"]
            if prev is None:
                raise RuntimeError(f"event before {start} has no hash: the chain cannot continue from it")
            prev = bytes(prev)
            ids, hashes = [], []
            for row in cursor.execute(pending, (start, batch)).fetchall():
                prev = row_hash(prev, row)
                ids.append(row["notification_id"])
                hashes.append(prev)
            cursor.execute(update, (ids, hashes))
        hashed += len(ids)
        progress(len(ids))

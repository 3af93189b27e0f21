"""The event store is append-only and hash-chained (eventstore/chain.py), on the real PostgreSQL:
no role updates, deletes or truncates a stored event without the logged maintenance switch,
every event carries the time its transaction committed, and the chain names the first event
that was edited, removed or reordered."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg.rows import dict_row

from eventstore.chain import GENESIS, Head, chain_head, walk_chain
from readside.event_log import EVENTS_TABLE
from tests.factories import open_customer
from tests.read_side_helpers import record_usage

MAINTENANCE = "SET LOCAL ledger.maintenance = 'test: repair'"


def connect(settings) -> psycopg.Connection:
    return psycopg.connect(settings.database_url, row_factory=dict_row)


def walk(settings, **kwargs):
    with connect(settings) as conn:
        return walk_chain(conn, settings.store_schema, EVENTS_TABLE, **kwargs)


def events(settings) -> str:
    return f"{settings.store_schema}.{EVENTS_TABLE}"


def ids(settings) -> list[int]:
    with connect(settings) as conn:
        return [r["notification_id"] for r in conn.execute(f"SELECT notification_id FROM {events(settings)} ORDER BY 1")]


def with_maintenance(settings, *statements: str) -> None:
    with connect(settings) as conn, conn.transaction():
        conn.execute(MAINTENANCE)
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def stored(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 5)
    return ids(settings)


@pytest.mark.parametrize("statement", ["UPDATE {t} SET topic = topic", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_no_role_changes_a_stored_event_without_the_maintenance_switch(settings, stored, statement):
    with connect(settings) as conn:  # the database's superuser, its owner here
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement.format(t=events(settings)))
    assert ids(settings) == stored


def test_the_switch_is_refused_to_a_role_that_is_not_the_owner(settings, stored):
    role = "editor_" + uuid4().hex[:8]
    with connect(settings) as conn, conn.transaction():
        conn.execute(f"CREATE ROLE {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA {settings.store_schema} TO {role}")
        conn.execute(f"GRANT UPDATE, DELETE ON {events(settings)} TO {role}")
    try:
        with connect(settings) as conn, conn.transaction():
            conn.execute(f"SET LOCAL ROLE {role}")
            conn.execute(MAINTENANCE)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only the owner"):
                conn.execute(f"DELETE FROM {events(settings)}")
    finally:
        with connect(settings) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    assert ids(settings) == stored


def test_a_maintenance_statement_is_logged_with_who_when_and_why(settings, stored):
    with_maintenance(settings, f"UPDATE {events(settings)} SET topic = topic WHERE notification_id = {stored[0]}")
    with connect(settings) as conn:
        log = conn.execute(f"SELECT by_user, operation, table_name, reason, at FROM {settings.store_schema}.maintenance_log").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"DELETE FROM {settings.store_schema}.maintenance_log")
    assert [(r["operation"], r["table_name"], r["reason"]) for r in log] == [("UPDATE", EVENTS_TABLE, "test: repair")]
    assert log[0]["by_user"] and log[0]["at"] <= datetime.now(UTC)


def test_every_event_carries_its_transactions_time_whatever_the_writer_passes(settings, stored):
    with connect(settings) as conn:
        conn.execute(
            f"INSERT INTO {events(settings)} (originator_id, originator_version, topic, state, customer_id, recorded_at, chain_hash) "
            "VALUES (%s, 1, 'raw', '\\x7b7d', '', '2000-01-01', '\\x00')", (uuid4(),))
        now = conn.execute("SELECT transaction_timestamp() AS t").fetchone()["t"]
        rows = conn.execute(f"SELECT recorded_at FROM {events(settings)} ORDER BY notification_id").fetchall()
        conn.commit()
    assert all(r["recorded_at"] is not None for r in rows)
    assert rows[-1]["recorded_at"] == now  # not the 2000-01-01 it was given
    report = walk(settings)
    assert report.broken is None and report.events == len(stored) + 1  # nor the hash it was given


def test_the_chain_holds_and_its_head_is_the_last_event(settings, stored):
    report = walk(settings)
    with connect(settings) as conn:
        head = chain_head(conn, settings.store_schema, EVENTS_TABLE)
    assert report.broken is None and report.events == len(stored)
    assert report.head == head and head.notification_id == stored[-1] and head.chain_hash != GENESIS
    assert Head.parse(str(head)) == head


def test_the_chain_names_an_edited_event(settings, stored):
    edited = stored[2]
    with_maintenance(settings, f"UPDATE {events(settings)} SET customer_id = 'CUST-9' WHERE notification_id = {edited}")
    report = walk(settings)
    assert report.broken.notification_id == edited and report.events == 2
    assert "does not match" in report.broken.reason


def test_the_chain_names_the_event_after_a_deleted_one(settings, stored):
    with_maintenance(settings, f"DELETE FROM {events(settings)} WHERE notification_id = {stored[3]}")
    assert walk(settings).broken.notification_id == stored[4]


def test_the_chain_names_the_first_of_a_reordered_pair(settings, stored):
    a, b = stored[1], stored[2]
    t = events(settings)
    with_maintenance(
        settings,
        f"UPDATE {t} SET notification_id = -1 WHERE notification_id = {a}",
        f"UPDATE {t} SET notification_id = {a} WHERE notification_id = {b}",
        f"UPDATE {t} SET notification_id = {b} WHERE notification_id = -1",
    )
    assert walk(settings).broken.notification_id == a


def test_a_held_head_proves_a_rewritten_chain(settings, app, stored):
    with connect(settings) as conn:
        held = chain_head(conn, settings.store_schema, EVENTS_TABLE)
    # Rewrite: edit an event, then recompute every later hash, as an owner covering tracks would.
    with_maintenance(settings, f"UPDATE {events(settings)} SET customer_id = 'CUST-9' WHERE notification_id = {stored[1]}")
    rechain(settings)
    assert walk(settings).broken is None  # the chain alone holds again...
    broken = walk(settings, held=held).broken
    assert broken.notification_id == held.notification_id and "held head" in broken.reason  # ...the held head does not


def test_a_held_head_that_was_removed_is_named(settings, stored):
    with connect(settings) as conn:
        held = chain_head(conn, settings.store_schema, EVENTS_TABLE)
    with_maintenance(settings, f"DELETE FROM {events(settings)} WHERE notification_id = {held.notification_id}")
    assert walk(settings, held=held).broken.notification_id == held.notification_id


def rechain(settings) -> None:
    from eventstore.chain import row_hash

    with connect(settings) as conn, conn.transaction():
        conn.execute(MAINTENANCE)
        prev = GENESIS
        for row in conn.execute(f"SELECT * FROM {events(settings)} ORDER BY notification_id").fetchall():
            prev = row_hash(prev, row)
            conn.execute(f"UPDATE {events(settings)} SET chain_hash = %s WHERE notification_id = %s", (prev, row["notification_id"]))


def test_concurrent_writers_keep_one_chain(settings, app):
    writers, batches, size = 4, 15, 20
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(batches):
                app.recorder.insert_events(
                    [StoredEvent(uuid4(), 1, "test.Concurrent", b"{}") for _ in range(size)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = walk(settings)
    assert report.broken is None and report.events >= writers * batches * size


@pytest.mark.parametrize(("topic", "state", "customer", "recorded_at"), [
    ("domain.usage:UsageLine.Recorded", b'{"a": 1}', "CUST-1", datetime(2026, 11, 30, 8, 1, 2, 345678, tzinfo=UTC)),
    (None, None, None, None),  # every nullable field empty: a marker of its own, not the empty string
    ("", b"", "", datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("t\u00e9", b"\x00\xff", "K\u00fcnde \u2603", datetime(2000, 1, 1, tzinfo=UTC)),
])
def test_the_database_and_the_verifier_hash_an_event_alike(settings, app, topic, state, customer, recorded_at):
    from eventstore.chain import event_hash

    prev, originator = bytes(range(32)), uuid4()
    with connect(settings) as conn:
        in_sql = conn.execute(
            f"SELECT {settings.store_schema}.event_hash(%s, 7, %s, 3, %s, %s, %s, %s) AS h",
            (prev, originator, topic, state, customer, recorded_at),
        ).fetchone()["h"]
    assert bytes(in_sql) == event_hash(prev, 7, originator, 3, topic, state, customer, recorded_at)

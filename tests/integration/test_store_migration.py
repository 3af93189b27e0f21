"""`ledger db migrate` upgrades a store made before the chain: its events keep an unknown commit
time and get their hashes in notification order, resumably; events written between the
upgrade and the migration are chained too."""

from __future__ import annotations

import psycopg
import pytest

from eventstore.chain import fill_chain
from eventstore.postgres import open_application
from readside.event_log import EVENTS_TABLE
from tests.cli_helpers import ledger
from tests.factories import open_customer
from tests.integration.test_append_only_chained_store import connect, events, walk
from tests.read_side_helpers import record_usage


def make_it_an_old_store(settings) -> None:
    """The store as ec8fba7 made it: no commit time, no hash, no triggers, no maintenance log."""
    schema = settings.store_schema
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for trigger in ("ledger_events_append_only", "ledger_events_chain", "ledger_events_serialise"):
            conn.execute(f"DROP TRIGGER {trigger} ON {events(settings)}")
        conn.execute(f"ALTER TABLE {events(settings)} DROP COLUMN recorded_at, DROP COLUMN chain_hash")
        conn.execute(f"DROP TABLE {schema}.maintenance_log")


@pytest.fixture
def old_store(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 6)
    make_it_an_old_store(settings)
    return settings


def test_a_store_of_the_previous_version_is_migrated_and_its_chain_holds(old_store, cli_env):
    settings = old_store
    with connect(settings) as conn:
        old = conn.execute(f"SELECT count(*) AS n FROM {events(settings)}").fetchone()["n"]
    # the new version starts on it before anyone migrates: new events wait for the chain
    reopened = open_application(settings)
    try:
        record_usage(reopened, "CUST-1", 3, first=100)
    finally:
        reopened.close()
    assert walk(settings).broken.reason.startswith("has no hash")

    migrated = ledger(cli_env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"{old + 3} events hashed now; {old} stored before commit times were kept: recorded_at unknown" in migrated.stderr

    report = walk(settings)
    assert report.broken is None and report.events == old + 3
    with connect(settings) as conn:
        times = [r["recorded_at"] for r in conn.execute(f"SELECT recorded_at FROM {events(settings)} ORDER BY notification_id")]
        log = conn.execute(f"SELECT operation, reason FROM {settings.store_schema}.maintenance_log").fetchall()
    assert times[:old] == [None] * old and all(times[old:])  # unknown, never invented
    assert log and all(r["operation"] == "UPDATE" and "migrate" in r["reason"] for r in log)

    again = ledger(cli_env, "db", "migrate")
    assert again.returncode == 0 and "0 events hashed now" in again.stderr
    assert ledger(cli_env, "verify", "--store").returncode == 0


def test_an_interrupted_migration_resumes_where_it_stopped(old_store):
    settings = old_store
    open_application(settings).close()

    class Interrupted(Exception):
        pass

    def stop_after_first_batch(count: int) -> None:
        raise Interrupted

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        with pytest.raises(Interrupted):
            fill_chain(conn, settings.store_schema, EVENTS_TABLE, batch=3, progress=stop_after_first_batch)
        assert walk(settings).events == 3  # the first batch was committed
        assert fill_chain(conn, settings.store_schema, EVENTS_TABLE, batch=3) > 0
    assert walk(settings).broken is None

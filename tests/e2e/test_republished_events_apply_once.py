"""Nothing applied twice: a ledger event republished by the relay changes no read model,
whether its copy arrives in the same batch, a later batch, after a restart, or in another
partition read in turn with the first; and a replay from Kafka over a topic that holds
every event twice rebuilds the rows of one copy."""

from __future__ import annotations

import json
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from ledger.processes import relay_process
from projections.base import LedgerEvent
from projections.registry import all_projections
from readside.event_log import max_notification_id, read_log, to_ledger_events
from readside.replay import replay
from readside.verify import verify
from tests.billing_life import whole_life
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, open_customer, usage_record
from tests.kafka_helpers import publish
from tests.read_side_helpers import live_balances, record_usage, relay_and_project

# --- the reproduction, through the command line ------------------------------------


def test_a_store_republished_with_relay_from_start_is_projected_once(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    open_customer(app, "CUST-1", unit_price="0.5")
    publish(settings, [usage_record(f"u-{n}", quantity="2") for n in range(10)])

    for command in (["ingest"], ["relay"], ["relay", "--from-start"], ["project"]):
        done = ledger(cli_env, *command, "--until-idle", timeout=180)
        assert done.returncode == 0, done.stderr

    shown = ledger(cli_env, "query", "balances", "CUST-1", "--all-columns", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    assert (row["usage_lines"], Decimal(row["unbilled_usage"]), row["metered_subscriptions"]) == (10, Decimal(10), 1)
    verified = ledger(cli_env, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


# --- copies at the level of Projection.apply, for every projection --------------------------


def ledger_events_of_the_store(settings, app) -> list[LedgerEvent]:
    """Every stored event as the relay publishes it, in notification order."""
    with psycopg.connect(settings.database_url) as conn:
        through = max_notification_id(conn, settings.store_schema)
        return [e for rows in read_log(conn, settings.store_schema, 0, through, 10_000) for e in to_ledger_events(rows, app.mapper)]


def some_ledger(settings, app) -> list[LedgerEvent]:
    """Two customers: ACME's whole billing life (every projection has events of it), and
    CUST-1 with usage only."""
    whole_life(app)
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 6)
    return ledger_events_of_the_store(settings, app)


def rows_after(settings, schema: str, batches: list[list[LedgerEvent]], restart_after: int | None = None) -> dict:
    """Every projection's tables in a schema of their own, after applying these batches, each
    in its own transaction as the projector does (new projection objects after batch
    `restart_after`, as after a restart); returns every table's rows."""
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
        projections = all_projections()
        with conn.transaction(), conn.cursor() as cursor:
            for projection in projections:
                projection.create(cursor)
        for number, batch in enumerate(batches):
            if number == restart_after:
                projections = all_projections()
            with conn.transaction(), conn.cursor() as cursor:
                for projection in projections:
                    projection.apply(cursor, batch)
        with conn.cursor(row_factory=dict_row) as cursor:
            return {
                table: cursor.execute(SQL("SELECT * FROM {} ORDER BY 1, 2").format(Identifier(table))).fetchall()
                for projection in projections for table in projection.tables
            }


def partition_of(event: LedgerEvent, partitions: int) -> int:
    return sum(event[1]["customer_id"].encode()) % partitions


def test_copies_within_one_batch_are_applied_once(settings, app):
    events = some_ledger(settings, app)
    once = rows_after(settings, "once", [events])
    assert once["customer_balances"] and once["invoices"] and once["collections_policies"] and once["support_cases"]

    assert rows_after(settings, "twice_in_a_row", [events + events]) == once  # a republished run
    assert rows_after(settings, "side_by_side", [[e for e in events for _ in (1, 2)]]) == once
    half = len(events) // 2
    assert rows_after(settings, "overlapping", [events[:half] + events[: half + 5] + events[half:]]) == once


def test_copies_in_later_batches_and_after_a_restart_are_applied_once(settings, app):
    events = some_ledger(settings, app)
    once = rows_after(settings, "once", [events])
    third = len(events) // 3

    assert rows_after(settings, "later", [events[:third], events[: 2 * third], events, events[third:]]) == once
    assert rows_after(settings, "restarted", [events[: 2 * third], events], restart_after=1) == once


def test_copies_in_two_partitions_read_in_turn_are_applied_once(settings, app):
    """The topic grew from one partition to two, then the relay republished the store:
    partition 0 holds every event, then the second copies of its customers; partition 1 the
    second copies of the others. The projector reads the partitions' batches in turn."""
    events = some_ledger(settings, app)
    once = rows_after(settings, "once", [events])
    partitions = {
        0: events + [e for e in events if partition_of(e, 2) == 0],
        1: [e for e in events if partition_of(e, 2) == 1],
    }
    assert partitions[1], "both partitions hold events"
    for size in (7, len(partitions[0])):  # small batches; one batch per partition, both copies in it
        turns = [
            partitions[p][start: start + size]
            for start in range(0, len(partitions[0]), size) for p in (0, 1)
        ]
        assert rows_after(settings, f"interleaved_{size}", [batch for batch in turns if batch]) == once


# --- replay from Kafka --------------------------------------------------------------------


def test_a_replay_from_kafka_over_a_topic_holding_every_event_twice_rebuilds_one_copy(settings, app):
    whole_life(app)
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 8)
    relay_and_project(settings, app)
    live = live_balances(settings)

    relay = relay_process(settings, app)  # the whole store published a second time
    try:
        relay.relay.restart_from_beginning()
        while relay.step():
            pass
    finally:
        relay.close()

    for name in ("balances", "invoices", "collections", "support"):
        result = replay(settings, name, "kafka", restart=True)
        assert result.complete and result.events == 2 * app.recorder.max_notification_id()
    assert live_balances(settings) == live
    assert verify(settings)[0] == []

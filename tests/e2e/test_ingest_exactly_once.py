"""Exactly once into the store, through the real broker and database: a usage id repeated
across partitions and restarts is recorded once and counted as a duplicate; an ingest killed
with SIGKILL in the middle of a stream (between its database commit and any Kafka commit)
loses nothing and doubles nothing, with a second instance in the group; counts reconcile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psycopg

from consumers import kafka_clients
from schemas import registry
from tests.conftest import wait_for
from tests.factories import open_customer, usage_record
from tests.kafka_helpers import ingest_all

USAGE = "billing.usage.UsageEvent"
COUNTS = ("consumed", "recorded", "duplicates", "dead_letters")


def send(settings, messages: list[tuple[int, str, dict]]) -> None:
    """(partition, key, usage record): the partition chosen, as a misbehaving producer might."""
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    for partition, key, record in messages:
        producer.send(settings.usage_topic, key=key.encode(), value=registry().encode(USAGE, record), partition=partition)
    producer.flush()
    producer.close()


def recorded_usage(settings) -> tuple[int, int]:
    """(usage events stored, distinct usage lines)."""
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            f"SELECT count(*), count(DISTINCT originator_id) FROM {settings.store_schema}.ledger_events "
            "WHERE topic LIKE '%UsageLine.Recorded'"
        ).fetchone()


def committed_totals(app) -> dict[str, int]:
    rows = app.recorder.ingest_counts()
    return {c: sum(row[c] for row in rows) for c in COUNTS}


def test_a_usage_id_in_several_partitions_and_after_a_restart_is_recorded_once(settings, app):
    open_customer(app, "CUST-1")
    open_customer(app, "CUST-2")
    first_wave = [(p, "CUST-1", usage_record("u-1")) for p in range(4)]  # the same id in every partition
    first_wave += [(0, "CUST-2", usage_record("u-2", "CUST-2")), (3, "CUST-2", usage_record("u-2", "CUST-2"))]
    send(settings, first_wave)
    process = ingest_all(settings, app)
    assert (process.ingest.counts.recorded, process.ingest.counts.duplicates) == (2, 4)

    # The producer retries everything after the ingest restarted; one new usage comes along.
    send(settings, first_wave + [(1, "CUST-1", usage_record("u-3"))])
    restarted = ingest_all(settings, app)

    counts = restarted.ingest.counts
    assert (counts.consumed, counts.recorded, counts.duplicates) == (7, 1, 6), "a restart resumes after its positions"
    assert recorded_usage(settings) == (3, 3)
    assert committed_totals(app) == {"consumed": 13, "recorded": 3, "duplicates": 10, "dead_letters": 0}


def test_an_ingest_killed_mid_stream_with_another_instance_in_the_group_records_each_usage_once(settings, app, cli_env):
    open_customer(app, "CUST-1")
    open_customer(app, "CUST-2")
    total = 12_000
    send(settings, [(n % 4, f"CUST-{n % 2 + 1}", usage_record(f"u-{n}", f"CUST-{n % 2 + 1}", quantity="1")) for n in range(total)])

    def ledger_ingest(*extra):
        return subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "ingest", *extra],
            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    victim = ledger_ingest()
    try:
        # SIGKILL once the victim has committed part of the stream: whatever it had written
        # to PostgreSQL is committed with its positions; its Kafka offsets are at most a
        # convenience that nobody reads.
        wait_for(lambda: 0 < committed_totals(app)["consumed"] < total or victim.poll() is not None,
                 timeout=60, what="the first ingest to commit part of the stream")
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.wait(timeout=30)
    consumed_when_killed = committed_totals(app)["consumed"]
    assert 0 < consumed_when_killed < total, "the kill must fall in the middle of the stream"

    # Two instances share the group now; one finishes and prints the committed counts.
    partner = ledger_ingest()
    try:
        finisher = ledger_ingest("--until-idle", "--stats")
        out, err = finisher.communicate(timeout=180)
        assert finisher.returncode == 0, err
        wait_for(lambda: committed_totals(app)["consumed"] == total, timeout=60, what="both instances to finish")
    finally:
        partner.send_signal(signal.SIGTERM)
        partner.wait(timeout=60)
    assert partner.returncode == 0, partner.stderr.read()

    assert recorded_usage(settings) == (total, total)
    assert committed_totals(app) == {"consumed": total, "recorded": total, "duplicates": 0, "dead_letters": 0}
    assert "total" in out and "yes" in out.splitlines()[-1]

"""The relay never skips an event: while several OS processes record usage concurrently, the
relay tails the notification log, and every stored event arrives on the ledger topic, keyed
by customer, with its type and id; it resumes after a stop; --from-start refills an empty topic."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading

from kafka import KafkaConsumer, TopicPartition

from consumers.ingest import decode_usage
from consumers.ledger_events import ledger_event_id
from eventstore.postgres import open_application
from ledger.processes import Runner, relay_process
from schemas import registry
from tests.conftest import wait_for
from tests.factories import open_customer, usage_record

WRITERS = 4
BATCHES = 40
BATCH = 20


def write_usage(settings, writer: int) -> None:
    """One OS process: small batches of usage, each its own transaction, as fast as it can."""
    app = open_application(settings)
    try:
        for batch in range(BATCHES):
            reports = [
                decode_usage(registry().encode("billing.usage.UsageEvent", usage_record(
                    f"w{writer}-b{batch}-{n}", f"CUST-{(writer + n) % 3}", quantity="1")))
                for n in range(BATCH)
            ]
            app.record_usage(reports, actor=f"system:writer-{writer}")
    finally:
        app.close()


def ledger_topic_messages(settings) -> list:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    partitions = [TopicPartition(settings.ledger_topic, p) for p in consumer.partitions_for_topic(settings.ledger_topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    messages = []

    def read_to_end() -> bool:
        for records in consumer.poll(timeout_ms=200).values():
            messages.extend(records)
        return all(consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp) for tp in partitions)

    wait_for(read_to_end, timeout=60, what="the ledger topic to be read to its end")
    consumer.close()
    return messages


def stored_events(app) -> dict[str, tuple[int, str]]:
    """event id -> (notification id, event type), for every event in the store."""
    found = {}
    for n in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(n)
        found[str(ledger_event_id(n.originator_id, n.originator_version))] = (n.id, type(event).__name__)
    return found


def test_every_event_written_by_concurrent_processes_reaches_the_ledger_topic(settings, app):
    for n in range(3):
        open_customer(app, f"CUST-{n}")
    relay = relay_process(settings, app)
    stop = threading.Event()
    runner = Runner(relay, stop)
    runner.start()
    try:
        context = multiprocessing.get_context("spawn")
        writers = [context.Process(target=write_usage, args=(settings, w)) for w in range(WRITERS)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=120)
            assert writer.exitcode == 0
        total = app.recorder.max_notification_id()
        wait_for(lambda: relay.relay.position() == total, timeout=60, what="the relay to catch up")
    finally:
        stop.set()
        runner.join()
        relay.close()
    assert runner.error is None

    stored = stored_events(app)
    assert len(stored) >= WRITERS * BATCHES * BATCH
    messages = ledger_topic_messages(settings)
    published = {dict(m.headers)["event_id"].decode(): m for m in messages}
    assert set(published) == set(stored), "every stored event is on the topic, and nothing else"
    for event_id, message in published.items():
        _, record = registry().decode(message.value)
        assert record["notification_id"] == stored[event_id][0]
        assert message.key.decode() == record["customer_id"]
    # In order per customer: a partition holds each customer's events by notification id.
    by_customer: dict[str, list[int]] = {}
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        by_customer.setdefault(message.key.decode(), []).append(registry().decode(message.value)[1]["notification_id"])
    assert all(ids == sorted(ids) for ids in by_customer.values())


def test_a_restarted_relay_resumes_after_its_position_and_from_start_refills(settings, app):
    open_customer(app, "CUST-1")
    app.record_usage([decode_usage(registry().encode("billing.usage.UsageEvent", usage_record(f"u-{n}"))) for n in range(30)], actor="t")
    first = relay_process(settings, app)
    first.relay.batch_size = 10
    first.step()
    first.close()
    second = relay_process(settings, app)
    while second.step():
        pass
    total = app.recorder.max_notification_id()
    assert (first.relay.published, second.relay.published) == (10, total - 10)
    second.relay.restart_from_beginning()
    while second.step():
        pass
    second.close()
    assert second.relay.published == 2 * total - 10
    assert len({dict(m.headers)["event_id"] for m in ledger_topic_messages(settings)}) == total


def test_ledger_relay_from_start_republishes_the_whole_store(settings, app, cli_env):
    open_customer(app, "CUST-1")
    app.record_usage([decode_usage(registry().encode("billing.usage.UsageEvent", usage_record(f"u-{n}"))) for n in range(5)], actor="t")
    relay = [sys.executable, "-m", "ledger.cli", "relay", "--until-idle"]
    first = subprocess.run(relay, env=cli_env, capture_output=True, text=True, timeout=120)
    again = subprocess.run(relay + ["--from-start"], env=cli_env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert "publishing the whole event store again" in again.stderr
    ids = [dict(m.headers)["event_id"] for m in ledger_topic_messages(settings)]
    total = app.recorder.max_notification_id()
    assert len(ids) == 2 * total and len(set(ids)) == total


def test_a_relay_catching_up_encodes_ahead_in_a_worker_and_never_skips_or_reorders(settings, app):
    from consumers.relay import _encode_in_worker, ledger_messages

    open_customer(app, "CUST-1")
    open_customer(app, "CUST-2")
    app.record_usage(
        [decode_usage(registry().encode("billing.usage.UsageEvent", usage_record(f"u-{n}", f"CUST-{n % 2 + 1}"))) for n in range(120)],
        actor="t",
    )
    total = app.recorder.max_notification_id()
    process = relay_process(settings, app)
    relay = process.relay
    relay.batch_size, relay.pipeline_from = 20, 5  # every batch large enough to read ahead
    try:
        notifications = app.recorder.select_notifications(start=1, limit=total)
        # the worker writes the very bytes the relay writes itself
        assert relay._worker().submit(_encode_in_worker, notifications).result() == ledger_messages(notifications, app.mapper)

        assert process.step() == 20 and relay._next is not None  # the next batch is being encoded
        relay.restart_from_beginning()  # the read-ahead now follows a position that is gone
        while process.step():
            pass
    finally:
        process.close()
    assert relay.published == 20 + total
    messages = ledger_topic_messages(settings)
    assert len({dict(m.headers)["event_id"] for m in messages}) == total
    by_partition: dict[int, list[int]] = {}
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        by_partition.setdefault(message.partition, []).append(registry().decode(message.value)[1]["notification_id"])
    # each partition: the first batch's events, then the whole store again, each run in order
    for ids in by_partition.values():
        assert len([i for i in range(1, len(ids)) if ids[i] < ids[i - 1]]) <= 1
    assert sorted(n for ids in by_partition.values() for n in ids) == sorted(list(range(1, 21)) + list(range(1, total + 1)))


def test_a_relay_whose_encoding_worker_dies_encodes_the_batch_itself_and_goes_on(settings, app):
    import os
    import signal

    open_customer(app, "CUST-1")
    app.record_usage(
        [decode_usage(registry().encode("billing.usage.UsageEvent", usage_record(f"u-{n}"))) for n in range(100)], actor="t",
    )
    total = app.recorder.max_notification_id()
    process = relay_process(settings, app)
    relay = process.relay
    relay.batch_size, relay.pipeline_from = 20, 5
    try:
        assert process.step() == 20 and relay._next is not None
        (worker,) = relay._encoder._processes.values()
        os.kill(worker.pid, signal.SIGKILL)  # while (or before) it encodes the read-ahead
        worker.join(timeout=30)
        while process.step():
            pass
    finally:
        process.close()
    assert relay.published == total == relay.position()
    ids = sorted(registry().decode(m.value)[1]["notification_id"] for m in ledger_topic_messages(settings))
    assert ids == list(range(1, total + 1))

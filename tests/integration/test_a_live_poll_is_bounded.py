"""What a poll brings is bounded, so that what a member holds does not grow with its backlog:
a live group member (behind after a rebalance) takes at most LIVE_POLL_RECORDS a poll and
fetches at most LIVE_FETCH_BYTES, yet still reads a message larger than that; a run until idle,
all catching up, takes larger polls (fewer transactions)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from consumers import kafka_clients
from ledger.processes import (
    LIVE_FETCH_BYTES,
    LIVE_POLL_RECORDS,
    UNTIL_IDLE_POLL_RECORDS,
    tracked_member,
)

WAITING = LIVE_POLL_RECORDS * 3


def publish_backlog(settings) -> None:
    kafka_clients.ensure_topics(settings, settings.usage_topic)
    producer = kafka_clients.producer(settings)
    for n in range(WAITING):
        producer.send(settings.usage_topic, key=b"CUST-1", value=f"message {n}".encode())  # one partition: one batch a poll
    producer.flush()
    producer.close()


def poll_sizes(settings, until_idle: bool) -> list[int]:
    """Records each poll brought, until the backlog is read."""
    handler = SimpleNamespace(recorded_position=lambda source: None, handle_batch=lambda source, records: None)
    member = tracked_member(settings, settings.group("bounded"), settings.usage_topic, handler, until_idle)
    sizes: list[int] = []
    deadline = time.monotonic() + 60  # a live member joins its group first
    try:
        while sum(sizes) < WAITING:
            assert time.monotonic() < deadline, f"read {sum(sizes)} of {WAITING} records"
            if handled := member.poll_once():
                sizes.append(handled)
    finally:
        member.close()
    return sizes


def test_a_live_member_behind_polls_at_most_its_bound(settings):
    publish_backlog(settings)
    sizes = poll_sizes(settings, until_idle=False)
    assert max(sizes) == LIVE_POLL_RECORDS < WAITING


def test_a_run_until_idle_takes_larger_polls(settings):
    publish_backlog(settings)
    sizes = poll_sizes(settings, until_idle=True)
    assert max(sizes) > LIVE_POLL_RECORDS
    assert max(sizes) <= UNTIL_IDLE_POLL_RECORDS


def test_a_live_member_fetches_a_bounded_amount_and_still_reads_a_message_larger_than_that(settings):
    kafka_clients.ensure_topics(settings, settings.usage_topic)
    large = b"x" * (3 * LIVE_FETCH_BYTES)  # within the message limit, past both fetch bounds
    assert len(large) < settings.max_message_bytes
    producer = kafka_clients.producer(settings)
    producer.send(settings.usage_topic, key=b"CUST-1", value=b"before")
    producer.send(settings.usage_topic, key=b"CUST-1", value=large)
    producer.send(settings.usage_topic, key=b"CUST-1", value=b"after")
    producer.flush()
    producer.close()
    read: list[bytes] = []
    handler = SimpleNamespace(recorded_position=lambda source: None,
                              handle_batch=lambda source, records: read.extend(r.value for r in records))
    member = tracked_member(settings, settings.group("fetch-bound"), settings.usage_topic, handler, until_idle=False)
    deadline = time.monotonic() + 60  # a live member joins its group first
    try:
        config = member.consumer.config
        assert (config["fetch_max_bytes"], config["max_partition_fetch_bytes"]) == (LIVE_FETCH_BYTES, LIVE_FETCH_BYTES)
        while len(read) < 3:
            assert time.monotonic() < deadline, f"read {len(read)} of 3 messages"
            member.poll_once()
    finally:
        member.close()
    assert read == [b"before", large, b"after"]

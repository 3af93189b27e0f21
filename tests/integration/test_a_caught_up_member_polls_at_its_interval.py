"""A live member that has caught up polls at most every `poll_interval` (each poll's batches
cost a transaction each, whatever their size); one whose last poll was full polls again at
once."""

from __future__ import annotations

from consumers import kafka_clients
from consumers.partitions import TrackedMember

INTERVAL = 1.0  # wide: the machine running the tests may be busy


def test_a_member_behind_polls_at_once_and_one_caught_up_waits_for_its_interval(settings):
    kafka_clients.ensure_topics(settings, settings.usage_topic)
    producer = kafka_clients.producer(settings)
    for n in range(25):
        producer.send(settings.usage_topic, key=b"CUST-1", value=f"message {n}".encode())
    producer.flush()
    producer.close()
    handled: list = []
    member = TrackedMember(
        kafka_clients.consumer(settings, None), settings.usage_topic, lambda source: None,
        lambda source, records: handled.extend(records), max_records=10, assign_all=True,
        poll_timeout_ms=2_000, poll_interval=INTERVAL,
    )
    try:
        assert member.poll_once() == 10  # a full poll: there may be more
        first = member.polled_at
        assert member.poll_once() == 10
        assert member.polled_at - first < INTERVAL  # behind: at once
        assert member.poll_once() == 5  # caught up
        caught_up = member.polled_at
        assert member.poll_once() == 0
        assert member.polled_at - caught_up >= INTERVAL
        assert len(handled) == 25
    finally:
        member.close()

"""The ingest's unit of work (consumers/ingest.py UsageIngest.record) on the real store: a
batch that another member of the group committed first (a rebalance hands the partition
over before the first member's offsets) is counted as duplicates and writes nothing again."""

from __future__ import annotations

from collections import namedtuple

from consumers import kafka_clients
from consumers.ingest import UsageIngest
from consumers.partitions import Source
from eventstore.postgres import open_application
from tests.factories import open_customer
from tests.usage_messages import usage

# The fields of a kafka-python ConsumerRecord that the ingest reads.
Record = namedtuple("Record", "topic partition offset key value headers")


def test_a_batch_another_member_committed_first_is_counted_as_duplicates_and_written_once(settings, app):
    open_customer(app, "CUST-1")
    batch = [Record(settings.usage_topic, 0, n, b"CUST-1", usage(f"u-{n}"), []) for n in range(3)]
    source = Source(settings.usage_topic, "topic-id", 0)
    producer = kafka_clients.dead_letter_producer(settings)
    other_member = open_application(settings)
    try:
        first = UsageIngest(app, producer, settings.dlq_topic).handle_batch(source, batch)
        stored = app.recorder.max_notification_id()
        again = UsageIngest(other_member, producer, settings.dlq_topic).handle_batch(source, batch)
    finally:
        other_member.close()
        producer.close()

    assert (first.recorded, first.duplicates) == (3, 0)
    assert (again.consumed, again.recorded, again.duplicates, again.dead_letters) == (3, 0, 3, 0)
    assert app.recorder.max_notification_id() == stored, "the second member wrote nothing"
    (counted,) = app.recorder.ingest_counts()
    assert (counted["consumed"], counted["recorded"]) == (3, 3), "the batch is counted once, as committed"

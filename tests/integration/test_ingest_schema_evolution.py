"""Schema evolution through the real broker and store: a new consumer ingests an old producer's
usage, an old consumer a new producer's; a consumer that does not know a new version yet
dead-letters it by fingerprint, and records it once upgraded and the letters redriven."""

from __future__ import annotations

from consumers import kafka_clients
from consumers.dead_letters import read_dead_letters, redrive, select
from ledger.processes import ingest_process
from schemas import SchemaRegistry, encode_with, registry
from tests.factories import open_customer, usage_record
from tests.kafka_helpers import ingest_all, ingest_until_idle, publish_raw
from tests.schema_versions import V1, V2, retyped, usage_v2

USAGE = "billing.usage.UsageEvent"


def test_old_and_new_producers_are_ingested_by_old_and_new_consumers(settings, app):
    open_customer(app, "CUST-1")
    process = ingest_process(settings, app)
    try:
        # A consumer upgraded to v2 reads what an old producer (v1) writes ...
        process.ingest.codec = SchemaRegistry([V1, V2])
        publish_raw(settings, [(b"CUST-1", encode_with(V1, usage_record("u-old-producer")))])
        ingest_until_idle(process)
        # ... and a consumer still reading v1 (that knows v2's fingerprint) reads a new producer's.
        process.ingest.codec = SchemaRegistry([V1, V2], readers={USAGE: 1})
        publish_raw(settings, [(b"CUST-1", encode_with(V2, usage_record("u-new-producer") | {"region": "westeurope"}))])
        ingest_until_idle(process)
    finally:
        process.close()
    assert process.ingest.counts.recorded == 2 and process.ingest.counts.dead_letters == 0


def test_a_version_unknown_to_the_consumer_is_dead_lettered_then_recorded_after_the_upgrade(settings, app):
    open_customer(app, "CUST-1")
    publish_raw(settings, [(b"CUST-1", encode_with(V2, usage_record("u-from-the-future") | {"region": None}))])
    process = ingest_process(settings, app)
    try:
        ingest_until_idle(process)  # today's registry has no v2
        (letter,) = read_dead_letters(settings, settings.dlq_topic)
        assert letter.reason == "unknown_fingerprint"

        process.ingest.codec = SchemaRegistry([V1, V2])  # the consumer is upgraded
        producer = kafka_clients.producer(settings)
        redrive(producer, settings.dlq_topic, settings.usage_topic, select([letter], ids={letter.id}))
        producer.close()
        ingest_until_idle(process)
    finally:
        process.close()
    counts = process.ingest.counts
    assert (counts.consumed, counts.recorded, counts.dead_letters) == (2, 1, 1)


def test_a_version_whose_reader_resolution_fails_is_dead_lettered_with_the_field(settings, app):
    open_customer(app, "CUST-1")
    retyped_start = usage_v2(retyped("usage_start", "string"))
    no_unit = usage_v2(lambda s: s["fields"].remove(next(f for f in s["fields"] if f["name"] == "unit")))
    no_unit = type(no_unit)(no_unit.name, 3, no_unit.parsed, no_unit.fingerprint, no_unit.source)
    publish_raw(settings, [
        (b"CUST-1", encode_with(retyped_start, usage_record("u-retyped") | {"usage_start": "2026-09-01"})),
        (b"CUST-1", encode_with(no_unit, usage_record("u-no-unit"))),
        (b"CUST-1", registry().encode(USAGE, usage_record("u-fine"))),
    ])
    process = ingest_all(settings, app, codec=SchemaRegistry([V1, retyped_start, no_unit], readers={USAGE: 1}))
    reasons = {letter.reason: letter.header("detail") for letter in read_dead_letters(settings, settings.dlq_topic)}
    assert set(reasons) == {"wrong_type", "missing_field"}
    assert "field unit" in reasons["missing_field"]
    assert process.ingest.counts.recorded == 1

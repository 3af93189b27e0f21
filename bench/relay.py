"""Relay throughput: stored ledger events -> Avro on the ledger topic, against a raw
kafka-python producer sending messages of the same sizes (key, value, headers) in the same run.

    .venv/bin/python -m bench.relay [--events 100000] [--customers 200] [--profile FILE]
"""

from __future__ import annotations

from kafka import KafkaProducer

from bench.common import Stopwatch, bench_settings, open_customers, profiled, report, say, size_options, usage_records
from consumers import kafka_clients
from consumers.collector import tune_collector
from consumers.ingest import decode_usage
from consumers.relay import ledger_messages
from eventstore.postgres import open_application
from ledger.processes import relay_process
from schemas import registry


def store_usage(app, customers: list[str], count: int, batch: int = 5000) -> None:
    codec = registry()
    records = usage_records(customers, count, prefix="relay-usage")
    for start in range(0, count, batch):
        reports = [decode_usage(codec.encode("billing.usage.UsageEvent", r)) for r in records[start : start + batch]]
        app.record_usage(reports, actor="system:bench")


def sample_messages(app, count: int) -> list[tuple[bytes, bytes, list]]:
    """What the relay sends for the first events, to size the raw producer's messages."""
    return ledger_messages(app.recorder.select_notifications(start=1, limit=count), app.mapper)


def raw_produce_rate(settings, topic: str, samples, count: int) -> float:
    """kafka-python alone, with the relay's producer settings: send `count` ready-made messages."""
    producer: KafkaProducer = kafka_clients.producer(settings)
    producer.partitions_for(topic)
    with Stopwatch() as watch:
        for n in range(count):
            key, value, headers = samples[n % len(samples)]
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush()
    producer.close()
    return count / watch.seconds


def main() -> None:
    args = size_options(__doc__, "usage events to store and relay")
    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, args.customers)
        with Stopwatch() as storing:
            store_usage(app, customers, args.events)
        total = app.recorder.max_notification_id()
        say(f"stored {total} ledger events ({args.events} usage) in {storing.seconds:.1f}s")
        kafka_clients.ensure_topics(settings, settings.ledger_topic, "raw." + settings.ledger_topic)
        process = relay_process(settings, app)
        tune_collector()  # as `ledger relay` does
        raw = raw_produce_rate(settings, "raw." + settings.ledger_topic, sample_messages(app, 1000), total)
        say(f"raw kafka-python produce: {raw:,.0f} messages/s")
        with profiled(args.profile), Stopwatch() as relaying:
            while process.step():
                pass
        published = process.relay.published
        process.close()
        app.close()
    rate = published / relaying.seconds
    ratio = rate / raw
    say(f"relay: {rate:,.0f} ledger events/s ({published} in {relaying.seconds:.1f}s); relay / raw produce = {ratio:.2f}")
    report(
        "relay_ledger_events_per_second", rate, "events/s",
        raw_produce_per_second=round(raw, 1), ratio=round(ratio, 3), events=published, target=20_000,
    )


if __name__ == "__main__":
    main()

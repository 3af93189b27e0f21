"""Relay throughput: stored ledger events -> Avro on the ledger topic, against a raw
kafka-python producer sending messages of the same sizes (key, value, headers) in the same run;
and its CPU: the relay process's (its sends, kafka-python's sender thread, its reads) per 1,000
ledger events, the part that turns stored events into messages (`ledger_messages`, no Kafka)
per 1,000 usage events, and one UsageRecorded record's Avro encoding.

    .venv/bin/python -m bench.relay [--events 100000] [--customers 200] [--profile FILE]
"""

from __future__ import annotations

import time
import timeit

from kafka import KafkaProducer

from bench.common import Stopwatch, bench_settings, open_customers, profiled, report, say, size_options, usage_records
from consumers import kafka_clients
from consumers.collector import tune_collector
from consumers.ingest import decode_usage
from consumers.ledger_events import to_ledger_record
from consumers.relay import ledger_messages
from eventstore.postgres import open_application
from ledger.processes import relay_process
from schemas import encode_with, registry


def store_usage(app, customers: list[str], count: int, batch: int = 5000) -> None:
    codec = registry()
    records = usage_records(customers, count, prefix="relay-usage")
    for start in range(0, count, batch):
        reports = [decode_usage(codec.encode("billing.usage.UsageEvent", r)) for r in records[start : start + batch]]
        app.record_usage(reports, actor="system:bench")


def sample_messages(app, count: int) -> list[tuple[bytes, bytes, list]]:
    """What the relay sends for the first events, to size the raw producer's messages."""
    return ledger_messages(app.recorder.select_notifications(start=1, limit=count), app.mapper)


def best_cpu_seconds(work, repeat: int = 5) -> float:
    """The least CPU time (this process's, all threads) of `repeat` runs: the least disturbed."""
    spent = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        spent.append(time.process_time() - started)
    return min(spent)


def message_cpu_ms(app, count: int = 5000) -> float:
    """CPU ms per 1,000 of the last `count` stored events (all usage) made into messages."""
    last = app.recorder.max_notification_id()
    notifications = app.recorder.select_notifications(start=max(1, last - count + 1), limit=count)
    return best_cpu_seconds(lambda: ledger_messages(notifications, app.mapper)) / len(notifications) * 1e6


def encode_us(app) -> float:
    """CPU µs of one UsageRecorded record's encoding (the last stored event's)."""
    (notification,) = app.recorder.select_notifications(start=app.recorder.max_notification_id(), limit=1)
    schema, record = to_ledger_record(app.mapper.to_domain_event(notification), notification.id)
    runs = 20_000
    return min(timeit.repeat(lambda: encode_with(schema, record), number=runs, repeat=5, timer=time.process_time)) / runs * 1e6


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
        messages_ms, encoding = message_cpu_ms(app), encode_us(app)
        say(f"stored events to messages: {messages_ms:.1f} ms CPU per 1,000 usage events; one UsageRecorded encoded: {encoding:.2f} µs")
        kafka_clients.ensure_topics(settings, settings.ledger_topic, "raw." + settings.ledger_topic)
        process = relay_process(settings, app)
        tune_collector()  # as `ledger relay` does
        raw = raw_produce_rate(settings, "raw." + settings.ledger_topic, sample_messages(app, 1000), total)
        say(f"raw kafka-python produce: {raw:,.0f} messages/s")
        cpu_before = time.process_time()
        with profiled(args.profile), Stopwatch() as relaying:
            while process.step():
                pass
        relay_cpu = time.process_time() - cpu_before
        published = process.relay.published
        process.close()
        app.close()
    rate = published / relaying.seconds
    ratio = rate / raw
    relay_ms = relay_cpu / published * 1e6
    say(f"relay: {rate:,.0f} ledger events/s ({published} in {relaying.seconds:.1f}s); relay / raw produce = {ratio:.2f}; "
        f"{relay_ms:.1f} ms CPU per 1,000 ledger events")
    report(
        "relay_ledger_events_per_second", rate, "events/s",
        raw_produce_per_second=round(raw, 1), ratio=round(ratio, 3), events=published, target=20_000,
        relay_cpu_ms_per_1000=round(relay_ms, 1), messages_cpu_ms_per_1000=round(messages_ms, 1),
        usage_recorded_encode_us=round(encoding, 2),
    )


if __name__ == "__main__":
    main()

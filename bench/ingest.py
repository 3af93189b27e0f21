"""End-to-end ingest throughput: Avro usage on Kafka -> the event store, against a raw
kafka-python consumer reading the same messages in the same run.

    .venv/bin/python -m bench.ingest [--events 100000] [--customers 200] [--profile FILE]

Both rates count from the first record handed over to the last: the group join of the
ingest consumer (seconds on the embedded broker) is not part of the ingest rate.
"""

from __future__ import annotations

import time
from pathlib import Path



from bench.common import raw_consume_rate, Stopwatch, bench_settings, open_customers, profiled, report, say, size_options, usage_records
from ledger import kafka
from ledger.processes import ingest_process
from ledger.store import open_application
from schemas import registry


def usage_messages(customers: list[str], count: int) -> list[tuple[bytes, bytes]]:
    codec = registry()
    return [
        (record["customer_id"].encode(), codec.encode("billing.usage.UsageEvent", record))
        for record in usage_records(customers, count)
    ]


def publish(settings, messages) -> None:
    producer = kafka.producer(settings, linger_ms=20, batch_size=1024 * 1024)
    for key, value in messages:
        producer.send(settings.usage_topic, key=key, value=value)
    producer.flush()
    producer.close()


def ingest_rate(settings, app, count: int, profile: Path | None) -> tuple[float, object]:
    process = ingest_process(settings, app)
    handle = process.member.handle_batch
    times: list[float] = []
    handling = [0.0]

    def timed(source, records):
        times.append(time.perf_counter())
        try:
            return handle(source, records)
        finally:
            handling[0] += time.perf_counter() - times[-1]

    process.member.handle_batch = timed
    with profiled(profile):
        while process.ingest.counts.consumed < count:
            process.step()
    elapsed = time.perf_counter() - times[0]
    say(f"ingest: {len(times)} batches; {handling[0]:.2f}s of {elapsed:.2f}s in handling them, the rest in fetching")
    counts = process.ingest.counts
    process.close()
    return count / elapsed, counts


def main() -> None:
    args = size_options(__doc__, "usage messages to publish and ingest")
    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, args.customers)
        messages = usage_messages(customers, args.events)
        kafka.ensure_topics(settings)
        with Stopwatch() as publishing:
            publish(settings, messages)
        say(f"published {args.events} usage events in {publishing.seconds:.1f}s")
        raw = raw_consume_rate(settings, settings.usage_topic, args.events)
        say(f"raw kafka-python consume: {raw:,.0f} messages/s")
        rate, counts = ingest_rate(settings, app, args.events, args.profile)
        say(f"ingest: {rate:,.0f} usage events/s ({counts})")
        app.close()
    ratio = rate / raw
    say(f"ingest / raw consume = {ratio:.2f} (target >= 0.6); target >= 20,000/s")
    report(
        "ingest_usage_events_per_second", rate, "events/s",
        raw_consume_per_second=round(raw, 1), ratio=round(ratio, 3), events=args.events,
        recorded=counts.recorded, target=20_000, target_ratio=0.6,
    )


if __name__ == "__main__":
    main()

"""End-to-end ingest throughput: Avro usage on Kafka -> the event store, by one or several
ingest processes in one consumer group, against a raw kafka-python consumer reading the
same messages in the same run.

    .venv/bin/python -m bench.ingest [--events 100000] [--customers 200] [--processes 2] [--profile FILE]

Several processes are how ingest scales (the design's path: members of one group share
the partitions); the default is one per core. Each process is a real `ledger ingest`
member (its own application, consumer and connections). They join the group before the
usage is published, so the rate counts from the first batch any of them handles to the
last one committed, with no group join inside it. The raw baseline is one consumer.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import replace
from pathlib import Path

from bench.common import (
    Stopwatch,
    bench_settings,
    open_customers,
    profiled,
    raw_consume_rate,
    report,
    resident_kib,
    say,
    size_options,
    usage_records,
)
from consumers import kafka_clients
from consumers.collector import tune_collector
from eventstore.postgres import open_application
from ledger.config import Settings
from ledger.processes import ingest_process
from schemas import registry


def usage_messages(customers: list[str], count: int) -> list[tuple[bytes, bytes]]:
    codec = registry()
    return [
        (record["customer_id"].encode(), codec.encode("billing.usage.UsageEvent", record))
        for record in usage_records(customers, count)
    ]


def publish(settings, messages) -> None:
    producer = kafka_clients.producer(settings, linger_ms=20, batch_size=1024 * 1024)
    for key, value in messages:
        producer.send(settings.usage_topic, key=key, value=value)
    producer.flush()
    producer.close()


def ingest_member(settings: Settings, count: int, profile: Path | None, joined, results) -> None:
    """One ingest process: join the group, then ingest until the group has consumed `count`;
    report when this member's first batch started and its last ended (wall clock, then its own
    CPU clock: PostgreSQL's CPU is not in it), its counts, and its resident memory once it had
    joined, at its peak and at the end (KiB)."""
    app = open_application(settings)
    process = ingest_process(settings, app)
    tune_collector()  # as `ledger ingest` does
    handle = process.member.handle_batch
    spans: list[float] = []

    def timed(source, records):
        started = (time.perf_counter(), time.process_time())
        try:
            return handle(source, records)
        finally:
            spans[:] = [*(spans[:2] or started), time.perf_counter(), time.process_time()]

    process.member.handle_batch = timed
    while not process.member.consumer.assignment():
        process.step()
    joined_kib = resident_kib()
    joined.put(os.getpid())
    with profiled(profile):
        while sum(row["consumed"] for row in app.recorder.ingest_counts()) < count:
            while process.step():
                pass
    memory = {"joined": joined_kib, "peak": resident_kib(measure="VmHWM"), "end": resident_kib()}
    results.put((spans, process.ingest.counts, memory))
    process.close()
    app.close()


def ingest_rate(settings: Settings, messages, processes: int, profile: Path | None) -> tuple[float, float, list, list]:
    """(usage events/s, the members' CPU seconds, their counts, their memory)."""
    context = multiprocessing.get_context("spawn")  # no inherited connections
    joined, results = context.Queue(), context.Queue()
    members = [
        context.Process(
            target=ingest_member,
            args=(settings, len(messages), profile and profile.with_suffix(f".{n}{profile.suffix}"), joined, results),
        )
        for n in range(processes)
    ]
    for member in members:
        member.start()
    for _ in members:
        joined.get(timeout=120)
    # Every member has partitions now: publishing starts the race.
    publish(settings, messages)
    reported = [results.get(timeout=600) for _ in members]
    for member in members:
        member.join(timeout=60)
    spans = [span for span, _, _ in reported if span]
    elapsed = max(end for _, _, end, _ in spans) - min(start for start, _, _, _ in spans)
    cpu = sum(cpu_end - cpu_start for _, cpu_start, _, cpu_end in spans)
    return len(messages) / elapsed, cpu, [counts for _, counts, _ in reported], [memory for _, _, memory in reported]


def main() -> None:
    options = size_options(__doc__, "usage messages to publish and ingest", processes=True)
    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, options.customers)
        app.close()
        messages = usage_messages(customers, options.events)
        kafka_clients.ensure_topics(settings)
        raw_topic = "raw." + settings.usage_topic
        kafka_clients.ensure_topics(settings, raw_topic)
        with Stopwatch() as publishing:
            publish(replace(settings, usage_topic=raw_topic), messages)
        say(f"published {options.events} usage events in {publishing.seconds:.1f}s")
        raw = raw_consume_rate(settings, raw_topic, options.events)
        say(f"raw kafka-python consume: {raw:,.0f} messages/s")
        rate, cpu, counts, memory = ingest_rate(settings, messages, options.processes, options.profile)
        say(f"ingest: {rate:,.0f} usage events/s with {options.processes} process(es) ({counts})")
        say(f"ingest CPU: {cpu * 1e6 / options.events:,.1f} ms per 1,000 usage events (the members' own process time, not PostgreSQL's)")
        for m in memory:
            say(f"  member resident: {m['joined'] / 1024:.0f} MiB once joined, {m['peak'] / 1024:.0f} MiB at its peak, "
                f"{m['end'] / 1024:.0f} MiB at the end")
    recorded = sum(c.recorded for c in counts)
    ratio = rate / raw
    say(f"ingest / raw consume = {ratio:.2f} (target >= 0.6); target >= 20,000/s")
    report(
        "ingest_usage_events_per_second", rate, "events/s",
        raw_consume_per_second=round(raw, 1), ratio=round(ratio, 3), events=options.events,
        recorded=recorded, processes=options.processes, cpu_ms_per_1000_events=round(cpu * 1e6 / options.events, 2), target=20_000, target_ratio=0.6,
        member_peak_mib=[round(m["peak"] / 1024, 1) for m in memory],
    )


if __name__ == "__main__":
    main()

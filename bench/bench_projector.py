"""Projector throughput: ledger events on Kafka -> the read models, against a raw kafka-python
consumer reading the same messages (same consumer settings) in the same run.

    .venv/bin/python -m bench.bench_projector [--events 100000] [--customers 200] [--profile FILE]

Both rates count from the first record handed over to the last: the projector's group
join (seconds on the embedded broker) is not part of its rate.
"""

from __future__ import annotations

import time

from bench.common import bench_settings, open_customers, profiled, raw_consume_rate, report, say, size_options
from bench.relay import store_usage
from consumers import kafka_clients
from consumers.collector import tune_collector
from eventstore.postgres import open_application
from ledger.processes import projector_process, relay_process


def fill_ledger_topic(settings, events: int, customers: int) -> int:
    app = open_application(settings)
    store_usage(app, open_customers(app, customers), events)
    relay = relay_process(settings, app)
    while relay.step():
        pass
    relay.close()
    total = relay.relay.published
    app.close()
    return total


def projector_rate(settings, total: int, profile) -> tuple[float, int, float]:
    """(ledger events/s, events applied, the projector's own CPU seconds) from the first
    batch handed over to the last (PostgreSQL's CPU is not in it)."""
    process = projector_process(settings)
    tune_collector()  # as `ledger project` does
    handle, started = process.member.handle_batch, []

    def timed(source, records):
        started[:] = started or [time.perf_counter(), time.process_time()]  # from the first batch handed over
        return handle(source, records)

    process.member.handle_batch = timed
    handled = 0
    with profiled(profile):
        while handled < total or not process.idle():
            handled += process.step()
        seconds = time.perf_counter() - started[0]
        cpu = time.process_time() - started[1]
    applied = process.projector.applied
    process.close()
    return handled / seconds, applied, cpu


def main() -> None:
    args = size_options(__doc__, "usage events to store, relay and project")
    with bench_settings() as settings:
        kafka_clients.ensure_topics(settings, settings.ledger_topic)
        total = fill_ledger_topic(settings, args.events, args.customers)
        say(f"{total:,} ledger events on {settings.ledger_topic} ({args.events:,} usage, {args.customers} customers)")
        raw = raw_consume_rate(settings, settings.ledger_topic, total)
        say(f"raw kafka-python consume: {raw:,.0f} messages/s")
        rate, applied, cpu = projector_rate(settings, total, args.profile)
    ratio = rate / raw
    say(f"projector: {rate:,.0f} ledger events/s ({applied:,} applied); projector / raw consume = {ratio:.2f}")
    say(f"projector CPU: {cpu * 1e6 / total:,.1f} ms per 1,000 ledger events (its own process time, not PostgreSQL's)")
    report(
        "projector_ledger_events_per_second", rate, "events/s",
        raw_consume_per_second=round(raw, 1), ratio=round(ratio, 3), events=total,
        cpu_ms_per_1000_events=round(cpu * 1e6 / total, 2), target=20_000, target_ratio=0.7,
    )


if __name__ == "__main__":
    main()

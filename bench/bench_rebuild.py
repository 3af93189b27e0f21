"""Rebuild throughput: `ledger replay balances --source store` (the notification log converted
as the relay converts it, folded, into a shadow swapped in), against reading the same rows of
the log without converting them, in the same run.

    .venv/bin/python -m bench.bench_rebuild [--events 200000] [--customers 200] [--workers N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg

from bench.common import bench_settings, open_customers, profiled, report, say
from bench.relay import store_usage
from eventstore.postgres import open_application
from readside.event_log import max_notification_id, read_log
from readside.replay import CHUNK, replay


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="usage events to store, then rebuild from")
    parser.add_argument("--customers", type=int, default=200, help="customers the usage is spread over")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="converting processes (default: CPUs)")
    parser.add_argument("--profile", type=Path, help="cProfile the rebuild's own process to this file")
    return parser.parse_args()


def raw_read_rate(settings) -> float:
    """The log's rows as they come from PostgreSQL, in the rebuild's chunks, nothing else."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        through = max_notification_id(conn, settings.store_schema)
        started = time.perf_counter()
        rows = sum(len(chunk) for chunk in read_log(conn, settings.store_schema, 0, through, CHUNK))
        return rows / (time.perf_counter() - started)


def main() -> None:
    args = options()
    with bench_settings() as settings:
        app = open_application(settings)
        store_usage(app, open_customers(app, args.customers), args.events)
        app.close()
        raw = raw_read_rate(settings)
        say(f"raw read of the notification log: {raw:,.0f} rows/s")
        with profiled(args.profile):
            result = replay(settings, "balances", "store", workers=args.workers)
    ratio = result.rate / raw
    say(f"rebuild from the store: {result.rate:,.0f} events/s ({result.events:,} in {result.seconds:.1f}s, "
        f"{args.workers} workers); rebuild / raw read = {ratio:.2f}")
    report(
        "rebuild_from_store_events_per_second", result.rate, "events/s",
        raw_read_per_second=round(raw, 1), ratio=round(ratio, 3), events=result.events, workers=args.workers,
        target=50_000,
    )


if __name__ == "__main__":
    main()

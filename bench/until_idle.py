"""How long `ledger ingest|relay|project --until-idle` take with a handful of events: what a
script or a test waits for. Each stage is a `ledger` process of its own, timed from its start
to its exit (Python starting and importing included), with its CPU time beside it.

    .venv/bin/python -m bench.until_idle [--events 5] [--runs 5]

Each run publishes the events to new topics in a new database, then runs the three stages in
turn and the projector once more with nothing left to do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from bench.common import bench_settings, open_customers, report, say, usage_records
from bench.freshness import environment
from consumers import kafka_clients
from eventstore.postgres import open_application
from schemas import registry

STEPS = (("ingest", "ingest"), ("relay", "relay"), ("project", "project"), ("project", "project, nothing to do"))
TARGET_SECONDS = 1.5


def publish(settings, customers: list[str], count: int) -> None:
    codec, producer = registry(), kafka_clients.producer(settings)
    for record in usage_records(customers, count, prefix="until-idle"):
        producer.send(settings.usage_topic, key=record["customer_id"].encode(), value=codec.encode("billing.usage.UsageEvent", record))
    producer.flush()
    producer.close()


def timed(command: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one `ledger <command> --until-idle`."""
    before = os.times()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ledger.cli", command, "--until-idle"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def one_run(events: int) -> dict[str, tuple[float, float]]:
    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, events)
        app.close()
        kafka_clients.ensure_topics(settings)
        publish(settings, customers, events)
        env = environment(settings)
        return {label: timed(command, env) for command, label in STEPS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5, help="usage events published before the stages run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run(args.events) for _ in range(args.runs)]
    figures = {}
    for _, label in STEPS:
        walls, cpus = [run[label][0] for run in runs], [run[label][1] for run in runs]
        figures[label] = {"min": round(min(walls), 2), "median": round(statistics.median(walls), 2),
                          "max": round(max(walls), 2), "cpu_median": round(statistics.median(cpus), 2)}
        say(f"{label:24} {min(walls):.2f}-{max(walls):.2f} s (median {statistics.median(walls):.2f} s), "
            f"CPU {statistics.median(cpus):.2f} s")
    slowest = max(f["max"] for f in figures.values())
    report("until_idle_slowest_ms", slowest * 1000, "ms", events=args.events, runs=args.runs, stages=figures,
           target=TARGET_SECONDS, met=slowest < TARGET_SECONDS)


if __name__ == "__main__":
    main()

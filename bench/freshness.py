"""Freshness under steady load: how long after a usage event is published its customer's
`customer_balances` row shows it, with ingest, relay and projector as separate processes
(`ledger ingest`, `ledger relay`, `ledger project`, as in docker-compose), and whether any of
them grows.

    .venv/bin/python -m bench.freshness [--rate 5000] [--seconds 300] [--customers 200]

A publisher process sends usage at a steady rate (in ticks of 10 ms). Some of it are
samples: usage of probe customers, who get nothing else, so that the n-th sample of a
probe is shown once the probe's row counts n usage lines. This process polls those rows
(every POLL_SECONDS) and takes, for each sample, the time from its send to the first poll
that shows it (the producer's linger is part of it; the poll adds up to POLL_SECONDS).

Halfway, a second `ledger ingest` joins the group: the samples sent in the REBALANCE_SECONDS
after it started are reported apart. Each process's resident memory (VmRSS) is read after
the warm-up and at the end; growth within 10 % is the target.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.common import bench_settings, open_customers, report, resident_kib, say, usage_records
from consumers import kafka_clients
from eventstore.postgres import open_application
from ledger.config import Settings
from schemas import registry

POLL_SECONDS = 0.01
TICK_SECONDS = 0.01
REBALANCE_SECONDS = 30.0
PROBES = 20
SAMPLES_PER_SECOND = 20
PROCESSES = ("ingest", "relay", "project")
P99_TARGET = 1.0
GROWTH_TARGET = 0.10


def environment(settings: Settings) -> dict[str, str]:
    """What a `ledger` process needs to use this run's database, topics and group names (the
    tests' own mapping, and the benchmark's partition count)."""
    from tests.conftest import environment_of

    return {**environment_of(settings), "LEDGER_TOPIC_PARTITIONS": str(settings.topic_partitions)}


def start(command: str, env: dict[str, str], logs: Path) -> subprocess.Popen:
    log = (logs / f"{command}-{time.monotonic_ns()}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "ledger.cli", command], env=env, stdout=log, stderr=log,
                            start_new_session=True)


def publish(settings: Settings, customers: list[str], probes: list[str], rate: int, seconds: float,
            samples: multiprocessing.Queue, started: multiprocessing.Event) -> None:
    """The publisher process: `rate` usage events a second for `seconds`, of which
    SAMPLES_PER_SECOND go to the probes, each sample put on `samples` as (probe, n, sent at)."""
    codec, producer = registry(), kafka_clients.producer(settings)
    per_tick = rate * TICK_SECONDS
    sample_every = max(1, round(rate / SAMPLES_PER_SECOND))
    # Usage records are made in slices: a record's content does not matter, only its id.
    made, sent, probe_counts = 0, 0, dict.fromkeys(probes, 0)
    slice_records: list[dict] = []
    started.set()
    begin = time.monotonic()
    while (now := time.monotonic()) - begin < seconds:
        due = math.floor((now - begin) / TICK_SECONDS * per_tick) + 1
        while sent < due:
            if sent % sample_every == 0:
                probe = probes[(sent // sample_every) % len(probes)]
                (record,) = usage_records([probe], 1, prefix=f"sample-{sent}")
                producer.send(settings.usage_topic, key=probe.encode(), value=codec.encode("billing.usage.UsageEvent", record))
                probe_counts[probe] += 1
                samples.put((probe, probe_counts[probe], time.monotonic()))
            else:
                if not slice_records:
                    slice_records = usage_records(customers, 10_000, prefix=f"load-{made}")
                    made += 10_000
                record = slice_records.pop()
                producer.send(settings.usage_topic, key=record["customer_id"].encode(),
                              value=codec.encode("billing.usage.UsageEvent", record))
            sent += 1
        time.sleep(max(0.0, begin + (sent / per_tick) * TICK_SECONDS - time.monotonic()))
    producer.flush()
    producer.close()
    samples.put(None)


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        if not self.seconds:
            return {"samples": 0}
        ordered = sorted(self.seconds)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

        return {"samples": len(ordered), "p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1], 3)}


def shown_usage_lines(conn: psycopg.Connection, settings: Settings, probes: list[str]) -> dict[str, int]:
    try:
        rows = conn.execute(
            f"SELECT customer_id, usage_lines FROM {settings.read_schema}.customer_balances WHERE customer_id = ANY(%s)",
            (probes,),
        ).fetchall()
    except psycopg.errors.UndefinedTable:  # before the projector created it
        return {}
    return dict(rows)


def watch(settings, probes, samples, counted_from: float, rebalance_at, tick, deadline: float) -> tuple:
    """Resolve each sample as its probe's row shows it, calling `tick` on every poll; returns
    the latencies of the samples sent after `counted_from` outside and inside the rebalance
    window, and how many samples no row showed by `deadline`."""
    steady, rebalance = Latencies(), Latencies()
    waiting: list[tuple[str, int, float]] = []
    published = False
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        while True:
            tick()
            with contextlib.suppress(queue.Empty):
                while not published:
                    item = samples.get_nowait()
                    if item is None:
                        published = True
                    else:
                        waiting.append(item)
            shown, now = shown_usage_lines(conn, settings, probes), time.monotonic()
            still = []
            for probe, n, sent_at in waiting:
                if shown.get(probe, 0) < n:
                    still.append((probe, n, sent_at))
                elif sent_at >= counted_from:
                    at = rebalance_at()
                    window = rebalance if at is not None and at <= sent_at < at + REBALANCE_SECONDS else steady
                    window.seconds.append(now - sent_at)
            waiting = still
            if published and (not waiting or now > deadline):
                return steady, rebalance, len(waiting)
            time.sleep(POLL_SECONDS)


STAGES = """
SELECT (SELECT coalesce(sum(consumed), 0) FROM event_store.ledger_ingest_counts),
       (SELECT coalesce(max(notification_id), 0) FROM event_store.ledger_events),
       (SELECT coalesce(max(notification_id), 0) FROM event_store.ledger_tracking WHERE application_name LIKE 'relay:%%'),
       (SELECT coalesce(max(last_notification_id), 0) FROM {read}.customer_balances)"""


class StageLog:
    """Every STAGE_SECONDS, where each stage stands: usage consumed by the ingest, the last
    event stored, the last relayed, the last projected; and each process's resident memory.
    A stage that falls behind is where the latency goes; a process whose memory keeps
    rising after it fell behind holds more the more there is to do."""

    STAGE_SECONDS = 5.0

    def __init__(self, settings: Settings, rate: int, begin: float, processes: dict[str, subprocess.Popen]):
        self.conn = psycopg.connect(settings.database_url, autocommit=True)
        self.sql, self.rate, self.begin, self.next_at = STAGES.format(read=settings.read_schema), rate, begin, begin
        self.processes = processes

    def tick(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.STAGE_SECONDS
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            consumed, stored, relayed, projected = self.conn.execute(self.sql).fetchone()
            say(f"  {now - self.begin:5.0f} s: published ~{(now - self.begin) * self.rate:,.0f}, ingested {consumed:,}, "
                f"stored to #{stored:,}, relayed to #{relayed:,}, projected to #{projected:,}; MiB "
                + " ".join(f"{name} {resident_kib(p.pid) / 1024:.0f}" for name, p in self.processes.items() if p.poll() is None))


def memory_line(name: str, start_kib: int, end_kib: int) -> dict:
    return {"process": name, "start_mib": round(start_kib / 1024, 1), "end_mib": round(end_kib / 1024, 1),
            "growth": round(end_kib / start_kib - 1, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000, help="usage events published per second")
    parser.add_argument("--seconds", type=float, default=300, help="how long to publish, after the warm-up")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of load before memory and latency count")
    parser.add_argument("--customers", type=int, default=200, help="customers the load is spread over")
    parser.add_argument("--no-rebalance", action="store_true", help="no second ingest member halfway")
    parser.add_argument("--logs", type=Path, default=Path("/tmp"), help="where the processes' output goes")
    args = parser.parse_args()

    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, args.customers + PROBES)
        app.close()
        customers, probes = customers[PROBES:], customers[:PROBES]
        kafka_clients.ensure_topics(settings)
        env = environment(settings)
        processes = {name: start(name, env, args.logs) for name in PROCESSES}
        second_ingest: subprocess.Popen | None = None
        context = multiprocessing.get_context("spawn")
        samples, started = context.Queue(), context.Event()
        total = args.warmup + args.seconds
        publisher = context.Process(target=publish, args=(settings, customers, probes, args.rate, total, samples, started))
        try:
            publisher.start()
            started.wait(60)
            begin = time.monotonic()
            say(f"publishing {args.rate:,} usage events/s for {args.warmup:.0f} s of warm-up and {args.seconds:.0f} s")
            rebalance: dict[str, float] = {}
            stages = StageLog(settings, args.rate, begin, processes)
            memory_start: dict[str, int] = {}

            def rebalance_at() -> float | None:
                return rebalance.get("at")

            def on_the_way() -> None:
                """Memory after the warm-up; the second ingest member halfway (from the watcher's loop)."""
                nonlocal second_ingest
                stages.tick()
                elapsed = time.monotonic() - begin
                if not memory_start and elapsed >= args.warmup:
                    memory_start.update({name: resident_kib(p.pid) for name, p in processes.items()})
                    say("warm-up done: " + ", ".join(f"{n} {k / 1024:.0f} MiB" for n, k in memory_start.items()))
                if not args.no_rebalance and second_ingest is None and elapsed >= args.warmup + args.seconds / 2:
                    second_ingest = start("ingest", env, args.logs)
                    rebalance["at"] = time.monotonic()
                    say("a second ingest member started")

            steady, during, unseen = watch(settings, probes, samples, begin + args.warmup, rebalance_at, on_the_way,
                                           deadline=begin + total + 60)
            memory_end = {name: resident_kib(p.pid) for name, p in processes.items()}
        finally:
            publisher.join(timeout=30)
            for process in [*processes.values(), second_ingest]:
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in [*processes.values(), second_ingest]:
                if process is not None:
                    process.wait(timeout=60)

    memory = [memory_line(name, memory_start[name], memory_end[name]) for name in PROCESSES]
    steady_figures, rebalance_figures = steady.summary(), during.summary()
    say(f"freshness at {args.rate:,} usage events/s over {args.seconds:.0f} s (publish to customer_balances row):")
    say(f"  steady:    {figures_text(steady_figures)}")
    say(f"  rebalance: {figures_text(rebalance_figures)} (samples sent within {REBALANCE_SECONDS:.0f} s of a second ingest member starting)")
    say(f"  never shown: {unseen}")
    for line in memory:
        say(f"  {line['process']:8} resident {line['start_mib']:7.1f} MiB after warm-up, {line['end_mib']:7.1f} MiB at the end ({line['growth']:+.1%})")
    report(
        "freshness_p99_seconds", steady_figures.get("p99", float("nan")), "s",
        rate=args.rate, seconds=args.seconds, steady=steady_figures, rebalance=rebalance_figures, unseen=unseen,
        memory=memory, target_p99=P99_TARGET, target_growth=GROWTH_TARGET,
        met=bool(steady_figures.get("p99", math.inf) < P99_TARGET and unseen == 0
                 and all(line["growth"] <= GROWTH_TARGET for line in memory)),
    )


def figures_text(figures: dict) -> str:
    if not figures.get("samples"):
        return "no samples"
    return f"p50 {figures['p50']:.3f} s, p99 {figures['p99']:.3f} s, max {figures['max']:.3f} s ({figures['samples']} samples)"


if __name__ == "__main__":
    main()

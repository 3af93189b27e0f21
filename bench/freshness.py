"""Freshness under steady load: how long after a usage event is published its customer's
`customer_balances` row shows it, with ingest, relay and projector as separate processes
(`ledger ingest`, `ledger relay`, `ledger project`, as in docker-compose), and whether any of
them grows.

    .venv/bin/python -m bench.freshness [--rate 5000] [--seconds 300] [--rebalance-seconds 60]

A publisher process sends usage at a steady rate (in ticks of 10 ms). Some of it are
samples: usage of probe customers, who get nothing else, so that the n-th sample of a
probe is shown once the probe's row counts n usage lines. This process polls those rows
(every POLL_SECONDS) and takes, for each sample, the time from its send to the first poll
that shows it (the producer's linger is part of it; the poll adds up to POLL_SECONDS).

The run has three phases, reported apart (and the whole run besides):
- the warm-up (`--warmup`): not counted;
- the steady phase (`--seconds`): nobody joins or leaves; its latencies, each process's
  resident memory (VmRSS: at its start, its peak, at its end; growth within 10 % is the
  target) and each process's CPU per 1,000 events;
- the rebalance phase (`--rebalance-seconds`): a second `ledger ingest` starts as it begins,
  and the publisher goes on at the same rate; its latencies, how long until they were back
  under the target, and the memory the catching up took.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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

from bench.common import (
    bench_settings,
    open_customers,
    report,
    resident_kib,
    say,
    usage_records,
)
from bench.process_cpu import broker_pid, postmaster_pid, tree_cpu_seconds
from consumers import kafka_clients
from eventstore.postgres import open_application
from ledger.config import Settings
from schemas import registry

POLL_SECONDS = 0.01
TICK_SECONDS = 0.01
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


# The publisher sends in ticks of 10 ms; a linger of 50 ms makes a produce request, and a
# record batch a partition, of five ticks' messages. The embedded broker's CPU goes with
# requests (measured, 5,000 messages/s for 20 s, nothing consuming: 1.9 s with 20 ms, 1.1 s
# with 50), and each fetch of a partition lists every batch stored in it, so that its cost
# grows through a run with the batches stored (docs/performance.md: with 20 ms the steady
# p99 went over 1 s after some 200 s of a 300 s run). A sample's latency counts its linger
# (it is stamped when handed to the producer): about 25 ms at p50.
PUBLISHER_LINGER_MS = 50
ID_DIGITS = 12  # usage ids of one width, so that one encoded template per customer serves them all


class UsageMessages:
    """Distinct encoded usage events, cheaply: each customer's event is encoded once with a
    placeholder id, and each message splices a new id of the same width into it (an Avro
    string is its length and its bytes). Encoding every event costs the publisher about half
    a core at 5,000/s, taken from the pipeline it measures; splicing, next to nothing."""

    def __init__(self, codec, customers: list[str]):
        placeholder = "@" * (len("load-") + ID_DIGITS)
        self.parts: dict[str, tuple[bytes, bytes]] = {}
        for customer in customers:
            (record,) = usage_records([customer], 1)
            record["event_id"] = placeholder
            head, tail = codec.encode("billing.usage.UsageEvent", record).split(placeholder.encode())
            self.parts[customer] = (head, tail)

    def encoded(self, customer: str, kind: str, n: int) -> bytes:
        """Usage event `n` of a `kind` (four letters: "load", "smpl", "redy") for the customer."""
        head, tail = self.parts[customer]
        return head + f"{kind}-{n:0{ID_DIGITS}d}".encode() + tail


@functools.cache
def librdkafka_installed() -> bool:
    """confluent-kafka (the `bench` extra) imports: the publisher sends with librdkafka."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return False
    return True


def publisher_client() -> str:
    """The client the publisher sends with, as the run prints and reports it."""
    return "librdkafka" if librdkafka_installed() else "kafka-python"


class UsageProducer:
    """The publisher's producer: librdkafka's (confluent-kafka, the `bench` extra) where it is
    installed, else the project's kafka-python producer. With kafka-python, publisher and
    broker together cost some 25 µs a message more (measured twice, 5,000 messages/s for
    10 s, 20 ms linger: the publisher 3.0 and 3.7 s of CPU against 2.0 and 1.8 s, the broker
    0.3 and 0.4 s against 0.6 and 0.7 s): an eighth of a core at 5,000/s, taken from the
    pipeline it measures."""

    def __init__(self, settings: Settings):
        if not librdkafka_installed():
            producer = kafka_clients.producer(settings, linger_ms=PUBLISHER_LINGER_MS)
            self.send = lambda topic, key, value: producer.send(topic, key=key, value=value)
            self.serve = lambda: None
            self.close = lambda: (producer.flush(), producer.close())
            return
        from confluent_kafka import Producer

        producer = Producer({
            "bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True, "acks": "all",
            "linger.ms": PUBLISHER_LINGER_MS, "partitioner": "murmur2_random",  # kafka-python's partitions
        })
        self.send = lambda topic, key, value: producer.produce(topic, value=value, key=key)
        self.serve = lambda: producer.poll(0)  # its delivery reports, which nothing waits for
        self.close = lambda: producer.flush(60)


def publish(settings: Settings, customers: list[str], probes: list[str], rate: int, seconds: float,
            samples: multiprocessing.Queue, started: multiprocessing.Event) -> None:
    """The publisher process: `rate` usage events a second for `seconds`, of which
    SAMPLES_PER_SECOND go to the probes, each sample put on `samples` as (probe, n, sent at);
    at the end its own CPU seconds, as ("publisher", seconds)."""
    producer = UsageProducer(settings)
    messages = UsageMessages(registry(), customers + probes)
    per_tick = rate * TICK_SECONDS
    sample_every = max(1, round(rate / SAMPLES_PER_SECOND))
    sent, probe_counts, send, topic = 0, dict.fromkeys(probes, 0), producer.send, settings.usage_topic
    keys = {customer: customer.encode() for customer in customers + probes}
    started.set()
    begin = time.monotonic()
    while (now := time.monotonic()) - begin < seconds:
        due = math.floor((now - begin) / TICK_SECONDS * per_tick) + 1
        while sent < due:
            if sent % sample_every == 0:
                probe = probes[(sent // sample_every) % len(probes)]
                send(topic, keys[probe], messages.encoded(probe, "smpl", sent))
                probe_counts[probe] += 1
                samples.put((probe, probe_counts[probe], time.monotonic()))
            else:
                customer = customers[sent % len(customers)]
                send(topic, keys[customer], messages.encoded(customer, "load", sent))
            sent += 1
        producer.serve()
        # Sleep to the next tick, not to the next message's time: woken for every message
        # (5,000 times a second), the publisher took 40 µs of CPU a message, against 2 for
        # the sending itself, a fifth of a core taken from the pipeline it measures.
        ticks = math.floor((time.monotonic() - begin) / TICK_SECONDS) + 1
        time.sleep(max(0.0, begin + ticks * TICK_SECONDS - time.monotonic()))
    producer.close()
    samples.put(("publisher", time.process_time()))
    samples.put(None)


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # each sample's send, in the same order

    def add(self, sent_at: float, latency: float) -> None:
        self.sent_at.append(sent_at)
        self.seconds.append(latency)

    def summary(self) -> dict:
        if not self.seconds:
            return {"samples": 0}
        ordered = sorted(self.seconds)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

        return {"samples": len(ordered), "p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1], 3)}

    def back_under(self, target: float, since: float) -> float | None:
        """Seconds from `since` to the send of the first sample from which every later one was
        shown within `target` (None if the last one was not)."""
        ordered = sorted(zip(self.sent_at, self.seconds))
        if not ordered or ordered[-1][1] >= target:
            return None
        last_late = max((n for n, (_, latency) in enumerate(ordered) if latency >= target), default=-1)
        return round(max(0.0, ordered[last_late + 1][0] - since), 1)


class Worst:
    """The slowest sample shown since the last stage line: when in the run the tail happens."""

    def __init__(self):
        self.latency: float | None = None

    def note(self, latency: float) -> None:
        self.latency = latency if self.latency is None else max(self.latency, latency)

    def take(self) -> str:
        taken, self.latency = self.latency, None
        return "none shown" if taken is None else f"{taken:.2f} s"


WORST = Worst()


def shown_usage_lines(conn: psycopg.Connection, settings: Settings, probes: list[str]) -> dict[str, int]:
    try:
        rows = conn.execute(
            f"SELECT customer_id, usage_lines FROM {settings.read_schema}.customer_balances WHERE customer_id = ANY(%s)",
            (probes,),
        ).fetchall()
    except psycopg.errors.UndefinedTable:  # before the projector created it
        return {}
    return dict(rows)


def watch(settings, probes, samples, phase_of, tick, deadline: float, published_by) -> tuple[dict, int]:
    """Resolve each sample as its probe's row shows it, calling `tick` on every poll and
    `published_by` once with the publisher's CPU seconds when it has sent everything;
    returns the latencies of the samples by the phase `phase_of` gives their send (None:
    not counted), and how many samples no row showed by `deadline`."""
    phases: dict[str, Latencies] = {}
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
                    elif item[0] == "publisher":  # its own CPU seconds, sent last
                        published_by(item[1])
                    else:
                        waiting.append(item)
            shown, now = shown_usage_lines(conn, settings, probes), time.monotonic()
            still = []
            for probe, n, sent_at in waiting:
                if shown.get(probe, 0) < n:
                    still.append((probe, n, sent_at))
                    continue
                WORST.note(now - sent_at)
                if (phase := phase_of(sent_at)) is not None:
                    phases.setdefault(phase, Latencies()).add(sent_at, now - sent_at)
            waiting = still
            if published and (not waiting or now > deadline):
                return phases, len(waiting)
            time.sleep(POLL_SECONDS)


def wait_until_running(settings: Settings, probe: str, processes: dict[str, subprocess.Popen], deadline_seconds: float) -> float:
    """Publish one usage event and wait until its balance row shows it: every process has
    started, joined its group and set up its tables. Without this the load would start while
    the members join (several seconds on the embedded broker), and the measurement would
    begin with a backlog that says nothing about a running pipeline. Returns the seconds it took."""
    producer, begin = kafka_clients.producer(settings), time.monotonic()
    producer.send(settings.usage_topic, key=probe.encode(), value=UsageMessages(registry(), [probe]).encoded(probe, "redy", 0))
    producer.flush()
    producer.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        while shown_usage_lines(conn, settings, [probe]).get(probe, 0) < 1:
            if time.monotonic() - begin > deadline_seconds or any(p.poll() is not None for p in processes.values()):
                raise SystemExit(f"the pipeline did not show a first usage event within {deadline_seconds:.0f} s "
                                 "(or a process stopped): see the processes' logs")
            time.sleep(POLL_SECONDS)
    return time.monotonic() - begin


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

    def __init__(self, settings: Settings, rate: int, begin: float, seconds: float, processes: dict[str, subprocess.Popen]):
        self.conn = psycopg.connect(settings.database_url, autocommit=True)
        self.sql, self.rate, self.begin, self.next_at = STAGES.format(read=settings.read_schema), rate, begin, begin
        self.seconds, self.processes = seconds, processes  # how long the publisher publishes

    def positions(self) -> dict[str, int]:
        """Usage events published (as due by the rate) and consumed by the ingest; the last
        event stored, relayed, projected."""
        published = round(min(time.monotonic() - self.begin, self.seconds) * self.rate)
        row = self.conn.execute(self.sql).fetchone()
        return {"published": published} | dict(zip(("consumed", "stored", "relayed", "projected"), map(int, row)))

    def tick(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.STAGE_SECONDS
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            published, consumed, stored, relayed, projected = self.positions().values()
            say(f"  {now - self.begin:5.0f} s: published ~{published:,}, ingested {consumed:,}, "
                f"stored to #{stored:,}, relayed to #{relayed:,}, projected to #{projected:,}; "
                f"slowest sample since {WORST.take()}; MiB "
                + " ".join(f"{name} {resident_kib(p.pid) / 1024:.0f}" for name, p in self.processes.items() if p.poll() is None))


class Memory:
    """Each process's resident memory over a phase: at its start, at its peak, at its end.

    The target is judged over the steady phase, from its start: the warm-up before it is
    where each process fills its first polls and batches, its PostgreSQL statements and
    Python's allocator arenas; after it, what a process holds is bounded by a poll or a
    batch, and growth that goes on with time is what the target is about."""

    def __init__(self):
        self.readings: dict[str, dict[str, dict[str, int]]] = {}  # phase -> start/peak/end -> process -> KiB

    @staticmethod
    def now(processes: dict[str, subprocess.Popen]) -> dict[str, int]:
        return {name: resident_kib(p.pid) for name, p in processes.items() if p.poll() is None}

    def begin(self, phase: str, processes: dict[str, subprocess.Popen], starting: tuple[str, ...] = ()) -> None:
        """`starting`: processes that start with the phase (their start says nothing: no growth for them)."""
        self.processes, self.starting = processes, starting
        start = self.now(processes)
        self.readings[phase] = {"start": start, "peak": dict(start), "end": dict(start)}
        say(f"{phase} phase begins: " + ", ".join(f"{n} {k / 1024:.0f} MiB" for n, k in start.items()))

    def read(self, phase: str) -> None:
        """Called on every poll of the watcher (cheap: one small /proc file per process)."""
        phase_readings = self.readings[phase]
        for name, kib in self.now(self.processes).items():
            phase_readings["peak"][name] = max(kib, phase_readings["peak"].get(name, 0))
            phase_readings["end"][name] = kib

    def lines(self, phase: str) -> list[dict]:
        if phase not in self.readings:
            return []
        start, peak, end = (self.readings[phase][k] for k in ("start", "peak", "end"))
        return [
            {"process": name, "start_mib": mib(start[name]), "peak_mib": mib(peak[name]), "end_mib": mib(end[name]),
             "growth": None if name in self.starting else round(max(end[name], peak[name]) / start[name] - 1, 3)}
            for name in start
        ]


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


class Cpu:
    """CPU seconds of each long-running process (with its children) and of the embedded
    PostgreSQL and broker over the steady phase, per 1,000 events it handled in that
    phase: a stage behind
    handles fewer than were published, and its cost is per event it handled (the ingest,
    the relay and the projector each by its own count; the others by the ingest's)."""

    COUNTED_BY = {"relay": "relayed", "project": "projected", "publisher": "published"}

    def __init__(self, settings: Settings, processes: dict[str, subprocess.Popen], stages: StageLog):
        self.stages = stages
        self.pids = {name: p.pid for name, p in processes.items()}
        postgres = postmaster_pid(settings.home / "pgdata")
        broker = broker_pid(settings.bootstrap_servers or "")
        self.pids |= {name: pid for name, pid in (("postgres", postgres), ("broker", broker)) if pid is not None}
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def mark_start(self) -> None:
        self.first, self.started_at = tree_cpu_seconds(self.pids), time.monotonic()
        self.first_positions = self.stages.positions()

    def mark_end(self) -> None:
        self.last, self.ended_at = tree_cpu_seconds(self.pids), time.monotonic()
        self.last_positions = self.stages.positions()

    def lines(self) -> list[dict]:
        if not self.first or not self.last:
            return []
        window = self.ended_at - self.started_at
        lines = []
        for name, seconds in self.last.items():  # the steady phase's: no second member is counted
            used = seconds - self.first.get(name, 0.0)
            counted = self.COUNTED_BY.get(name, "consumed")
            events = max(1, self.last_positions[counted] - self.first_positions[counted])
            lines.append({"process": name, "cpu_seconds": round(used, 2), "cores": round(used / window, 2),
                          "events": events, "ms_per_1000_events": round(used / events * 1e6, 1)})
        return lines


PHASES = ("steady", "rebalance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000, help="usage events published per second")
    parser.add_argument("--warmup", type=float, default=30, help="seconds of load before anything counts")
    parser.add_argument("--seconds", type=float, default=300, help="the steady phase: seconds nobody joins")
    parser.add_argument("--rebalance-seconds", type=float, default=60,
                        help="the rebalance phase: seconds of load after a second ingest member starts (0: none)")
    parser.add_argument("--customers", type=int, default=200, help="customers the load is spread over")
    parser.add_argument("--logs", type=Path, default=Path("/tmp"), help="where the processes' output goes")
    args = parser.parse_args()

    with bench_settings() as settings:
        app = open_application(settings)
        customers = open_customers(app, args.customers + PROBES + 1)
        app.close()
        ready, probes, customers = customers[0], customers[1:PROBES + 1], customers[PROBES + 1:]
        kafka_clients.ensure_topics(settings)
        env = environment(settings)
        processes = {name: start(name, env, args.logs) for name in PROCESSES}
        second_ingest: subprocess.Popen | None = None
        context = multiprocessing.get_context("spawn")
        samples, started = context.Queue(), context.Event()
        total = args.warmup + args.seconds + args.rebalance_seconds
        publisher = context.Process(target=publish, args=(settings, customers, probes, args.rate, total, samples, started))
        memory = Memory()
        try:
            say(f"the pipeline showed a first usage event after {wait_until_running(settings, ready, processes, 120):.1f} s")
            publisher.start()
            started.wait(60)
            begin = time.monotonic()
            steady_from, rebalance_from = begin + args.warmup, begin + args.warmup + args.seconds
            say(f"the publisher sends with {publisher_client()}"
                + ("" if librdkafka_installed() else
                   " (`pip install -e '.[bench]'` for librdkafka: kafka-python takes some 0.13 of a core more at 5,000/s)"))
            say(f"publishing {args.rate:,} usage events/s: {args.warmup:.0f} s of warm-up, a steady phase of "
                f"{args.seconds:.0f} s, a rebalance phase of {args.rebalance_seconds:.0f} s")
            stages = StageLog(settings, args.rate, begin, total, processes)
            cpu = Cpu(settings, processes, stages)
            cpu.add("publisher", publisher.pid)
            phase = None

            def phase_of(sent_at: float) -> str | None:
                if sent_at < steady_from:
                    return None  # the warm-up
                return "steady" if sent_at < rebalance_from else "rebalance"

            def on_the_way() -> None:
                """Each phase's start and end as the watcher's loop passes them (memory, CPU, the second member)."""
                nonlocal second_ingest, phase
                stages.tick()
                now = time.monotonic()
                if phase is None and now >= steady_from:
                    phase = "steady"
                    cpu.mark_start()
                    memory.begin(phase, processes)
                elif phase == "steady" and now >= rebalance_from and args.rebalance_seconds > 0:
                    cpu.mark_end()
                    memory.read(phase)
                    phase = "rebalance"
                    second_ingest = start("ingest", env, args.logs)
                    say("rebalance phase: a second ingest member started")
                    memory.begin(phase, {**processes, "ingest (second)": second_ingest}, starting=("ingest (second)",))
                if phase is not None:
                    memory.read(phase)

            def published_by(_seconds: float) -> None:
                if not cpu.last:  # a run without a rebalance phase: the steady phase ends with the publishing
                    cpu.mark_end()

            phases, unseen = watch(settings, probes, samples, phase_of, on_the_way,
                                   deadline=begin + total + 60, published_by=published_by)
        finally:
            publisher.join(timeout=30)
            for process in [*processes.values(), second_ingest]:
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in [*processes.values(), second_ingest]:
                if process is not None:
                    process.wait(timeout=60)

    figures = {name: phases.get(name, Latencies()).summary() for name in PHASES}
    figures["whole"] = Latencies([s for p in phases.values() for s in p.seconds]).summary()
    recovered = phases["rebalance"].back_under(P99_TARGET, rebalance_from) if "rebalance" in phases else None
    memory_lines = {name: memory.lines(name) for name in PHASES}
    cpu_lines = cpu.lines()
    say(f"freshness at {args.rate:,} usage events/s (publish to customer_balances row):")
    say(f"  steady, {args.seconds:.0f} s after {args.warmup:.0f} s of warm-up, nobody joining: {figures_text(figures['steady'])}")
    if args.rebalance_seconds > 0:
        say(f"  rebalance, the {args.rebalance_seconds:.0f} s after a second ingest member started: "
            f"{figures_text(figures['rebalance'])}; every sample shown within {P99_TARGET:.0f} s again from "
            + ("never" if recovered is None else f"{recovered:.1f} s after it started"))
    say(f"  the whole run after the warm-up: {figures_text(figures['whole'])}")
    say(f"  never shown: {unseen}")
    for name in PHASES:
        for line in memory_lines[name]:
            growth = "started with the phase" if line["growth"] is None else f"{line['growth']:+.1%}: peak or end against the start"
            say(f"  {name:9} {line['process']:16} resident MiB: {line['start_mib']:6.1f} at its start, peak "
                f"{line['peak_mib']:6.1f}, {line['end_mib']:6.1f} at its end ({growth})")
    for line in cpu_lines:
        say(f"  steady    {line['process']:16} CPU {line['cpu_seconds']:7.1f} s ({line['cores']:.2f} of a core), "
            f"{line['ms_per_1000_events']:6.1f} ms per 1,000 events it handled ({line['events']:,})")
    report(
        "freshness_p99_seconds", figures["steady"].get("p99", float("nan")), "s",
        rate=args.rate, publisher=publisher_client(), warmup=args.warmup, seconds=args.seconds, rebalance_seconds=args.rebalance_seconds,
        steady=figures["steady"], rebalance=figures["rebalance"], whole=figures["whole"],
        rebalance_recovered_after=recovered, unseen=unseen, memory=memory_lines["steady"],
        memory_rebalance=memory_lines["rebalance"], cpu_steady=cpu_lines, target_p99=P99_TARGET,
        target_growth=GROWTH_TARGET,
        met=bool(figures["steady"].get("p99", math.inf) < P99_TARGET and unseen == 0
                 and all(line["growth"] <= GROWTH_TARGET for line in memory_lines["steady"])),
    )


def figures_text(figures: dict) -> str:
    if not figures.get("samples"):
        return "no samples"
    return f"p50 {figures['p50']:.3f} s, p99 {figures['p99']:.3f} s, max {figures['max']:.3f} s ({figures['samples']} samples)"


if __name__ == "__main__":
    main()

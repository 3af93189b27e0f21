"""Assembles the three consumer processes from settings, and runs them.

Each process steps (a poll, a batch) in a thread of its own; a step that fails because
PostgreSQL or the broker cannot be reached is ridden out (ledger/outages.py): the process
waits, `reconnect()`s and rewinds to its recorded positions, up to the outage deadline.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from consumers import kafka_clients
from consumers.allocator import TRIM_SECONDS, give_back_free_memory
from consumers.collector import collect_cycles
from consumers.dead_letters import DeadLetterSender
from consumers.ingest import UsageIngest
from consumers.partitions import TrackedMember
from consumers.projector import Projector, connect_projector
from consumers.relay import NO_WORKER, NewEvents, Relay
from domain.application import BillingLedger
from ledger.config import Settings
from ledger.outages import (
    Backoff,
    BrokerWatch,
    Outage,
    reach_postgres,
    renew_store_connections,
    service_down,
)


@dataclass
class IngestProcess:
    ingest: UsageIngest
    member: TrackedMember
    database_url: str
    name = "ingest"

    def step(self) -> int:
        return self.member.poll_once()

    def idle(self) -> bool:
        return self.member.caught_up()

    def reconnect(self) -> None:
        reach_postgres(self.database_url)
        renew_store_connections(self.ingest.app)
        self.member.rewind()

    def close(self) -> None:
        self.member.close()
        self.ingest.dlq_producer.close()


@dataclass
class RelayProcess:
    relay: Relay
    new_events: NewEvents
    name = "relay"
    batch_started_at = 0.0

    def step(self) -> int:
        self.batch_started_at = time.monotonic()
        return self.relay.publish_batch()

    def idle(self) -> bool:
        return self.relay.lag() == 0

    def wait_for_work(self, timeout: float, gather: float = 0.0) -> None:
        """Until the store has new events (or `timeout`); then, if the last batch began less
        than `gather` seconds ago, until then, so that what else is stored meanwhile goes in
        the same batch."""
        self.new_events.wait(timeout)
        rest = self.batch_started_at + gather - time.monotonic()
        if rest > 0:
            time.sleep(rest)

    def reconnect(self) -> None:
        # Its position is read from PostgreSQL before every batch: nothing to rewind but
        # the batch it read ahead.
        self.new_events.reconnect()
        renew_store_connections(self.relay.app)
        self.relay.forget_read_ahead()

    def close(self) -> None:
        self.relay.close()
        self.relay.producer.close()
        self.new_events.close()


@dataclass
class ProjectorProcess:
    projector: Projector
    member: TrackedMember
    connect: Callable[[], psycopg.Connection]
    # In a drain, what the relay wrote to the ledger topic (partition -> end): a fetch's
    # high watermark may predate the relay's last batch, the relay's own account cannot.
    published_upstream: Callable[[], dict[int, int]] = dict
    name = "projector"

    def step(self) -> int:
        return self.member.poll_once()

    def idle(self) -> bool:
        return self.member.caught_up() and self.member.has_read_to(self.published_upstream())

    def reconnect(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.projector.conn.close()
        self.projector.conn = self.connect()
        self.member.rewind()

    def close(self) -> None:
        self.member.close()
        self.projector.conn.close()
        self.projector.dead_letters.producer.close()


# Records per poll, shared by the partitions it returns, for the ingest and the projector. A
# poll's records and everything made from them are held until its batches are stored, and a
# member behind fills every poll: the bound keeps its resident memory independent of the
# backlog. A live member keeps up with polls of a few hundred records (5,000/s at one poll
# each 100 ms), and is behind only after a stall (a rebalance): its full polls then decide
# what it holds on top of a steady stream (5,000 records grew the live ingest by 20-40 %
# while it caught up after a rebalance; 1,000 hold a fifth of that), for per-batch costs (a
# position, a transaction, one query for the customers' accounts) that stay small beside
# 1,000 events. A run until idle is all catching up, alone: its larger polls halve those
# costs, and it holds them only until it stops.
LIVE_POLL_RECORDS = 1_000
UNTIL_IDLE_POLL_RECORDS = 5_000
# Bytes a live member's fetch asks for, in all and of one partition (a member with one
# partition may take the whole). The message limit (8 MiB,
# KafkaSettings.max_message_bytes) is no bound for a live member: behind, its fetches came
# back that full, and it held each one's bytes twice (the socket's chunks and their join) with
# what was decoded of it (measured in the live ingest, behind: 10.6 MiB of fetched data held
# between polls, 2 MiB once caught up). A poll takes LIVE_POLL_RECORDS: 1 MiB is some 3,000
# usage events or 1,500 ledger events, more than one poll's worth. Both limits are soft on the
# broker's side (KIP-74: a first batch larger than them still comes whole), so a message up to
# the message limit is still read.
LIVE_FETCH_BYTES = 1024 * 1024


# How long the broker may hold a fetch that finds nothing new. The embedded broker answers
# a fetch for which a message arrives only after about a quarter of this (kafka-python's
# default, 500 ms, delayed each consumer stage by some 125 ms; 50 ms by about 10): what a
# usage event waits at the ingest and again at the projector. An idle member fetches more
# often in exchange, which costs next to nothing.
# Under a steady stream it also sets the batches' size: the embedded broker answers a fetch
# after about half of this wait whether records are waiting or not (measured with 2,000
# records/s: a poll every 28 ms at 50 ms, 55 ms at 100, 104 ms at 200), and each poll's
# records are committed in one transaction per partition. At 5,000 usage events/s, 100 ms
# gives the ingest about 70 records a transaction, not 35: half the commits (each waits for
# PostgreSQL's flush), positions and NOTIFYs, for some 25 ms more at each of the two stages.
LIVE_FETCH_WAIT_MS = 100
# How often a live member that has caught up polls, at most. Each poll commits a transaction
# per partition it brought records of, with fixed costs (the ingest's rating queries, the
# position, the commit; the projector's lock, offset and watermarks), and a position commit
# to the broker: at 500 usage events/s, polling as fast as the fetches came back (about
# every 50 ms), the ingest took a quarter of a core and the broker a sixth, almost all of it
# per batch, not per event. Measured at 500/s (20 s, load 7 to 8), with the relay gathering
# for RELAY_GATHER_SECONDS: the pipeline (ingest, relay, projector, PostgreSQL, broker)
# 0.88 of a core without pacing, p50 0.22 s; 0.63 with 100 ms here and 50 ms at the relay,
# p50 0.23 s; 0.55 with 150 ms and 100 ms, but p50 0.47 s. A member behind polls at once.
LIVE_POLL_INTERVAL = 0.1
# How long a live relay that has caught up gathers stored events before it publishes them.
# Caught up, it is woken by every transaction that stores events, and the ingest commits one
# per partition per poll. Each batch has fixed costs (its position read and written, a
# commit, the lag checked, a flush to the broker that waits for its acknowledgements):
# gathering for 50 ms publishes at most twenty batches a second, for at most 50 ms more on
# the way (see LIVE_POLL_INTERVAL for what was measured). A run until drained does not gather.
RELAY_GATHER_SECONDS = 0.05
# A run that stops once idle asks the broker to answer a fetch that finds nothing at once
# (its last fetch is empty by definition), and polls briefly: stopping waits for the poll.
UNTIL_IDLE_FETCH_WAIT_MS = 20
UNTIL_IDLE_POLL_MS = 50


def tracked_member(settings: Settings, group: str, topic: str, handler, until_idle: bool, **options) -> TrackedMember:
    """A member of `group` on `topic`; a run that stops once idle takes every partition
    itself instead (TrackedMember's assign_all), with a consumer without a group id, so that
    it neither joins the group nor commits in its name."""
    if not until_idle:
        consumer = kafka_clients.consumer(settings, group, fetch_max_wait_ms=LIVE_FETCH_WAIT_MS,
                                          fetch_max_bytes=LIVE_FETCH_BYTES,
                                          max_partition_fetch_bytes=LIVE_FETCH_BYTES)
        return TrackedMember(consumer, topic, handler.recorded_position, handler.handle_batch,
                             poll_interval=LIVE_POLL_INTERVAL, max_records=LIVE_POLL_RECORDS, **options)
    consumer = kafka_clients.consumer(settings, None, fetch_max_wait_ms=UNTIL_IDLE_FETCH_WAIT_MS)
    return TrackedMember(consumer, topic, handler.recorded_position, handler.handle_batch,
                         assign_all=True, poll_timeout_ms=UNTIL_IDLE_POLL_MS, max_records=UNTIL_IDLE_POLL_RECORDS,
                         **options)


def ingest_process(settings: Settings, app: BillingLedger, until_idle: bool = False) -> IngestProcess:
    kafka_clients.ensure_topics(settings)
    ingest = UsageIngest(app, kafka_clients.dead_letter_producer(settings), settings.dlq_topic)
    member = tracked_member(settings, settings.group("ingest"), settings.usage_topic, ingest, until_idle)
    return IngestProcess(ingest, member, settings.database_url)


def relay_process(settings: Settings, app: BillingLedger) -> RelayProcess:
    kafka_clients.ensure_topics(settings)
    new_events = NewEvents(settings.database_url, app.recorder.channel_name)
    # No encoding worker (see consumers/relay.py): it speeds up a relay catching up alone, but
    # beside the ingest and the projector on two cores its start (a second Python process, at
    # the first large batch) and the pickling of each batch to it and back take CPU the other
    # stages need. Measured at 3,500 usage events/s for 120 s, a second ingest member joining
    # halfway (load 3.5 to 5, nothing else running): with the worker the relay fell 22,000
    # events behind after the rebalance and caught up 55 s later, steady p99 5.1 s; without
    # it, caught up within 25 s, p99 0.62 s. `ledger relay --from-start` (the whole store
    # again, the relay alone at work) keeps it.
    relay = Relay(app, kafka_clients.producer(settings), settings.ledger_topic, pipeline_from=NO_WORKER)
    return RelayProcess(relay, new_events)


def projector_process(settings: Settings, until_idle: bool = False) -> ProjectorProcess:
    dlq_topic = settings.ledger_dlq_topic
    kafka_clients.ensure_topics(settings, settings.usage_topic, settings.dlq_topic, settings.ledger_topic, dlq_topic)
    dead_letters = DeadLetterSender(kafka_clients.dead_letter_producer(settings), dlq_topic)

    def connect() -> psycopg.Connection:
        return connect_projector(settings.database_url, settings.read_schema)

    projector = Projector(
        connect(), settings.group("projector"), views_schema=settings.views_schema, dead_letters=dead_letters
    )
    member = tracked_member(settings, settings.group("projector"), settings.ledger_topic, projector, until_idle)
    return ProjectorProcess(projector, member, connect)


class Runner(threading.Thread):
    """Runs one process in a thread of its own, as it would run in a process of its own.

    (Kafka group joins of several consumers polled in turn from one thread stall for
    tens of seconds; one thread each joins in seconds.)
    """

    IDLE_PAUSE = 0.05  # seconds a tailing process waits when it found nothing to do
    # A process that can be woken (the relay, by the store's NOTIFY) waits longer: it is
    # woken at once when there is work, and checks anyway after this.
    WAKEABLE_PAUSE = 0.2

    def __init__(self, process, stop: threading.Event, outage_deadline: float = Settings.outage_deadline,
                 backoff: Backoff = Backoff(), wakeable_pause: float = WAKEABLE_PAUSE, gather: float = 0.0):
        super().__init__(name=type(process).__name__, daemon=True)
        self.process = process
        self.stop = stop
        self.wakeable_pause = wakeable_pause  # a wait the stop cannot cut short
        self.gather = gather  # and, once woken, the seconds a wakeable process gathers more work
        self.outage_deadline = outage_deadline
        self.backoff = backoff
        self.error: BaseException | None = None
        self.outage: Outage | None = None  # from the first failed step to the next good one
        self.idle_since: float | None = None  # start of the current idle streak
        self.checked_at: float | None = None  # last time the streak was confirmed
        self.last_step_at = time.monotonic()  # a stuck process stops moving this

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except Exception as error:  # noqa: BLE001 - ride_out re-raises what is no outage
                    self.ride_out(error)
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error
            self.stop.set()

    def step(self) -> None:
        worked = self.process.step()
        now = self.last_step_at = time.monotonic()
        self.outage = None
        # A step that did work may have left the process caught up: asking at once saves a
        # run `--until-idle` the empty poll that would otherwise confirm it.
        if self.process.idle():
            # An idle streak starts after the last work: a step that did work and left the
            # process caught up starts a new one (kept, a stage after it could confirm its
            # idleness on a check made before this work, and a drain stop short of it).
            self.idle_since = now if worked else (self.idle_since or now)
            self.checked_at = now
            if worked == 0:
                self.pause()
        else:
            self.idle_since = self.checked_at = None

    def ride_out(self, error: Exception) -> None:
        """Wait and reconnect until a reconnection succeeds (the next step says whether the
        outage is over). Raises the error if it is no outage, OutageTooLong past the deadline."""
        self.idle_since = self.checked_at = None
        while True:
            service = service_down(error)
            if service is None:
                raise error
            if self.outage is None:
                self.outage = Outage(self.process.name, service, self.outage_deadline)
            self.outage.service = service
            if self.stop.wait(self.outage.next_attempt(error, self.backoff)):
                return
            try:
                self.process.reconnect()
                return
            except Exception as again:  # noqa: BLE001 - judged at the top of the loop
                error = again

    def pause(self) -> None:
        wait_for_work = getattr(self.process, "wait_for_work", None)
        if wait_for_work is None:
            self.stop.wait(self.IDLE_PAUSE)
        else:
            wait_for_work(self.wakeable_pause, self.gather)


def follow_relays(processes: list) -> None:
    """Each projector after a relay in the pipeline is idle only once it has read what that
    relay published (see ProjectorProcess.published_upstream)."""
    relay = None
    for process in processes:
        if isinstance(process, RelayProcess):
            relay = process.relay
        elif isinstance(process, ProjectorProcess) and relay is not None:
            process.published_upstream = lambda relay=relay: dict(relay.published_ends)


def pipeline_drained(runners: list[Runner]) -> bool:
    """True when each stage confirmed it was idle after the stage before it went idle.

    Stage n+1 confirming idleness after stage n's last work means it has seen all of
    that work; the first stage is idle once it has read its topic to the end.
    """
    previous_idle_since = 0.0
    for runner in runners:
        idle_since, checked_at = runner.idle_since, runner.checked_at
        if idle_since is None or checked_at is None or checked_at <= previous_idle_since:
            return False
        previous_idle_since = idle_since
    return True


STALLED_AFTER = 60.0  # seconds without a completed step: far beyond any batch
HEALTHY = "ok"


class Heartbeat:
    """A file for a container health check: `ok`, renewed while every process keeps
    completing steps; during an outage, what is unreachable (and no longer renewed)."""

    def __init__(self, path: Path):
        self.path = path
        self.written: str | None = None

    def beat(self, runners: list[Runner], broker: BrokerWatch) -> None:
        outages = [runner.outage.status() for runner in runners if runner.outage is not None]
        outages += [status for status in [broker.status()] if status is not None]
        if outages:
            self._write("; ".join(outages))
        elif all(time.monotonic() - runner.last_step_at < STALLED_AFTER for runner in runners):
            if self.written == HEALTHY:
                self.path.touch()
            else:
                self._write(HEALTHY)

    def _write(self, status: str) -> None:
        if status != self.written:
            # Whole or not at all: a health check never reads half a line.
            partial = self.path.with_name(self.path.name + ".tmp")
            partial.write_text(status + "\n")
            os.replace(partial, self.path)
            self.written = status


def run(
    processes: list,
    stop: threading.Event,
    until_drained: bool = False,
    heartbeat: Path | None = None,
    outage_deadline: float = Settings.outage_deadline,
) -> None:
    """Run the processes, in pipeline order, until `stop` is set or, if asked, until drained.

    Each rides out an outage of PostgreSQL or the broker for up to `outage_deadline`
    seconds. With `heartbeat`, a file tells a container health check whether every
    process is healthy (see Heartbeat).
    """
    # A run until drained stops soon after its last step: a long wait would only delay it.
    pause = Runner.IDLE_PAUSE if until_drained else Runner.WAKEABLE_PAUSE
    gather = 0.0 if until_drained else RELAY_GATHER_SECONDS
    if until_drained:
        follow_relays(processes)
    runners = [Runner(process, stop, outage_deadline, wakeable_pause=pause, gather=gather) for process in processes]
    beat = Heartbeat(heartbeat).beat if heartbeat is not None else None
    trim_at = time.monotonic() + TRIM_SECONDS
    with BrokerWatch(", ".join(process.name for process in processes), outage_deadline).watching() as broker:
        for runner in runners:
            runner.start()
        try:
            while not stop.wait(0.05):
                if beat is not None:  # first: a run drained at its first look still beats once
                    beat(runners, broker)
                if until_drained and pipeline_drained(runners):
                    break
                broker.check_deadline()
                if time.monotonic() >= trim_at:  # resident memory that follows what is held, not its peak
                    collect_cycles()  # first: what the cycles held is then free to give back
                    give_back_free_memory()
                    trim_at = time.monotonic() + TRIM_SECONDS
        finally:
            stop.set()
            for runner in runners:
                runner.join()
    for runner in runners:
        if runner.error is not None:
            raise runner.error


def drain(settings: Settings, app: BillingLedger) -> list:
    """Ingest, relay and project everything there is, then stop; returns the processes."""
    processes = [
        ingest_process(settings, app, until_idle=True), relay_process(settings, app),
        projector_process(settings, until_idle=True),
    ]
    try:
        run(processes, threading.Event(), until_drained=True, outage_deadline=settings.outage_deadline)
    finally:
        for process in processes:
            process.close()
    return processes

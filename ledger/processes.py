"""Assembles the three consumer processes from settings, and runs them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from dataclasses import dataclass

from consumers.dead_letters import DeadLetterSender, dead_letter_topic
from consumers.ingest import UsageIngest
from consumers.partitions import TrackedMember
from consumers.projector import Projector, connect_read_models
from consumers.relay import NewEvents, Relay
from domain.application import BillingLedger
from ledger import kafka
from ledger.config import Settings


@dataclass
class IngestProcess:
    ingest: UsageIngest
    member: TrackedMember

    def step(self) -> int:
        return self.member.poll_once()

    def idle(self) -> bool:
        return self.member.caught_up()

    def close(self) -> None:
        self.member.close()
        self.ingest.dlq_producer.close()


@dataclass
class RelayProcess:
    relay: Relay
    new_events: NewEvents

    def step(self) -> int:
        return self.relay.publish_batch()

    def idle(self) -> bool:
        return self.relay.lag() == 0

    def wait_for_work(self, timeout: float) -> None:
        self.new_events.wait(timeout)

    def close(self) -> None:
        self.relay.close()
        self.relay.producer.close()
        self.new_events.close()


@dataclass
class ProjectorProcess:
    projector: Projector
    member: TrackedMember

    def step(self) -> int:
        return self.member.poll_once()

    def idle(self) -> bool:
        return self.member.caught_up()

    def close(self) -> None:
        self.member.close()
        self.projector.conn.close()
        self.projector.dead_letters.producer.close()


# Records per poll, shared by the partitions it returns: the per-batch costs (a position,
# a transaction, each customer's account) are spread over more usage.
INGEST_POLL_RECORDS = 20_000


def ingest_process(settings: Settings, app: BillingLedger) -> IngestProcess:
    kafka.ensure_topics(settings)
    ingest = UsageIngest(app, kafka.producer(settings), settings.dlq_topic)
    member = TrackedMember(
        kafka.consumer(settings, settings.group("ingest")),
        settings.usage_topic,
        ingest.recorded_position,
        ingest.handle_batch,
        max_records=INGEST_POLL_RECORDS,
    )
    return IngestProcess(ingest, member)


def relay_process(settings: Settings, app: BillingLedger) -> RelayProcess:
    kafka.ensure_topics(settings)
    new_events = NewEvents(settings.database_url, app.recorder.channel_name)
    return RelayProcess(Relay(app, kafka.producer(settings), settings.ledger_topic), new_events)


def projector_process(settings: Settings) -> ProjectorProcess:
    kafka.ensure_topics(settings)
    dlq_topic = dead_letter_topic(settings.ledger_topic)
    kafka.ensure_topics(settings, dlq_topic)
    conn = connect_read_models(settings.database_url, settings.read_schema)
    dead_letters = DeadLetterSender(kafka.producer(settings), dlq_topic)
    projector = Projector(conn, settings.group("projector"), views_schema=settings.views_schema, dead_letters=dead_letters)
    member = TrackedMember(
        kafka.consumer(settings, settings.group("projector")),
        settings.ledger_topic,
        projector.recorded_position,
        projector.handle_batch,
    )
    return ProjectorProcess(projector, member)


class Runner(threading.Thread):
    """Runs one process in a thread of its own, as it would run in a process of its own.

    (Kafka group joins of several consumers polled in turn from one thread stall for
    tens of seconds; one thread each joins in seconds.)
    """

    IDLE_PAUSE = 0.05  # seconds a tailing process waits when it found nothing to do
    # A process that can be woken (the relay, by the store's NOTIFY) waits longer: it is
    # woken at once when there is work, and checks anyway after this.
    WAKEABLE_PAUSE = 0.2

    def __init__(self, process, stop: threading.Event):
        super().__init__(name=type(process).__name__, daemon=True)
        self.process = process
        self.stop = stop
        self.error: BaseException | None = None
        self.idle_since: float | None = None  # start of the current idle streak
        self.checked_at: float | None = None  # last time the streak was confirmed
        self.last_step_at = time.monotonic()  # a stuck process stops moving this

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                worked = self.process.step()
                now = self.last_step_at = time.monotonic()
                if worked == 0 and self.process.idle():
                    self.idle_since = self.idle_since or now
                    self.checked_at = now
                    self.pause()
                else:
                    self.idle_since = self.checked_at = None
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error
            self.stop.set()

    def pause(self) -> None:
        wait_for_work = getattr(self.process, "wait_for_work", None)
        if wait_for_work is None:
            self.stop.wait(self.IDLE_PAUSE)
        else:
            wait_for_work(self.WAKEABLE_PAUSE)


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


def run(
    processes: list,
    stop: threading.Event,
    until_drained: bool = False,
    heartbeat: Path | None = None,
) -> None:
    """Run the processes, in pipeline order, until `stop` is set or, if asked, until drained.

    With `heartbeat`, the file's time is renewed while every process keeps completing
    steps, so a container health check can tell a stuck process from a live one.
    """
    runners = [Runner(process, stop) for process in processes]
    for runner in runners:
        runner.start()
    try:
        while not stop.wait(0.05):
            if until_drained and pipeline_drained(runners):
                break
            if heartbeat is not None and all(
                time.monotonic() - runner.last_step_at < STALLED_AFTER for runner in runners
            ):
                heartbeat.touch()
    finally:
        stop.set()
        for runner in runners:
            runner.join()
    for runner in runners:
        if runner.error is not None:
            raise runner.error


def drain(settings: Settings, app: BillingLedger) -> list:
    """Ingest, relay and project everything there is, then stop; returns the processes."""
    processes = [ingest_process(settings, app), relay_process(settings, app), projector_process(settings)]
    try:
        run(processes, threading.Event(), until_drained=True)
    finally:
        for process in processes:
            process.close()
    return processes

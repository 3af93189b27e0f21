"""`ledger replay`: rebuild a projection from the ledger topic or the event store, into a
shadow (readside/shadow.py), then swap it in at once.

From Kafka: a consumer outside the live group reads every partition of the ledger topic
from offset zero to the high watermark of its fetch responses (not ListOffsets: the
embedded broker answers it short of the end). It applies batches with the projection's
watermark rule, since the topic may hold republished events; a record that is no ledger
event is skipped, as the live projector skips it.

From the store: the notification log in order, each stored event converted as the relay
converts it. Conversion is most of the cost, so worker processes convert ranges of the
log in parallel and hand back folded changes; this process writes them in log order.

Either way, at the swap the live tables are locked and the shadow catches up with
everything the live projector had applied, so the live projector goes on from its own
offsets: what it delivers again is at or below the new rows' watermarks, and skipped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass

import psycopg
from kafka import TopicPartition
from psycopg.sql import SQL, Identifier

from consumers import kafka_clients
from consumers.ledger_decoder import LedgerDecoder, where
from consumers.partitions import Source, topic_id
from consumers.workers import exit_with_parent
from domain.errors import LedgerError
from eventstore.chain import Head, walk_chain
from eventstore.postgres import open_application
from projections.base import Projection
from projections.registry import projection_named
from readside.event_log import EVENTS_TABLE, max_notification_id, read_log, to_ledger_events
from readside.progress import Progress
from readside.settings import ReadSideSettings
from readside.shadow import Shadow

log = logging.getLogger(__name__)

STORE_STREAM = "notifications"
CHUNK = 20_000  # stored events per task: big enough to fold well, small enough to resume cheaply
KAFKA_BATCH = 5_000  # records per poll


@dataclass
class ReplayResult:
    projection: str
    source: str
    events: int
    seconds: float
    complete: bool

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(
    settings: ReadSideSettings,
    name: str,
    source: str,
    stop: threading.Event | None = None,
    restart: bool = False,
    workers: int | None = None,
    progress_stream=None,
) -> ReplayResult:
    projection = projection_named(name)
    stop = stop or threading.Event()
    shadow = Shadow(settings.database_url, projection, settings.read_schema, settings.views_schema)
    try:
        reader = (
            StoreReplay(settings, projection, workers or os.cpu_count() or 1)
            if source == "store"
            else KafkaReplay(settings, projection)
        )
        started = time.monotonic()
        try:
            done = reader.run(shadow, shadow.open(source, restart), stop, progress_stream)
            if done:
                shadow.swap(reader.catch_up)
        finally:
            reader.close()
        return ReplayResult(name, source, reader.events, time.monotonic() - started, done)
    finally:
        shadow.close()


class StoreReplay:
    name = "store"

    def __init__(self, settings: ReadSideSettings, projection: Projection, workers: int):
        self.settings = settings
        self.projection = projection
        self.workers = workers
        self.app = open_application(settings)
        self.reader = psycopg.connect(settings.database_url, autocommit=True)
        self.position = 0
        self.events = 0
        self.chained: Head | None = None  # the last event whose chain was walked

    def run(self, shadow: Shadow, positions: dict[str, int], stop: threading.Event, stream) -> bool:
        self.position = positions.get(STORE_STREAM, 0)
        through = max_notification_id(self.reader, self.settings.store_schema)
        progress = Progress(f"replay {self.projection.name} from the store", through - self.position, stream)
        ranges = [(a, min(a + CHUNK, through)) for a in range(self.position, through, CHUNK)]
        with _Converters(self, len(ranges)) as convert:
            for (_after, end), (count, changes) in zip(ranges, convert(ranges)):
                shadow.commit_batch(self.name, {STORE_STREAM: end}, lambda c, ch=changes: self.projection.write(c, ch))
                self.position = end
                self.events += count
                progress.advance(count)
                if stop.is_set():
                    progress.finish(f"interrupted at notification {end}: run the same command again to resume")
                    return False
        progress.finish()
        self.check_chain(self.position)
        return True

    def check_chain(self, through: int) -> None:
        """A projection rebuilt from edited, removed or reordered events is not swapped in:
        the store's hash chain must hold up to the last event rebuilt (eventstore/chain.py)."""
        report = walk_chain(self.reader, self.settings.store_schema, EVENTS_TABLE, through=through, after=self.chained)
        if report.broken is not None:
            b = report.broken
            raise LedgerError(
                f"the event store's hash chain breaks at event {b.notification_id}: it {b.reason}; "
                f"{self.projection.name} is not swapped in (see `ledger verify --store`)"
            )
        self.chained = report.head

    def catch_up(self, cursor) -> None:
        """With the live tables locked: the events stored since the rebuild read the log
        (the live projector can only have applied events that were stored before)."""
        through = max_notification_id(self.reader, self.settings.store_schema)
        self.check_chain(through)
        for rows in read_log(self.reader, self.settings.store_schema, self.position, through, CHUNK):
            self.projection.write(cursor, _fold_rows(self.projection, self.app.mapper, rows))
            self.events += len(rows)

    def close(self) -> None:
        self.reader.close()
        self.app.close()


def _fold_rows(projection: Projection, mapper, rows) -> list:
    return projection.changes(to_ledger_events(rows, mapper, projection.event_types.__contains__))


# --- worker processes ------------------------------------------------------------------
# Forked, so they inherit the projection and the application's mapper; each opens its own
# connection and answers "the folded changes of the log between these two ids".

_WORKER: dict = {}


def _start_worker(parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop


def _convert_range(bounds: tuple[int, int]) -> tuple[int, list]:
    replay_: StoreReplay = _WORKER["replay"]
    conn = _WORKER.get("conn")
    if conn is None:
        conn = _WORKER["conn"] = psycopg.connect(replay_.settings.database_url, autocommit=True)
    after, through = bounds
    count, events = 0, []
    wanted = replay_.projection.event_types.__contains__
    for rows in read_log(conn, replay_.settings.store_schema, after, through, CHUNK):
        count += len(rows)
        events.extend(to_ledger_events(rows, replay_.app.mapper, wanted))
    # folded once for the whole range: one change per row, as one statement requires
    return count, replay_.projection.changes(events)


class _Converters:
    """A function from ranges to (count, changes), lazily and in order: in worker processes
    when there are several ranges and workers, else here."""

    def __init__(self, replay_: StoreReplay, ranges: int):
        self.replay = replay_
        self.pool = None
        if replay_.workers > 1 and ranges > 1:
            _WORKER.clear()
            _WORKER["replay"] = replay_
            context = multiprocessing.get_context("fork")
            self.pool = context.Pool(replay_.workers, initializer=_start_worker, initargs=(os.getpid(),))

    def __enter__(self):
        if self.pool is None:
            _WORKER.clear()
            _WORKER["replay"] = self.replay
            _WORKER["conn"] = self.replay.reader
            return lambda ranges: map(_convert_range, ranges)
        return lambda ranges: self.pool.imap(_convert_range, ranges)

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        _WORKER.clear()


# --- Kafka -----------------------------------------------------------------------------


class KafkaReplay:
    name = "kafka"

    def __init__(self, settings: ReadSideSettings, projection: Projection):
        self.settings = settings
        self.projection = projection
        self.decoder = LedgerDecoder(set(projection.event_types))
        self.consumer = kafka_clients.consumer(settings, None)
        self.sources: dict[TopicPartition, Source] = {}
        self.events = 0
        self.skipped = 0  # records that are no ledger event

    def run(self, shadow: Shadow, positions: dict[str, int], stop: threading.Event, stream) -> bool:
        topic = self.settings.ledger_topic
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            raise LedgerError(f"the ledger topic {topic!r} does not exist on {self.settings.bootstrap_servers}")
        incarnation = topic_id(self.consumer._client.cluster, topic)
        self.sources = {TopicPartition(topic, p): Source(topic, incarnation, p) for p in sorted(partitions)}
        if set(positions) - {s.key for s in self.sources.values()}:
            positions = shadow.restart(self.name)  # built from an older incarnation of the topic
        self.consumer.assign(list(self.sources))
        for tp, source in self.sources.items():
            self.consumer.seek(tp, positions.get(source.key, 0))
        ends = self.consumer.end_offsets(list(self.sources))  # an estimate: see the module doc
        total = sum(max(ends[tp] - positions.get(s.key, 0), 0) for tp, s in self.sources.items())
        progress = Progress(f"replay {self.projection.name} from {topic}", total, stream)
        while not self.caught_up():
            for tp, records in self.consumer.poll(timeout_ms=500, max_records=KAFKA_BATCH).items():
                events = self.decode(records)
                shadow.commit_batch(
                    self.name, {self.sources[tp].key: records[-1].offset + 1},
                    lambda cursor, ev=events: self.projection.apply(cursor, ev),
                )
                self.events += len(records)
                progress.advance(len(records), max(total, self.events + self.remaining()))
            if stop.is_set():
                progress.finish("interrupted: run the same command again to resume")
                return False
        progress.finish()
        return True

    def decode(self, records: list) -> list:
        """The records' events; one that cannot be read is skipped, as the live projector
        skips it (it dead-letters it: consumers/projector.py)."""
        refused = []
        events = self.decoder.decode(records, refused)
        for record, error in refused:
            log.warning("replay: skipped %s: %s: %s", where(record), error.reason, error.detail)
        self.skipped += len(refused)
        return events

    def remaining(self) -> int:
        left = 0
        for tp in self.sources:
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                left += max(highwater - self.consumer.position(tp), 0)
        return left

    def caught_up(self) -> bool:
        for tp in self.sources:
            highwater = self.consumer.highwater(tp)
            if highwater is None or self.consumer.position(tp) < highwater:
                return False
        return True

    def catch_up(self, cursor) -> None:
        """With the live tables locked, and then the live projector's offsets: read on to
        at least those offsets, so the shadow holds all the live tables hold."""
        read = self.settings.read_schema
        cursor.execute("SELECT to_regclass(%s)", (f'"{read}".projector_offsets',))
        if cursor.fetchone()[0] is None:
            return
        topic = self.settings.ledger_topic
        cursor.execute(
            SQL("SELECT partition, next_offset FROM {} WHERE consumer_group = %s AND topic = %s AND topic_id = %s FOR UPDATE").format(
                Identifier(read, "projector_offsets")
            ),
            (self.settings.group("projector"), topic, next(iter(self.sources.values())).topic_id),
        )
        targets = {TopicPartition(topic, p): offset for p, offset in cursor.fetchall()}
        while any(self.consumer.position(tp) < offset for tp, offset in targets.items()):
            for _tp, records in self.consumer.poll(timeout_ms=500, max_records=KAFKA_BATCH).items():
                self.projection.apply(cursor, self.decode(records))
                self.events += len(records)

    def close(self) -> None:
        self.consumer.close(autocommit=False)

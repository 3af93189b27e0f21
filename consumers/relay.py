"""The relay: follows the event store's notification log in order and publishes each event
to the ledger topic, keyed by customer, with its type and id in headers.

At least once: a batch is flushed to Kafka before its position is recorded in PostgreSQL,
so a crash in between republishes it, and projectors skip what they have applied.

Never a gap: notification ids are issued under the recorder's table lock, so they commit
in order, and the relay reads each batch strictly after its recorded position. When it
has caught up it waits for the recorder's NOTIFY (sent by every transaction that stores
events) rather than polling.

Two cores when catching up: turning stored events into Avro messages and kafka-python's
`send` each take about half of the relay's time. While a large batch is sent, the next one
is read (strictly after it) and encoded in a worker process; it is used only if the
recorded position is still the end of the batch it follows. Small batches (a relay that
keeps up) are encoded here: no worker, no latency. How much of a read-ahead batch each
process encodes follows what the last batches showed (EncodingShare).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import psycopg
from eventsourcing.persistence import Tracking
from kafka import KafkaProducer
from psycopg.sql import SQL, Identifier

from consumers.collector import tune_collector
from consumers.kafka_clients import SEND_TIMEOUT
from consumers.ledger_events import to_ledger_record
from consumers.partitions import topic_id
from consumers.workers import exit_with_parent
from domain.application import BillingLedger
from schemas import encode_with

log = logging.getLogger(__name__)


class NewEvents:
    """Wakes a waiting relay as soon as a transaction that stored events commits."""

    def __init__(self, database_url: str, channel: str):
        self.database_url, self.channel = database_url, channel
        self.conn = self._listen()

    def _listen(self) -> psycopg.Connection:
        conn = psycopg.connect(self.database_url, autocommit=True)
        conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
        return conn

    def reconnect(self) -> None:
        """LISTEN again on a new connection (a LISTEN lives and dies with its connection).
        Raises while PostgreSQL cannot be reached."""
        self.conn.close()
        self.conn = self._listen()

    def wait(self, timeout: float) -> None:
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            pass

    def close(self) -> None:
        self.conn.close()


Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


def ledger_messages(notifications: list, mapper) -> list[Message]:
    """Each stored event as the ledger topic carries it: keyed by customer, typed and
    identified in headers."""
    to_domain_event, messages = mapper.to_domain_event, []
    for notification in notifications:
        try:
            schema, record = to_ledger_record(to_domain_event(notification), notification.id)
            headers = [("event_type", schema.short_name.encode()), ("event_id", record["event_id"].encode())]
            messages.append((record["customer_id"].encode(), encode_with(schema, record), headers))
        except Exception as error:
            log.error("relay: stored event %d (%s) cannot be made a ledger event: %s: %s",
                      notification.id, notification.topic, type(error).__name__, error)
            raise
    return messages


_worker_mapper = None


def _start_encoder(application_class: type, env: dict[str, str], relay_pid: int) -> None:
    global _worker_mapper
    exit_with_parent(relay_pid)
    tune_collector()
    # An application in memory with the relay's own mapper settings: it stores nothing.
    _worker_mapper = application_class(env={**env, "PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def _encode_in_worker(notifications: list) -> list[Message]:
    return ledger_messages(notifications, _worker_mapper)


# The application settings that decide how stored events decode.
MAPPER_SETTINGS = ("TRANSCODER_TOPIC", "MAPPER_TOPIC", "CIPHER_TOPIC", "CIPHER_KEY", "COMPRESSOR_TOPIC")


@dataclass
class EncodingShare:
    """The share of a read-ahead batch the relay encodes itself, its worker the rest.

    A fixed share (a tenth, from the costs on a quiet machine: sending a message ~35 µs
    here, encoding one ~45 µs) left the relay waiting for its worker 41 % of its time on a
    shared machine, where reading the next batch also takes this process 16 %. So the share
    follows each batch: still waiting for the worker once its own part is encoded means the
    worker has too much; finding the worker's part done, too little.
    """

    here: float = 0.1
    step: float = 0.05
    most: float = 0.5  # this process also reads and sends: more here and the worker would idle

    def split(self, count: int) -> int:
        """How many of `count` events this process encodes."""
        return int(count * self.here)

    def after_batch(self, waited_for_worker: bool) -> None:
        if waited_for_worker:
            self.here = min(self.most, self.here + self.step)
        else:
            self.here = max(0.0, self.here - self.step)


@dataclass
class _Batch:
    after: int  # the position it was read after
    notifications: list
    # The messages of its first `len(notifications) - here` events, encoded by the worker;
    # the rest are encoded here (all of them without a worker).
    head: Future | None = None
    here: int | None = None

    def messages(self, mapper, share: EncodingShare) -> list[Message]:
        if self.head is None:
            return ledger_messages(self.notifications, mapper)
        tail = ledger_messages(self.notifications[len(self.notifications) - self.here :], mapper)
        share.after_batch(waited_for_worker=not self.head.done())
        return self.head.result() + tail  # the tail was encoded while the worker did the head


# Batches this large are encoded in the worker while the one before is sent.
PIPELINE_FROM = 1000
# A pipeline_from no batch reaches: every batch is encoded in the relay itself, no worker.
NO_WORKER = 2**62


class Relay:
    def __init__(
        self, app: BillingLedger, producer: KafkaProducer, topic: str, batch_size: int = 2500,
        pipeline_from: int = PIPELINE_FROM,
    ):
        self.app = app
        self.producer = producer
        self.topic = topic
        # A relay behind holds two batches (the one sent, the one read ahead) with their
        # messages and futures: 5,000 grew it by about 19 MiB while behind, 2,500 by 7, at
        # the same rate (bench.relay); the flush per batch is about 1 % of its time.
        self.batch_size = batch_size
        # batches this large are encoded in the worker while the one before is sent
        self.pipeline_from = pipeline_from
        self.published = 0
        # partition -> offset after the last message this relay published there: where a
        # reader must have read to before it has seen all of it
        self.published_ends: dict[int, int] = {}
        self._partition_of: dict[bytes, int] = {}
        self._partition_count = 0
        self._encoder: ProcessPoolExecutor | None = None
        self._next: _Batch | None = None
        self.encoding_share = EncodingShare()

    @property
    def tracking_name(self) -> str:
        """The position is per incarnation of the ledger topic: a new, empty topic (a new
        cluster, a restarted in-memory broker) is filled from the start of the store."""
        self.producer.partitions_for(self.topic)  # loads the topic's metadata
        return f"relay:{self.topic}:{topic_id(self.producer._metadata, self.topic)}"

    def position(self) -> int:
        """The notification id of the last event known to be in Kafka."""
        return self.app.recorder.max_tracking_id(self.tracking_name) or 0

    def lag(self) -> int:
        return (self.app.recorder.max_notification_id() or 0) - self.position()

    def restart_from_beginning(self) -> None:
        """For an empty broker: forget the position, so the whole store is published again."""
        self.app.recorder.reset_tracking(self.tracking_name)

    def publish_batch(self) -> int:
        """Publish the next batch of stored events; returns how many."""
        tracking_name = self.tracking_name
        start = self.app.recorder.max_tracking_id(tracking_name) or 0
        batch, self._next = self._next, None
        if batch is None or batch.after != start:
            batch = _Batch(start, self._select(start))
        if not batch.notifications:
            return 0
        if len(batch.notifications) >= self.pipeline_from:
            # Before encoding this one: the worker (started on first use) gets to work meanwhile.
            self._next = self._read_ahead(batch.notifications[-1].id)
        messages = self._messages(batch)
        send, partition, futures = self.producer.send, self._partitioner(), []
        for key, value, headers in messages:
            futures.append(send(self.topic, key=key, value=value, headers=headers, partition=partition(key)))
        self.producer.flush(timeout=SEND_TIMEOUT)  # KafkaTimeoutError: the broker is unreachable
        ends = {}
        for notification, future in zip(batch.notifications, futures):
            try:
                sent = future.get(timeout=0)  # raises if Kafka refused any of them
            except Exception as error:
                log.error("relay: stored event %d was not published to %s: %s: %s",
                          notification.id, self.topic, type(error).__name__, error)
                raise
            ends[sent.partition] = sent.offset + 1
        self.app.recorder.insert_tracking(Tracking(tracking_name, batch.notifications[-1].id))
        self.published_ends.update(ends)
        self.published += len(messages)
        return len(messages)

    def _messages(self, batch: _Batch) -> list[Message]:
        try:
            return batch.messages(self.app.mapper, self.encoding_share)
        except BrokenProcessPool:
            log.warning("the relay's encoding worker stopped; encoding this batch here, a new worker for the next")
            self._drop_worker()
            return ledger_messages(batch.notifications, self.app.mapper)

    def _select(self, after: int) -> list:
        return self.app.recorder.select_notifications(start=after, limit=self.batch_size, inclusive_of_start=False)

    def _read_ahead(self, after: int) -> _Batch | None:
        """The batch after `after`, handed to the worker to encode; None if it is small (the
        relay has caught up and will read it fresh)."""
        notifications = self._select(after)
        if len(notifications) < self.pipeline_from:
            return None
        here = self.encoding_share.split(len(notifications))
        try:
            head = self._worker().submit(_encode_in_worker, notifications[: len(notifications) - here])
        except BrokenProcessPool:
            self._drop_worker()
            return None  # read again, and encoded, when its turn comes
        return _Batch(after, notifications, head, here)

    def _worker(self) -> ProcessPoolExecutor:
        if self._encoder is None:
            env = {name: value for name, value in self.app.env.items() if name in MAPPER_SETTINGS}
            self._encoder = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),  # no inherited connections or threads
                initializer=_start_encoder,
                initargs=(type(self.app), env, os.getpid()),
            )
        return self._encoder

    def _drop_worker(self, wait: bool = False) -> None:
        if self._encoder is not None:
            self._encoder.shutdown(wait=wait, cancel_futures=True)
            self._encoder = None

    def forget_read_ahead(self) -> None:
        """After an outage: the next batch is read again after the recorded position."""
        self._next = None

    def close(self) -> None:
        self.forget_read_ahead()
        self._drop_worker(wait=True)

    def _partitioner(self):
        """The producer's own partitioner, remembered per key (customers repeat; hashing each
        message's key was a tenth of the relay's time). Forgotten when partitions are added."""
        count = len(self.producer.partitions_for(self.topic))
        if count != self._partition_count:
            self._partition_of, self._partition_count = {}, count
        choose, known, metadata = self.producer.config["partitioner"].partition, self._partition_of, self.producer._metadata

        def partition(key: bytes) -> int:
            found = known.get(key)
            if found is None:
                found = known[key] = choose(self.topic, None, key, None, None, metadata)
            return found

        return partition

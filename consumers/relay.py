"""The relay: follows the event store's notification log in order and publishes each event
to the ledger topic, keyed by customer, with its type and id in headers.

At least once: a batch is flushed to Kafka before its position is recorded in PostgreSQL,
so a crash in between republishes it, and projectors skip what they have applied.

Never a gap: notification ids are issued under the recorder's table lock, so they commit
in order, and the relay reads each batch strictly after its recorded position. When it
has caught up it waits for the recorder's NOTIFY (sent by every transaction that stores
events) rather than polling.
"""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import Tracking
from kafka import KafkaProducer
from psycopg.sql import SQL, Identifier

from consumers.ledger_events import to_ledger_record
from consumers.partitions import topic_id
from domain.application import BillingLedger
from schemas import encode_with

log = logging.getLogger(__name__)


class NewEvents:
    """Wakes a waiting relay as soon as a transaction that stored events commits."""

    def __init__(self, database_url: str, channel: str):
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.conn.execute(SQL("LISTEN {}").format(Identifier(channel)))

    def wait(self, timeout: float) -> None:
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            pass

    def close(self) -> None:
        self.conn.close()


class Relay:
    def __init__(self, app: BillingLedger, producer: KafkaProducer, topic: str, batch_size: int = 5000):
        self.app = app
        self.producer = producer
        self.topic = topic
        self.batch_size = batch_size
        self.published = 0
        self._partition_of: dict[bytes, int] = {}
        self._partition_count = 0

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
        notifications = self.app.recorder.select_notifications(start=start, limit=self.batch_size, inclusive_of_start=False)
        if not notifications:
            return 0
        to_domain_event, send, partition = self.app.mapper.to_domain_event, self.producer.send, self._partitioner()
        futures = []
        for notification in notifications:
            schema, record = to_ledger_record(to_domain_event(notification), notification.id)
            key = record["customer_id"].encode()
            futures.append(
                send(
                    self.topic,
                    key=key,
                    value=encode_with(schema, record),
                    headers=[("event_type", schema.short_name.encode()), ("event_id", record["event_id"].encode())],
                    partition=partition(key),
                )
            )
        self.producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises if Kafka refused any of them
        self.app.recorder.insert_tracking(Tracking(tracking_name, notifications[-1].id))
        self.published += len(notifications)
        return len(notifications)

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

"""The relay: follows the event store's notification log in order and publishes each event
to the ledger topic, keyed by customer, with its type and id in headers.

At least once: a batch is flushed to Kafka before its position is recorded in PostgreSQL,
so a crash in between republishes it, and projectors skip what they have applied.
"""

from __future__ import annotations

import logging

from eventsourcing.persistence import Tracking
from kafka import KafkaProducer

from consumers.ledger_events import to_ledger_record
from consumers.partitions import topic_id
from domain.application import BillingLedger
from schemas import registry

log = logging.getLogger(__name__)


class Relay:
    def __init__(self, app: BillingLedger, producer: KafkaProducer, topic: str, batch_size: int = 5000):
        self.app = app
        self.producer = producer
        self.topic = topic
        self.batch_size = batch_size
        self.published = 0

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
        notifications = self.app.recorder.select_notifications(
            start=self.position(), limit=self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        codec = registry()
        futures = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            schema, record = to_ledger_record(event, notification.id)
            futures.append(
                self.producer.send(
                    self.topic,
                    key=record["customer_id"].encode(),
                    value=codec.encode(schema.name, record),
                    headers=[
                        ("event_type", schema.short_name.encode()),
                        ("event_id", record["event_id"].encode()),
                    ],
                )
            )
        self.producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises if Kafka refused any of them
        self.app.recorder.insert_tracking(Tracking(self.tracking_name, notifications[-1].id))
        self.published += len(notifications)
        return len(notifications)

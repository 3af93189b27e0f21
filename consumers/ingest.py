"""Usage ingest: `billing.usage.v1` to the event store, exactly once, dead letters with reasons.

Per partition batch, in order:
1. decode each message; one that is not a valid UsageEvent becomes a dead letter;
2. the application rates the rest and says which it refuses and which are duplicates;
3. dead letters are sent to the DLQ topic and flushed;
4. the usage events and the batch's position (`ingest:<topic>:<topic id>:<partition>`,
   last offset)
   are committed in one PostgreSQL transaction.
A crash before 4 replays the batch (dead letters may repeat, usage never does); a crash
after 4 resumes from the recorded position.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from eventsourcing.persistence import Tracking
from kafka import KafkaProducer

from consumers.partitions import Source

from domain.application import BillingLedger, UsageOutcome
from domain.usage import UsageReport
from schemas import DecodeError, registry

log = logging.getLogger(__name__)

USAGE_SCHEMA = "billing.usage.UsageEvent"
ACTOR = "system:ingest"


def decode_usage(data: bytes) -> UsageReport:
    _, record = registry().decode(data, expect=USAGE_SCHEMA)
    return UsageReport(
        usage_id=record["event_id"],
        source=record["source_system"],
        customer_id=record["customer_id"],
        subscription_id=record["subscription_id"],
        product=record["product"],
        meter=record["meter"],
        quantity=record["quantity"],
        unit=record["unit"],
        period_start=record["usage_start"],
        period_end=record["usage_end"],
        observed_at=record["observed_at"],
        attributes=dict(record["attributes"]),
    )


@dataclass
class IngestCounts:
    consumed: int = 0
    recorded: int = 0
    duplicates: int = 0
    dead_letters: int = 0

    def add(self, other: IngestCounts) -> None:
        for name in ("consumed", "recorded", "duplicates", "dead_letters"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class UsageIngest:
    def __init__(self, app: BillingLedger, dlq_producer: KafkaProducer, dlq_topic: str):
        self.app = app
        self.dlq_producer = dlq_producer
        self.dlq_topic = dlq_topic
        self.counts = IngestCounts()

    @staticmethod
    def tracking_name(source: Source) -> str:
        return f"ingest:{source.key}"

    def recorded_position(self, source: Source) -> int | None:
        last = self.app.recorder.max_tracking_id(self.tracking_name(source))
        return None if last is None else last + 1

    def handle_batch(self, source: Source, records: list) -> IngestCounts:
        reports, sources, dead = [], [], []
        for record in records:
            try:
                reports.append(decode_usage(record.value))
                sources.append(record)
            except DecodeError as error:
                dead.append((record, error.reason, error.detail))

        def dead_letter_refused(outcome: UsageOutcome) -> None:
            refused = dead + [(sources[i], error.code, str(error)) for i, error in outcome.rejected]
            for record, reason, detail in refused:
                self._send_dead_letter(record, reason, detail)
            if refused:
                self.dlq_producer.flush()

        outcome = self.app.record_usage(
            reports,
            actor=ACTOR,
            tracking=Tracking(self.tracking_name(source), records[-1].offset),
            before_commit=dead_letter_refused,
        )
        batch = IngestCounts(
            consumed=len(records),
            recorded=len(outcome.recorded),
            duplicates=len(outcome.duplicates),
            dead_letters=len(dead) + len(outcome.rejected),
        )
        self.counts.add(batch)
        return batch

    def _send_dead_letter(self, record, reason: str, detail: str) -> None:
        log.warning(
            "dead letter %s:%d@%d: %s: %s", record.topic, record.partition, record.offset, reason, detail
        )
        self.dlq_producer.send(
            self.dlq_topic,
            key=record.key,
            value=record.value,
            headers=[
                ("reason", reason.encode()),
                ("detail", detail.encode()),
                ("source_topic", record.topic.encode()),
                ("source_partition", str(record.partition).encode()),
                ("source_offset", str(record.offset).encode()),
                ("dead_lettered_at", datetime.now(timezone.utc).isoformat().encode()),
            ],
        )

"""Usage ingest: `billing.usage.v1` to the event store, exactly once, dead letters with reasons.

Per partition batch, in order:
1. decode and check each message; one that is not a valid UsageEvent keyed by its customer
   becomes a dead letter with a reason code (consumers/dead_letters.REASONS), and so does
   one whose handling fails unexpectedly (`unexpected_error`): one bad message never stops
   the ingest;
2. the application rates the rest and says which it refuses, which are duplicates and which
   are conflicting duplicates (the same usage id with other content: dead-lettered too);
3. dead letters are sent to the DLQ topic and flushed;
4. the usage events, the batch's position (`ingest:<topic>:<topic id>:<partition>`, last
   offset) and the batch's counts (consumed, recorded, duplicates, conflicting, dead
   letters) are committed in one PostgreSQL transaction.
A crash before 4 replays the batch (dead letters may repeat, usage and counts never do);
a crash after 4 resumes from the recorded position.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

from eventsourcing.persistence import Tracking
from kafka import KafkaProducer

from consumers.dead_letters import DeadLetterSender, cut
from consumers.partitions import Source
from domain.application import BillingLedger, UsageOutcome
from domain.bounds import printable
from domain.errors import InvalidCommand, LedgerError
from domain.usage import ConflictingUsage, InvalidUsageReport, UsageReport
from schemas import DecodeError, SchemaRegistry, registry

log = logging.getLogger(__name__)

USAGE_SCHEMA = "billing.usage.UsageEvent"
ACTOR = "system:ingest"


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def decode_usage(data: bytes, codec: SchemaRegistry | None = None, now: datetime | None = None) -> UsageReport:
    """A UsageReport from a single-object UsageEvent; DecodeError names why not."""
    _, record = (codec or registry()).decode(data, expect=USAGE_SCHEMA)
    report = UsageReport(
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
        attributes=record["attributes"],
    )
    check_usage(report, now)
    return report


def check_usage(report: UsageReport, now: datetime | None = None) -> None:
    """The checks a report passes before the ledger sees it, each with its own reason code.

    They are the domain's own (UsageReport.check_valid, the bounds of domain/bounds.py);
    made here first, with the ingest's clock, they give the dead letter a reason an
    upstream team can act on.
    """
    try:
        report.check_valid(now)
    except InvalidUsageReport as error:
        raise DecodeError(error.reason, error.detail) from None


def check_key(key: bytes | None, report: UsageReport) -> None:
    """The key is the customer id: it keeps a customer's usage on one partition, in order."""
    if key != report.customer_id.encode():
        shown = "no key" if key is None else f"key {printable(key.decode(errors='replace'))}"
        raise DecodeError(
            "key_mismatch", f"usage {printable(report.usage_id)}: {shown}, not its customer id {printable(report.customer_id)}"
        )


def refusal_reason(error: LedgerError) -> str:
    if isinstance(error, (InvalidUsageReport, ConflictingUsage)):
        return error.reason
    # What is left of invalid_command once check_usage passed: the subscription's product,
    # meter or unit do not match; the detail says which.
    return "invalid_usage" if isinstance(error, InvalidCommand) else error.code


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:500]}"


@dataclass
class IngestCounts:
    consumed: int = 0
    recorded: int = 0
    duplicates: int = 0
    conflicting: int = 0  # conflicting duplicates: dead-lettered, counted apart
    dead_letters: int = 0

    def add(self, other: IngestCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def set(self, other: IngestCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    @property
    def reconciles(self) -> bool:
        return self.consumed == self.recorded + self.duplicates + self.conflicting + self.dead_letters


@dataclass(frozen=True)
class CountedTracking(Tracking):
    """A batch's position, with its counts: the recorder writes both in the batch's transaction."""

    counts: IngestCounts = field(default_factory=IngestCounts, compare=False)


class UsageIngest:
    def __init__(
        self,
        app: BillingLedger,
        dlq_producer: KafkaProducer,
        dlq_topic: str,
        codec: SchemaRegistry | None = None,
        clock: Clock = utc_now,
    ):
        self.app = app
        self.dead_letters = DeadLetterSender(dlq_producer, dlq_topic)
        self.codec = codec or registry()
        self.clock = clock  # business time may be at most bounds.MAX_CLOCK_SKEW ahead of it
        self.counts = IngestCounts()

    @property
    def dlq_producer(self) -> KafkaProducer:
        return self.dead_letters.producer

    @staticmethod
    def tracking_name(source: Source) -> str:
        return f"ingest:{source.key}"

    def recorded_position(self, source: Source) -> int | None:
        last = self.app.recorder.max_tracking_id(self.tracking_name(source))
        return None if last is None else last + 1

    def read(self, record, now: datetime) -> UsageReport:
        """One message as a checked report; DecodeError says why not, whatever went wrong."""
        try:
            report = decode_usage(record.value, self.codec, now)
            check_key(record.key, report)
            return report
        except DecodeError:
            raise
        except Exception as error:  # noqa: BLE001 - one bad message must not stop the partition
            log.error(
                "unexpected failure reading %s:%d@%d: %s", record.topic, record.partition, record.offset, one_line(error),
                exc_info=True,
            )
            raise DecodeError("unexpected_error", one_line(error)) from error

    def handle_batch(self, source: Source, records: list) -> IngestCounts:
        reports, accepted, refused = [], [], []
        now = self.clock()
        for record in records:
            try:
                reports.append(self.read(record, now))
                accepted.append(record)
            except DecodeError as error:
                refused.append((record, error.reason, error.detail))

        tracking = CountedTracking(self.tracking_name(source), records[-1].offset)

        def dead_letter_refused(outcome: UsageOutcome) -> None:
            rejected = [
                (accepted[i], refusal_reason(error), str(error)) for i, error in outcome.rejected + outcome.conflicting
            ]
            for record, reason, detail in refused + rejected:
                log.warning("dead letter %s:%d@%d: %s: %s", record.topic, record.partition, record.offset, reason, printable(cut(detail)))
                self.dead_letters.send(record, reason, detail)
            self.dead_letters.flush()
            # Called again if the write is retried: the counts follow the latest outcome.
            tracking.counts.set(
                IngestCounts(
                    consumed=len(records),
                    recorded=len(outcome.recorded),
                    duplicates=len(outcome.duplicates),
                    conflicting=len(outcome.conflicting),
                    dead_letters=len(refused) + len(outcome.rejected),
                )
            )

        outcome = self.app.record_usage(reports, actor=ACTOR, tracking=tracking, before_commit=dead_letter_refused)
        if outcome.already_tracked:
            # Another member committed this very batch (a rebalance): its counts are in.
            batch = IngestCounts(consumed=len(records), duplicates=len(reports), dead_letters=len(refused))
        else:
            batch = tracking.counts
        self.counts.add(batch)
        return batch

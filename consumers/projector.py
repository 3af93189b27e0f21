"""The projector: `billing.ledger.v1` to the read models, each batch with its offsets in one
PostgreSQL transaction, so a crash never applies an event twice nor loses one.

Every projection of the registry sees every batch; each skips the events at or below its
per-customer watermark (projections/base.py), so a republished event changes nothing, and
a rebuilt projection swapped in behind the projector's back catches up without doubling.

Policy for a record on the ledger topic that it cannot decode (garbage, a foreign or
unknown fingerprint, a record of another schema): a dead letter on `<ledger topic>.dlq`,
the original key, value and headers with a reason, sent and flushed before the batch's
offsets commit, and counted with those offsets (`projector_offsets.dead_letters`). The
relay publishes only what the store holds, so such a record was never a ledger event:
the read models stay what the store says (`ledger verify`), and the projector goes on.
Any other failure stops it, its log line naming topic, partition and offsets.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg.sql import SQL, Identifier

from consumers.dead_letters import DeadLetterSender
from consumers.ledger_decoder import LedgerDecoder, Refused, where
from consumers.partitions import Source
from projections import views
from projections.base import LedgerEvent, Projection
from projections.registry import all_projections

log = logging.getLogger(__name__)

OFFSETS_DDL = """
CREATE TABLE IF NOT EXISTS projector_offsets (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    topic_id       text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL,
    PRIMARY KEY (consumer_group, topic, topic_id, partition)
);
-- records dead-lettered before next_offset (added after the first release, hence ALTER)
ALTER TABLE projector_offsets ADD COLUMN IF NOT EXISTS dead_letters bigint NOT NULL DEFAULT 0"""

SAVE_OFFSET = """
INSERT INTO projector_offsets (consumer_group, topic, topic_id, partition, next_offset, dead_letters)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (consumer_group, topic, topic_id, partition) DO UPDATE
SET next_offset = excluded.next_offset, dead_letters = projector_offsets.dead_letters + excluded.dead_letters"""

LOAD_OFFSET = """
SELECT next_offset FROM projector_offsets
WHERE consumer_group = %s AND topic = %s AND topic_id = %s AND partition = %s"""

# One reader of a partition at a time per group, for the length of a batch's transaction.
PARTITION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"

DEFAULT_VIEWS_SCHEMA = "ledger_views"
# Projector instances starting together would race on CREATE ... IF NOT EXISTS.
_SET_UP_LOCK = 0x1ED9E5  # any constant; pg_advisory_xact_lock takes a bigint


def connect_read_models(database_url: str, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(database_url)
    conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
    conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
    conn.commit()
    return conn


def connect_projector(database_url: str, schema: str) -> psycopg.Connection:
    """The projector's connection: its commits do not wait for PostgreSQL to flush them to
    disk (synchronous_commit off; about a millisecond a commit here, and a steady stream
    commits a batch per partition per poll). What it writes can be made again: a crash of
    PostgreSQL may lose its last commits, rows and offsets together (one transaction), and
    the projector reads those records from the topic again. The event store's own writes
    (the ingest's, the commands') keep waiting: they are the record."""
    conn = connect_read_models(database_url, schema)
    conn.execute("SET synchronous_commit TO off")
    conn.commit()
    return conn


def set_up_read_side(conn: psycopg.Connection, projections: list[Projection], views_schema: str) -> None:
    """Create the offsets table, the projections' tables in the connection's schema, and their views."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_SET_UP_LOCK,))
        cursor.execute(OFFSETS_DDL)
        for projection in projections:
            projection.create(cursor)
        cursor.execute("SELECT current_schema()")
        views.publish(cursor, projections, cursor.fetchone()[0], views_schema)


class Projector:
    def __init__(
        self, conn: psycopg.Connection, group: str, projections=None, views_schema: str = DEFAULT_VIEWS_SCHEMA,
        dead_letters: DeadLetterSender | None = None,
    ):
        self.conn = conn
        self.group = group
        self.projections = projections or all_projections()
        self.decoder = LedgerDecoder({t for p in self.projections for t in p.event_types})
        # without a sender (a projector built by hand), a record it cannot read stops it
        self.dead_letters = dead_letters
        self.applied = 0
        self.dead_lettered = 0
        set_up_read_side(conn, self.projections, views_schema)

    def recorded_position(self, source: Source) -> int | None:
        with self.conn.transaction():
            row = self.conn.execute(
                LOAD_OFFSET, (self.group, source.topic, source.topic_id, source.partition)
            ).fetchone()
        return None if row is None else row[0]

    def handle_batch(self, source: Source, records: list) -> int:
        events: list[LedgerEvent] = []
        try:
            with self.conn.transaction(), self.conn.cursor() as cursor:
                unread = self._not_yet_applied(cursor, source, records)
                if not unread:
                    return 0
                refused: list[Refused] = []
                events = self.decoder.decode(unread, None if self.dead_letters is None else refused)
                applied = self._apply(cursor, source, unread, events, refused)
            self.applied += applied
            self.dead_lettered += len(refused)
            return applied
        except Exception as error:
            culprit = "" if isinstance(error, psycopg.Error) else self._culprit(events)
            log.error(
                "projector: batch %s:%d offsets %d to %d not applied%s: %s: %s",
                source.topic, source.partition, records[0].offset, records[-1].offset, culprit,
                type(error).__name__, error,
            )
            raise

    def _not_yet_applied(self, cursor, source: Source, records: list) -> list:
        """The records past the partition's recorded offset, read under a lock held to the
        commit: another reader of the partition (a run `--until-idle` beside the group, a
        member that lost it in a rebalance) commits before or after this batch, never
        beside it, and what it committed is not applied again nor counted twice."""
        cursor.execute(PARTITION_LOCK, (f"{self.group}:{source.key}",), prepare=True)
        row = cursor.execute(LOAD_OFFSET, (self.group, source.topic, source.topic_id, source.partition),
                             prepare=True).fetchone()
        return records if row is None else [record for record in records if record.offset >= row[0]]

    def _apply(self, cursor, source: Source, records: list, events: list[LedgerEvent], refused: list[Refused]) -> int:
        applied = 0
        for projection in self.projections:
            applied = max(applied, projection.apply(cursor, events))
        cursor.execute(
            SAVE_OFFSET,
            (self.group, source.topic, source.topic_id, source.partition, records[-1].offset + 1, len(refused)),
            prepare=True,
        )
        self._dead_letter(refused)  # before the commit: a crash may repeat a dead letter, never lose one
        return applied

    def _culprit(self, events: list[LedgerEvent]) -> str:
        """The first event a projection cannot fold, named; the folds are pure, so they can
        be tried one event at a time."""
        for projection in self.projections:
            for event_type, event in projection.relevant(events):
                try:
                    projection.changes([(event_type, event)])
                except Exception:  # noqa: BLE001 - only looking for which event fails
                    return f" (at notification {event['notification_id']}, {event_type} of customer {event['customer_id']!r})"
        return ""

    def _dead_letter(self, refused: list[Refused]) -> None:
        for record, error in refused:
            log.warning("projector: dead letter %s: %s: %s", where(record), error.reason, error.detail)
            self.dead_letters.send(record, error.reason, error.detail)
        if refused:
            self.dead_letters.flush()


def dead_letter_counts(conn: psycopg.Connection, group: str) -> dict[str, int]:
    """Records the projector group dead-lettered, per topic (every incarnation and partition)."""
    rows = conn.execute(
        "SELECT topic, sum(dead_letters)::bigint FROM projector_offsets WHERE consumer_group = %s GROUP BY topic",
        (group,),
    ).fetchall()
    return dict(rows)

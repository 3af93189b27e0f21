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

import io
import logging
from typing import Any

import fastavro
import psycopg
from psycopg.sql import SQL, Identifier

from consumers.dead_letters import DeadLetterSender
from consumers.ledger_events import SCHEMA_OF_EVENT
from consumers.partitions import Source
from projections import views
from projections.base import LedgerEvent, Projection
from projections.registry import all_projections
from schemas import HEADER_LENGTH, DecodeError, registry

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

DEFAULT_VIEWS_SCHEMA = "ledger_views"
# Projector instances starting together would race on CREATE ... IF NOT EXISTS.
_SET_UP_LOCK = 0x1ED9E5  # any constant; pg_advisory_xact_lock takes a bigint


class UndecodableLedgerEvent(RuntimeError):
    pass


# Every schema a ledger event may have: a record of any other is on the wrong topic.
LEDGER_SCHEMAS = frozenset(SCHEMA_OF_EVENT.values())
LEDGER_TYPES = frozenset(name.rsplit(".", 1)[-1] for name in LEDGER_SCHEMAS)  # as the event_type header names them
Refused = tuple[Any, DecodeError]  # a record, and why it cannot be read


def connect_read_models(database_url: str, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(database_url)
    conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
    conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
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


class LedgerDecoder:
    """Decodes ledger records to (event type, record), leaving out the types no projection reads.

    The relay names each record's type in its `event_type` header: a record of a type no
    projection reads is not decoded at all (Avro decoding is most of a batch's cost); one
    whose header names no ledger event type is refused without decoding. A
    record written with its reader schema is read straight, with uuid fields left as the
    strings they are on the wire (as the store's records have them: no UUID objects to
    build); any other goes through the registry's schema resolution.
    """

    def __init__(self, event_types: set[str]):
        self.event_types = event_types
        self.codec = registry()
        self.straight: dict[bytes, tuple[str, Any] | None] = {}

    def decode(self, records: list, refused: list[Refused] | None = None) -> list[LedgerEvent]:
        """The batch's events of the wanted types. A record that cannot be read goes to
        `refused` with the reason; without `refused`, it raises UndecodableLedgerEvent."""
        events = []
        wanted = self.event_types
        for record in records:
            declared = _header(record, "event_type")
            if declared is not None and declared not in wanted and declared in LEDGER_TYPES:
                continue
            try:
                event_type, event = self._decode(record, declared)
            except DecodeError as error:
                if refused is None:
                    raise UndecodableLedgerEvent(f"{where(record)}: {error}") from error
                refused.append((record, error))
                continue
            if event_type in wanted:
                events.append((event_type, event))
        return events

    def _decode(self, record, declared: str | None) -> tuple[str, dict]:
        data = record.value
        if declared is not None and declared not in LEDGER_TYPES:
            raise DecodeError("wrong_schema", f"its event_type header {declared!r} names no ledger event")
        if not data:
            raise DecodeError("not_single_object", "the record has no value")
        plain = self.straight.get(data[2:HEADER_LENGTH], False)
        if plain is False:
            plain = self.straight[data[2:HEADER_LENGTH]] = self._plain_reader(data)
        if plain is not None:
            body = io.BytesIO(data)
            body.seek(HEADER_LENGTH)
            try:
                event = fastavro.schemaless_reader(body, plain[1], None)
                if body.tell() == len(data):
                    return plain[0], event
            except Exception:  # noqa: BLE001 - the registry's decode below names what is wrong
                pass
        schema, event = self.codec.decode(data)
        if schema.name not in LEDGER_SCHEMAS:
            raise DecodeError("wrong_schema", f"expected a ledger event, got a {schema.name}")
        return schema.short_name, event

    def _plain_reader(self, data: bytes) -> tuple[str, Any] | None:
        try:
            writer = self.codec.writer_of(data)
        except DecodeError:
            return None
        if writer.name not in LEDGER_SCHEMAS or self.codec.reader_of(writer.name) is not writer or not writer.source:
            return None
        return writer.short_name, fastavro.parse_schema(_without_uuid(writer.source))


def _without_uuid(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("logicalType") == "uuid":
            return node["type"]
        return {key: _without_uuid(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_uuid(item) for item in node]
    return node


def where(record) -> str:
    return f"{record.topic}:{record.partition}@{record.offset}"


def _header(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


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
            refused: list[Refused] = []
            events = self.decoder.decode(records, None if self.dead_letters is None else refused)
            return self._commit(source, records, events, refused)
        except Exception as error:
            culprit = "" if isinstance(error, psycopg.Error) else self._culprit(events)
            log.error(
                "projector: batch %s:%d offsets %d to %d not applied%s: %s: %s",
                source.topic, source.partition, records[0].offset, records[-1].offset, culprit,
                type(error).__name__, error,
            )
            raise

    def _commit(self, source: Source, records: list, events: list[LedgerEvent], refused: list[Refused]) -> int:
        applied = 0
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for projection in self.projections:
                applied = max(applied, projection.apply(cursor, events))
            cursor.execute(
                SAVE_OFFSET,
                (self.group, source.topic, source.topic_id, source.partition, records[-1].offset + 1, len(refused)),
                prepare=True,
            )
            self._dead_letter(refused)  # before the commit: a crash may repeat a dead letter, never lose one
        self.applied += applied
        self.dead_lettered += len(refused)
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

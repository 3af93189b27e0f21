"""The projector: `billing.ledger.v1` to the read models, each batch with its offsets in one
PostgreSQL transaction, so a crash never applies an event twice nor loses one.

Every projection of the registry sees every batch; each skips the events at or below its
per-customer watermark (projections/base.py), so a republished event changes nothing, and
a rebuilt projection swapped in behind the projector's back catches up without doubling.

Policy for a ledger event it cannot decode: stop, naming topic, partition and offset.
Skipping it would leave the read models silently wrong; the fix is a schema or a
projector upgrade, after which the projector resumes from that very offset.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import fastavro
import psycopg
from psycopg.sql import SQL, Identifier

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
)"""

SAVE_OFFSET = """
INSERT INTO projector_offsets (consumer_group, topic, topic_id, partition, next_offset)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (consumer_group, topic, topic_id, partition) DO UPDATE SET next_offset = excluded.next_offset"""

LOAD_OFFSET = """
SELECT next_offset FROM projector_offsets
WHERE consumer_group = %s AND topic = %s AND topic_id = %s AND partition = %s"""

DEFAULT_VIEWS_SCHEMA = "ledger_views"
# Projector instances starting together would race on CREATE ... IF NOT EXISTS.
_SET_UP_LOCK = 0x1ED9E5  # any constant; pg_advisory_xact_lock takes a bigint


class UndecodableLedgerEvent(RuntimeError):
    pass


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
    projection reads is not decoded at all (Avro decoding is most of a batch's cost). A
    record written with its reader schema is read straight, with uuid fields left as the
    strings they are on the wire (as the store's records have them: no UUID objects to
    build); any other goes through the registry's schema resolution.
    """

    def __init__(self, event_types: set[str]):
        self.event_types = event_types
        self.codec = registry()
        self.straight: dict[bytes, tuple[str, Any] | None] = {}

    def decode(self, records: list) -> list[LedgerEvent]:
        events = []
        wanted = self.event_types
        for record in records:
            declared = _header(record, "event_type")
            if declared is not None and declared not in wanted:
                continue
            event_type, event = self._decode(record)
            if event_type in wanted:
                events.append((event_type, event))
        return events

    def _decode(self, record) -> tuple[str, dict]:
        data = record.value
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
        try:
            schema, event = self.codec.decode(data)
        except DecodeError as error:
            raise UndecodableLedgerEvent(f"{record.topic}:{record.partition}@{record.offset}: {error}") from error
        return schema.short_name, event

    def _plain_reader(self, data: bytes) -> tuple[str, Any] | None:
        try:
            writer = self.codec.writer_of(data)
        except DecodeError:
            return None
        if self.codec.reader_of(writer.name) is not writer or not writer.source:
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


def _header(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


class Projector:
    def __init__(self, conn: psycopg.Connection, group: str, projections=None, views_schema: str = DEFAULT_VIEWS_SCHEMA):
        self.conn = conn
        self.group = group
        self.projections = projections or all_projections()
        self.decoder = LedgerDecoder({t for p in self.projections for t in p.event_types})
        self.applied = 0
        set_up_read_side(conn, self.projections, views_schema)

    def recorded_position(self, source: Source) -> int | None:
        with self.conn.transaction():
            row = self.conn.execute(
                LOAD_OFFSET, (self.group, source.topic, source.topic_id, source.partition)
            ).fetchone()
        return None if row is None else row[0]

    def handle_batch(self, source: Source, records: list) -> int:
        events = self.decoder.decode(records)
        applied = 0
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for projection in self.projections:
                applied = max(applied, projection.apply(cursor, events))
            cursor.execute(
                SAVE_OFFSET,
                (self.group, source.topic, source.topic_id, source.partition, records[-1].offset + 1),
                prepare=True,
            )
        self.applied += applied
        return applied

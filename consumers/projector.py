"""The projector: `billing.ledger.v1` to the read models, each batch with its offsets in one
PostgreSQL transaction, so a crash never applies an event twice nor loses one.

Policy for a ledger event it cannot decode: stop, naming topic, partition and offset.
Skipping it would leave the read models silently wrong; the fix is a schema or a
projector upgrade, after which the projector resumes from that very offset.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg.sql import SQL, Identifier

from consumers.partitions import Source
from projections.balances import BalancesProjection
from schemas import DecodeError, registry

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


class UndecodableLedgerEvent(RuntimeError):
    pass


def connect_read_models(database_url: str, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(database_url)
    conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
    conn.execute(SQL("SET search_path TO {}").format(Identifier(schema)))
    conn.commit()
    return conn


class Projector:
    def __init__(self, conn: psycopg.Connection, group: str, projections=None):
        self.conn = conn
        self.group = group
        self.projections = projections or [BalancesProjection()]
        self.applied = 0
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(OFFSETS_DDL)
            for projection in self.projections:
                projection.create(cursor)

    def recorded_position(self, source: Source) -> int | None:
        with self.conn.transaction():
            row = self.conn.execute(
                LOAD_OFFSET, (self.group, source.topic, source.topic_id, source.partition)
            ).fetchone()
        return None if row is None else row[0]

    def handle_batch(self, source: Source, records: list) -> int:
        codec = registry()
        events = []
        for record in records:
            try:
                schema, event = codec.decode(record.value)
            except DecodeError as error:
                raise UndecodableLedgerEvent(
                    f"{record.topic}:{record.partition}@{record.offset}: {error}"
                ) from error
            events.append((schema.short_name, event))
        applied = 0
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for projection in self.projections:
                applied = max(applied, projection.apply(cursor, events))
            cursor.execute(
                SAVE_OFFSET,
                (self.group, source.topic, source.topic_id, source.partition, records[-1].offset + 1),
            )
        self.applied += applied
        return applied

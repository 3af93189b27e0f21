"""Ledger events read straight from the event store: the notification log in order, or one
customer's events, each converted as the relay converts it (the application's mapper, then
consumers/ledger_events.to_ledger_record), so a projection sees the same records as from Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any, NamedTuple

import psycopg
from eventsourcing.persistence import Mapper
from eventsourcing.utils import resolve_topic
from psycopg.sql import SQL, Identifier

from consumers.ledger_events import SCHEMA_OF_EVENT, to_ledger_record
from projections.base import LedgerEvent

EVENTS_TABLE = "ledger_events"  # the recorder's table: the application is named "ledger"
ACCESS_EVENTS_TABLE = "access_events"  # the service's sign-ins and tokens: its application is named "access"
# The append-only, hash-chained logs of the store (eventstore/chain.py), in the order
# `ledger verify --store` and `ledger db migrate` take them.
APPEND_ONLY_LOGS = (EVENTS_TABLE, ACCESS_EVENTS_TABLE)
COLUMNS = "notification_id, originator_id, originator_version, topic, state"


class _Stored(NamedTuple):
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


def events_table(store_schema: str) -> Identifier:
    return Identifier(store_schema, EVENTS_TABLE)


@cache
def ledger_type(topic: str) -> str | None:
    """The ledger event type a stored event's topic becomes; None for a type not published."""
    schema = SCHEMA_OF_EVENT.get(resolve_topic(topic))
    return None if schema is None else schema.rsplit(".", 1)[-1]


def to_ledger_events(rows: Iterable[tuple], mapper: Mapper, wanted: Callable[[str], bool] = lambda _: True) -> list[LedgerEvent]:
    """Rows of (notification id, originator id, version, topic, state) to ledger events.

    A stored event of a type nobody wants is not decoded: most of the cost is decoding.
    """
    events = []
    for notification_id, originator_id, version, topic, state in rows:
        event_type = ledger_type(topic)
        if event_type is None or not wanted(event_type):
            continue
        # the mapper reads these four attributes; a named tuple is cheaper than the frozen dataclass
        domain_event = mapper.to_domain_event(_Stored(originator_id, version, topic, bytes(state)))
        schema, record = to_ledger_record(domain_event, notification_id)
        events.append((schema.short_name, record))
    return events


def max_notification_id(conn: psycopg.Connection, store_schema: str, table: str = EVENTS_TABLE) -> int:
    statement = SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(Identifier(store_schema, table))
    return conn.execute(statement).fetchone()[0]


def log_exists(conn: psycopg.Connection, store_schema: str, table: str) -> bool:
    """Whether the store holds this log yet (the access log appears once the service made it)."""
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{store_schema}"."{table}"',)).fetchone()[0]


def read_log(conn: psycopg.Connection, store_schema: str, after: int, through: int, chunk: int) -> Iterator[list[tuple]]:
    """The stored events with notification ids in (after, through], in order, chunk by chunk."""
    statement = SQL(
        "SELECT " + COLUMNS + " FROM {} WHERE notification_id > %s AND notification_id <= %s "
        "ORDER BY notification_id LIMIT %s"
    ).format(events_table(store_schema))
    while after < through:
        with conn.cursor(binary=True) as cursor:
            rows = cursor.execute(statement, (after, through, chunk), prepare=True).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]

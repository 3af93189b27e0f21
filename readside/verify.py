"""`ledger verify`: recompute every projection from the event store and compare with the live
tables, difference by difference (row key, column, live value, recomputed value).

Everything is read in one REPEATABLE READ transaction: the live rows, their watermarks and
the store as of one snapshot. The recomputation goes into the projection's tables created
in pg_temp (this session's private copy), through the same functions and SQL as the live
projector. A projector that runs behind the store is not a difference: each customer is
recomputed only up to the event its live watermark names. A customer with events in the
store but no live row at all is reported (a lost row and a projector that has not reached
the customer yet look the same: verify a caught-up projector).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from eventstore.chain import Break, ChainReport, Head, walk_chain
from eventstore.postgres import open_application
from projections.base import Projection
from projections.registry import all_projections, projection_named
from readside.event_log import (
    APPEND_ONLY_LOGS,
    EVENTS_TABLE,
    log_exists,
    max_notification_id,
    read_log,
    to_ledger_events,
)
from readside.progress import Progress
from readside.settings import ReadSideSettings

EXIT_DIFFERENT = 1  # `ledger verify` exit status when any difference is found
MISSING = "(no row)"
CHUNK = 20_000


@dataclass(frozen=True)
class Difference:
    projection: str
    table: str
    key: str
    column: str
    live: Any
    recomputed: Any


def verify(settings: ReadSideSettings, names: list[str] | None = None) -> tuple[list[Difference], int]:
    """Returns the differences and the number of stored events read (the log is read once,
    for all the projections together)."""
    projections = [projection_named(n) for n in names] if names else all_projections()
    app = open_application(settings)
    try:
        with psycopg.connect(settings.database_url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                return _verify(conn, settings, projections, app.mapper)
    finally:
        app.close()


def _verify(conn, settings: ReadSideSettings, projections: list[Projection], mapper) -> tuple[list[Difference], int]:
    tables = [(p, table) for p in projections for table in p.tables]
    live = {table: _rows(conn, Identifier(settings.read_schema, table)) for _, table in tables}
    # pg_temp is searched first unless named: name it last, so the watermarks are the live ones.
    live_path = SQL("SET LOCAL search_path TO {}, pg_temp").format(Identifier(settings.read_schema))
    cutoffs: dict[str, dict[str, int | None]] = {p.name: {} for p in projections}
    wanted = frozenset().union(*(p.event_types for p in projections))
    count = 0
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL search_path TO pg_temp")
        for projection in projections:
            projection.create(cursor)
        for rows in read_log(conn, settings.store_schema, 0, max_notification_id(conn, settings.store_schema), CHUNK):
            count += len(rows)
            events = to_ledger_events(rows, mapper, wanted.__contains__)
            for projection in projections:
                relevant = projection.relevant(events)
                cursor.execute(live_path)
                _learn_cutoffs(cursor, projection, relevant, cutoffs[projection.name])
                cursor.execute("SET LOCAL search_path TO pg_temp")
                kept = [(t, e) for t, e in relevant if _within(e, cutoffs[projection.name])]
                projection.write(cursor, projection.changes(kept))
        recomputed = {table: _rows(conn, Identifier("pg_temp", table)) for _, table in tables}
        for _, table in tables:
            cursor.execute(SQL("DROP TABLE {}").format(Identifier("pg_temp", table)))
        cursor.execute(live_path)
    differences = [d for p, table in tables for d in _compare(p.name, table, live[table], recomputed[table])]
    return differences, count


def _within(event: dict, cutoffs: dict[str, int | None]) -> bool:
    cutoff = cutoffs[event["customer_id"]]
    return cutoff is None or event["notification_id"] <= cutoff


def _learn_cutoffs(cursor, projection: Projection, events, cutoffs: dict[str, int | None]) -> None:
    """The live watermark of each customer not seen yet (None: no live row, recompute all)."""
    new = list({e["customer_id"] for _, e in events} - cutoffs.keys())
    if not new:
        return
    found = projection.watermarks(cursor, new, lock=False)
    for customer in new:
        cutoffs[customer] = found.get(customer)


def _rows(conn, table: Identifier) -> dict[str, dict]:
    """The table's rows by primary key (its columns joined by '/'; every column without one)."""
    with conn.cursor() as cursor:
        name = table.as_string(conn)
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (name,),
        )
        key = [row[0] for row in cursor.fetchall()]
        cursor.execute(SQL("SELECT * FROM {}").format(table))
        columns = [c.name for c in cursor.description]
        key = key or columns
        rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
        return {"/".join(str(r[k]) for k in key): r for r in rows}


def _compare(projection: str, table: str, live: dict, recomputed: dict) -> Iterator[Difference]:
    for key in sorted(live.keys() | recomputed.keys()):
        mine, theirs = live.get(key), recomputed.get(key)
        if mine is None or theirs is None:
            yield Difference(projection, table, key, "(row)", MISSING if mine is None else "present", MISSING if theirs is None else "present")
            continue
        for column in mine:
            if mine[column] != theirs.get(column):
                yield Difference(projection, table, key, column, mine[column], theirs.get(column))


# --- the event store's hash chain (eventstore/chain.py) -----------------------------------


def verify_store(settings: ReadSideSettings, held: Head | None = None, stream=None) -> dict[str, ChainReport]:
    """Walk the hash chain of each append-only log of the store (the ledger's events, then the
    access log once the service made it) from its first event, with a progress line; `held`
    is a head of the ledger's events an auditor kept (`ledger verify --store --head`) that
    must still be in the chain. A log whose chain breaks ends the walk."""
    reports: dict[str, ChainReport] = {}
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for table in APPEND_ONLY_LOGS:
            if not log_exists(conn, settings.store_schema, table):
                continue
            progress = Progress(f"verify the chain of {table}", max_notification_id(conn, settings.store_schema, table), stream)
            report = walk_chain(conn, settings.store_schema, table, held=held if table == EVENTS_TABLE else None,
                                progress=progress.advance)
            progress.total = progress.done  # notification ids have gaps (rolled-back inserts)
            progress.finish()
            reports[table] = report
            if report.broken is not None:
                break
    return reports


def describe_break(broken: Break) -> str:
    what = f" ({broken.topic.rsplit('.', 1)[-1]} of {broken.originator_id} v{broken.originator_version})" if broken.topic else ""
    return f"event {broken.notification_id}{what} {broken.reason}"

"""Row changes of the multi-table read models, folded per row, and the SQL that writes a
batch of them: one statement per table and kind of change, the rows travelling as one
JSON array that `jsonb_populate_recordset` turns into rows of the table's own type (so
dates, arrays, decimals and jsonb arrive typed, and no column list is kept twice).

A batch's events fold into at most one change per row: a new row (`put`, which replaces
a row of the same key: a delete followed by a put), a deletion, or a patch (columns set,
last one wins, and columns added to). Folding is associative, so the folded changes of
consecutive chunks of the log fold again into those of the whole (replay relies on it).

The watermark rule (projections/base.py) is kept in a table of its own per projection,
`<name>_watermarks`, one row per customer; policy and staff events carry customer ''.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from projections.base import LedgerEvent, Projection

# psycopg.sql is imported where a statement is composed: every `ledger` command lists the
# views (projections.registry) to build its parser, and psycopg's import is most of that.
if TYPE_CHECKING:
    from psycopg.sql import Composed


@dataclass
class RowChange:
    table: str
    key: tuple
    put: dict[str, Any] | None = None  # the whole new row
    deleted: bool = False
    sets: dict[str, Any] = field(default_factory=dict)
    adds: dict[str, int] = field(default_factory=dict)

    def then(self, later: RowChange) -> None:
        """Fold a later change of the same row into this one."""
        if later.put is not None or later.deleted:
            self.put, self.deleted = later.put, later.deleted
            self.sets, self.adds = {}, {}
        elif self.put is not None:
            self.put.update(later.sets)
            for column, delta in later.adds.items():
                self.put[column] += delta
        elif not self.deleted:  # a patch of a deleted row changes nothing
            self.sets.update(later.sets)
            for column, delta in later.adds.items():
                self.adds[column] = self.adds.get(column, 0) + delta


class RowChanges:
    """Accumulates the changes of a batch, folded per (table, key) in event order."""

    def __init__(self, keys: dict[str, tuple[str, ...]]):
        self.keys = keys  # table -> its key columns
        self.rows: dict[tuple[str, tuple], RowChange] = {}
        self.watermarks: dict[str, int] = {}

    def _key(self, table: str, values: dict[str, Any]) -> tuple:
        return tuple(values[column] for column in self.keys[table])

    def _fold(self, change: RowChange) -> None:
        earlier = self.rows.get((change.table, change.key))
        if earlier is None:
            self.rows[(change.table, change.key)] = change
        else:
            earlier.then(change)

    def put(self, table: str, **row) -> None:
        self._fold(RowChange(table, self._key(table, row), put=dict(row)))

    def delete(self, table: str, **key) -> None:
        self._fold(RowChange(table, self._key(table, key), deleted=True))

    def set(self, table: str, key: dict[str, Any], **columns) -> None:
        self._fold(RowChange(table, self._key(table, key), sets=columns))

    def add(self, table: str, key: dict[str, Any], **deltas: int) -> None:
        self._fold(RowChange(table, self._key(table, key), adds=deltas))

    def applied(self, event: dict[str, Any]) -> None:
        """The customer's watermark moves to this event."""
        self.watermarks[event["customer_id"]] = event["notification_id"]

    def merge(self, changes: Iterable[RowChange | tuple[str, int]]) -> RowChanges:
        for change in changes:
            if isinstance(change, RowChange):
                self._fold(RowChange(change.table, change.key, change.put and dict(change.put), change.deleted,
                                     dict(change.sets), dict(change.adds)))
            else:
                customer, position = change
                self.watermarks[customer] = max(position, self.watermarks.get(customer, 0))
        return self

    def as_list(self) -> list[RowChange | tuple[str, int]]:
        """Plain, picklable values: replay's workers hand them back to the writer."""
        return [*self.rows.values(), *self.watermarks.items()]


def records_json(rows: list[dict]) -> str:
    return orjson.dumps(rows, default=_plain).decode()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: jsonb_populate_recordset reads it into numeric
    raise TypeError(f"{type(value).__name__} is not a read-model value")


def _records(table: str) -> Composed:
    from psycopg.sql import SQL, Identifier

    # The table's own row type, found on the search_path like the table (live, shadow, pg_temp).
    return SQL("jsonb_populate_recordset(NULL::{}, %s::jsonb)").format(Identifier(table))


class RowsProjection(Projection):
    """A projection whose `fold(rows, event_type, event)` records each event's row changes;
    `keys` names each table's key columns, in the order the tables are written."""

    keys: dict[str, tuple[str, ...]] = {}

    @property
    def watermark_table(self) -> str:
        return f"{self.name}_watermarks"

    def __post_init__(self):
        super().__post_init__()
        self.sql["watermarks"] = (
            f"SELECT customer_id, last_notification_id FROM {self.watermark_table} "
            "WHERE customer_id = ANY(%(customer_ids)s) ORDER BY customer_id"
        )

    def create(self, cursor) -> None:
        from psycopg.sql import SQL, Identifier

        cursor.execute(SQL(
            "CREATE TABLE IF NOT EXISTS {} (customer_id text PRIMARY KEY, last_notification_id bigint NOT NULL)"
        ).format(Identifier(self.watermark_table)))
        super().create(cursor)

    def fold(self, rows: RowChanges, event_type: str, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def changes(self, events: list[LedgerEvent]) -> list:
        rows = RowChanges(self.keys)
        for event_type, event in events:
            self.fold(rows, event_type, event)
            rows.applied(event)
        return rows.as_list()

    def write(self, cursor, changes: list) -> None:
        from psycopg.sql import SQL, Identifier

        rows = RowChanges(self.keys).merge(changes)
        self.before_write(cursor, rows)
        for table in self.keys:
            self._write_table(cursor, table, [c for c in rows.rows.values() if c.table == table])
        if rows.watermarks:
            cursor.execute(
                SQL(
                    "INSERT INTO {table} AS w SELECT * FROM unnest(%s::text[], %s::bigint[]) "
                    "ON CONFLICT (customer_id) DO UPDATE SET last_notification_id = "
                    "greatest(w.last_notification_id, excluded.last_notification_id)"
                ).format(table=Identifier(self.watermark_table)),
                (list(rows.watermarks), list(rows.watermarks.values())),
            )
        self.after_write(cursor, rows)

    def before_write(self, cursor, rows: RowChanges) -> None:
        """A hook for rows that need what the tables hold (e.g. a customer's currency)."""

    def after_write(self, cursor, rows: RowChanges) -> None:
        """A hook for upkeep after the batch's rows are written (e.g. bounding a table)."""

    def _write_table(self, cursor, table: str, changes: list[RowChange]) -> None:
        if not changes:
            return
        from psycopg.sql import SQL, Identifier

        key = self.keys[table]
        on_key = SQL(" AND ").join(SQL("t.{0} = s.{0}").format(Identifier(c)) for c in key)
        deleted = [dict(zip(key, c.key)) for c in changes if c.deleted and c.put is None]
        if deleted:
            cursor.execute(
                SQL("DELETE FROM {} AS t USING {} AS s WHERE {}").format(Identifier(table), _records(table), on_key),
                (records_json(deleted),),
            )
        puts = [c.put for c in changes if c.put is not None]
        if puts:
            others = [c for c in puts[0] if c not in key]
            cursor.execute(
                SQL("INSERT INTO {} SELECT * FROM {} ON CONFLICT ({}) DO UPDATE SET {}").format(
                    Identifier(table), _records(table), SQL(", ").join(map(Identifier, key)),
                    SQL(", ").join(SQL("{0} = excluded.{0}").format(Identifier(c)) for c in others),
                ),
                (records_json(puts),),
            )
        patches: dict[tuple, list[dict]] = {}
        for c in changes:
            if c.put is None and not c.deleted and (c.sets or c.adds):
                shape = (tuple(sorted(c.sets)), tuple(sorted(c.adds)))
                patches.setdefault(shape, []).append({**dict(zip(key, c.key)), **c.sets, **c.adds})
        for (sets, adds), rows in patches.items():
            assignments = [SQL("{0} = s.{0}").format(Identifier(c)) for c in sets]
            assignments += [SQL("{0} = t.{0} + s.{0}").format(Identifier(c)) for c in adds]
            cursor.execute(
                SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
                    Identifier(table), SQL(", ").join(assignments), _records(table), on_key
                ),
                (records_json(rows),),
            )

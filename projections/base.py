"""What every projection is, and the one rule by which each skips what it has applied.

A projection is a pure function from ledger events to row changes (`changes`), plus the
SQL beside it in `<name>.sql` that creates its tables (`create`), stores changes
(`write`) and answers its watermarks (`watermarks`). Its SQL names tables without a
schema: the caller's search_path decides where they are (the read-model schema for the
live projector, a shadow schema for a rebuild, pg_temp for verify and `--as-of`).

The rule every projection follows: for each customer, it keeps the notification id of
the last ledger event it applied (its watermark), in its own tables, written in the same
transaction as its rows. A customer's events reach the projector in notification order
(one partition per customer, published in log order), so an event at or below the
watermark was applied before: a relay republish, or a batch replayed after a crash. The
watermark moves on event by event within a batch too (`unapplied`), so the two copies of a
republished event are never both applied, whether one batch holds both or two batches do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.roles import Permission
from projections import load_sql

LedgerEvent = tuple[str, dict[str, Any]]  # (event type, decoded Avro record)


@dataclass(frozen=True)
class Filter:
    """A `ledger query` option that narrows a view's rows: `--<option> VALUE`."""

    option: str
    column: str
    operator: str  # one of =, >=, <=
    type: Callable[[str], Any] = str
    help: str = ""
    choices: Sequence[str] | None = None


@dataclass(frozen=True)
class View:
    """A documented view over a read model, in the views schema; what analysts query."""

    name: str  # the view's name in the views schema
    query_name: str  # `ledger query <query_name>`
    key: str  # the column rows are ordered and paged by, and that `[CUSTOMER]` matches
    row_name: str  # what one row is, for messages: "balance"
    columns: dict[str, str]  # column -> one line of meaning, in the view's order
    filters: tuple[Filter, ...] = ()
    shown: tuple[str, ...] = ()  # columns `ledger query` prints; empty: all
    amounts: dict[str, str] = field(default_factory=dict)  # amount column -> its currency column
    help: str = ""
    customer_column: str | None = None  # the column `[CUSTOMER]` matches when it is not the key
    permission: Permission = Permission.READ_BILLING_VIEWS  # what a reader must hold (the API checks it)

    @property
    def shown_columns(self) -> list[str]:
        return list(self.shown or self.columns)


@dataclass
class Projection:
    """Subclasses set the class attributes and implement `changes` and `write`."""

    name: ClassVar[str]  # registry key; its SQL is `<name>.sql`
    tables: ClassVar[tuple[str, ...]]  # its tables, rebuilt and swapped together
    event_types: ClassVar[frozenset[str]]  # ledger event types it reads
    views: ClassVar[tuple[View, ...]] = ()
    sql: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self):
        self.sql = load_sql(self.name)

    # --- pure -----------------------------------------------------------------------

    def changes(self, events: list[LedgerEvent]) -> list:
        """The row changes of these events, folded: events of one customer in order."""
        raise NotImplementedError

    # --- SQL ------------------------------------------------------------------------

    def create(self, cursor) -> None:
        cursor.execute(self.sql["create"])

    def write(self, cursor, changes: list) -> None:
        raise NotImplementedError

    def watermarks(self, cursor, customer_ids: list[str], lock: bool = True) -> dict[str, int]:
        """Per customer, the notification id of the last event applied. The projector locks
        the rows (a fixed order: sorted ids); verify reads them as of its snapshot."""
        statement = self.sql["watermarks"].rstrip().rstrip(";") + (" FOR UPDATE" if lock else "")
        cursor.execute(statement, {"customer_ids": sorted(customer_ids)})
        return dict(cursor.fetchall())

    def relevant(self, events: list[LedgerEvent]) -> list[LedgerEvent]:
        return [e for e in events if e[0] in self.event_types]

    def apply(self, cursor, events: list[LedgerEvent]) -> int:
        """Apply a batch inside the caller's transaction, skipping what was applied before;
        returns how many events were applied."""
        relevant = self.relevant(events)
        if not relevant:
            return 0
        applied_through = self.watermarks(cursor, list({e["customer_id"] for _, e in relevant}))
        fresh = unapplied(relevant, applied_through)
        if fresh:
            self.write(cursor, self.changes(fresh))
        return len(fresh)


def unapplied(events: list[LedgerEvent], applied_through: dict[str, int]) -> list[LedgerEvent]:
    """The events above their customer's watermark, the watermark moving on with each one
    taken: a copy later in the same batch (a republished run, both copies fetched together)
    is then at or below it, and skipped like a copy from an earlier batch."""
    watermark = dict(applied_through)
    fresh = []
    for event_type, event in events:
        customer, position = event["customer_id"], event["notification_id"]
        if position > watermark.get(customer, 0):
            watermark[customer] = position
            fresh.append((event_type, event))
    return fresh

"""Reading the views: the queries behind `ledger query` (their table/json/csv output: readside/tables.py).

Every query reads the views schema (what analysts read), never the read-model tables:
what the CLI shows and what an analyst's SQL sees are the same rows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier, Placeholder

from projections.balances import BALANCES_VIEW
from projections.base import Filter, View
from projections.collections import COLLECTIONS_VIEW
from readside.settings import ReadSideSettings

BALANCE_COLUMNS = BALANCES_VIEW.shown_columns
_OPERATORS = {"=": SQL("="), ">=": SQL(">="), "<=": SQL("<=")}


@dataclass
class ViewQuery:
    """One read of a view: an optional key (a customer), filters, a page, and the day it is
    read as of (the views' `today()`: days past due, ageing, collection status)."""

    view: View
    key: str | None = None
    filters: list[tuple[Filter, Any]] = field(default_factory=list)
    after: str | None = None  # keyset paging: rows whose key sorts after this one
    limit: int | None = None
    as_of: date | None = None

    def statement(self, views_schema: str) -> tuple[Composed, list]:
        columns = SQL(", ").join(map(Identifier, self.view.columns))
        conditions: list[Composed] = []
        params: list = []
        key = Identifier(self.view.key)
        if self.key is not None:
            matched = Identifier(self.view.customer_column or self.view.key)
            conditions.append(SQL("{} = {}").format(matched, Placeholder()))
            params.append(self.key)
        for option, value in self.filters:
            conditions.append(SQL("{} {} {}").format(Identifier(option.column), _OPERATORS[option.operator], Placeholder()))
            params.append(value)
        if self.after is not None:
            conditions.append(SQL("{} > {}").format(key, Placeholder()))
            params.append(self.after)
        query = SQL("SELECT {} FROM {}").format(columns, Identifier(views_schema, self.view.name))
        if conditions:
            query += SQL(" WHERE ") + SQL(" AND ").join(conditions)
        query += SQL(" ORDER BY {}").format(key)
        if self.limit is not None:
            query += SQL(" LIMIT {}").format(Placeholder())
            params.append(self.limit)
        return query, params

    def rows(self, conn: psycopg.Connection, views_schema: str) -> list[dict]:
        query, params = self.statement(views_schema)
        # The day holds for this transaction only (set_config's `true`): on an autocommit
        # connection (the API's, a read in one round trip) one is made for it.
        dated = self.as_of is not None and conn.autocommit
        try:
            with conn.transaction() if dated else contextlib.nullcontext(), conn.cursor(row_factory=dict_row) as cursor:
                if self.as_of is not None:
                    cursor.execute("SELECT set_config('ledger.as_of', %s, true)", (self.as_of.isoformat(),))
                return cursor.execute(query, params, prepare=True).fetchall()
        except psycopg.errors.UndefinedTable:
            conn.rollback()
            return []  # nothing projected yet: no view


def read_view(settings: ReadSideSettings, query: ViewQuery) -> list[dict]:
    with psycopg.connect(settings.database_url) as conn:
        return query.rows(conn, settings.views_schema)


def balances(settings: ReadSideSettings, customer_id: str | None = None) -> list[dict]:
    rows = read_view(settings, ViewQuery(BALANCES_VIEW, key=customer_id))
    return [{c: r[c] for c in BALANCE_COLUMNS} for r in rows]


def billing_summary(settings: ReadSideSettings, as_of: date | None = None) -> list[dict]:
    """Per customer, its balance and its collection status, both as of one day."""
    with psycopg.connect(settings.database_url) as conn:  # one transaction: one as-of, one snapshot
        rows = ViewQuery(BALANCES_VIEW, as_of=as_of).rows(conn, settings.views_schema)
        statuses = ViewQuery(COLLECTIONS_VIEW, as_of=as_of).rows(conn, settings.views_schema)
    status_of = {r["customer_id"]: r["collection_status"] for r in statuses}
    return [{**r, "collection_status": status_of.get(r["customer_id"])} for r in rows]

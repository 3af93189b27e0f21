"""Reading the views: the queries behind `ledger query`, and the table/json/csv output they share.

Every query reads the views schema (what analysts read), never the read-model tables:
what the CLI shows and what an analyst's SQL sees are the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier, Placeholder

from domain.money import MINOR_UNIT_EXPONENT
from ledger.config import Settings
from projections.balances import BALANCES_VIEW
from projections.base import Filter, View

BALANCE_COLUMNS = BALANCES_VIEW.shown_columns
_OPERATORS = {"=": SQL("="), ">=": SQL(">="), "<=": SQL("<=")}


@dataclass
class ViewQuery:
    """One read of a view: an optional key (a customer), filters, and a page."""

    view: View
    key: str | None = None
    filters: list[tuple[Filter, Any]] = field(default_factory=list)
    after: str | None = None  # keyset paging: rows whose key sorts after this one
    limit: int | None = None

    def statement(self, views_schema: str) -> tuple[Composed, list]:
        columns = SQL(", ").join(map(Identifier, self.view.columns))
        conditions: list[Composed] = []
        params: list = []
        key = Identifier(self.view.key)
        if self.key is not None:
            conditions.append(SQL("{} = {}").format(key, Placeholder()))
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
        with conn.cursor(row_factory=dict_row) as cursor:
            try:
                return cursor.execute(query, params, prepare=True).fetchall()
            except psycopg.errors.UndefinedTable:
                conn.rollback()
                return []  # nothing projected yet: no view


def read_view(settings: Settings, query: ViewQuery) -> list[dict]:
    with psycopg.connect(settings.database_url) as conn:
        return query.rows(conn, settings.views_schema)


def balances(settings: Settings, customer_id: str | None = None) -> list[dict]:
    rows = read_view(settings, ViewQuery(BALANCES_VIEW, key=customer_id))
    return [{c: r[c] for c in BALANCE_COLUMNS} for r in rows]


def display_amount(amount: Decimal, currency: str | None) -> str:
    """Amounts are exact; shown at the currency's minor unit (display only)."""
    places = MINOR_UNIT_EXPONENT.get(currency or "", 2)
    return f"{amount:,.{places}f}"


def render(rows: list[dict], columns: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [{c: r.get(c) for c in columns} for r in rows],
            default=lambda v: str(v) if isinstance(v, Decimal) else v.isoformat() if hasattr(v, "isoformat") else str(v),
            indent=2,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    shown = [{c: "" if r.get(c) is None else str(r[c]) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in shown]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    for r in shown:
        lines.append("  ".join(r[c].rjust(widths[c]) if r[c][:1].isdigit() else r[c].ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def view_table(view: View, rows: list[dict], fmt: str, columns: list[str] | None = None) -> str:
    if fmt == "table":
        rows = [
            {**r, **{a: display_amount(r[a], r.get(c)) for a, c in view.amounts.items() if r.get(a) is not None}}
            for r in rows
        ]
    return render(rows, columns or view.shown_columns, fmt)


def balance_table(rows: list[dict], fmt: str) -> str:
    return view_table(BALANCES_VIEW, rows, fmt)

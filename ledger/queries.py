"""Read-side queries used by `ledger query`, and the table/json/csv output they share."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from domain.money import MINOR_UNIT_EXPONENT
from ledger.config import Settings

BALANCE_COLUMNS = [
    "customer_id", "customer_name", "currency", "account_status",
    "metered_subscriptions", "usage_lines", "unbilled_usage",
]


def balances(settings: Settings, customer_id: str | None = None) -> list[dict]:
    query = SQL("SELECT {} FROM {}.customer_balances").format(
        SQL(", ").join(map(Identifier, BALANCE_COLUMNS)), Identifier(settings.read_schema)
    )
    params: tuple = ()
    if customer_id is not None:
        query += SQL(" WHERE customer_id = %s")
        params = (customer_id,)
    query += SQL(" ORDER BY customer_id")
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        try:
            return conn.execute(query, params).fetchall()
        except psycopg.errors.UndefinedTable:
            return []  # nothing projected yet


def display_amount(row: dict) -> str:
    """Unbilled usage is exact; shown at the currency's minor unit (display only)."""
    places = MINOR_UNIT_EXPONENT.get(row["currency"] or "", 2)
    return f"{row['unbilled_usage']:,.{places}f}"


def render(rows: list[dict], columns: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, default=lambda v: str(v) if isinstance(v, Decimal) else v.isoformat(), indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    shown = [{c: str(r[c]) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in shown]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    for r in shown:
        lines.append("  ".join(r[c].rjust(widths[c]) if r[c][:1].isdigit() else r[c].ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def balance_table(rows: list[dict], fmt: str) -> str:
    if fmt == "table":
        rows = [{**r, "unbilled_usage": display_amount(r)} for r in rows]
    return render(rows, BALANCE_COLUMNS, fmt)

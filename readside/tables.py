"""The table, JSON and CSV output of rows, and the one way a value is written into a cell:
what `ledger query` prints of the views (readside/queries.py) and what a staff command prints of
the API's answers. Imports no database driver: a staff command reads its rows from the API."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

from domain.bounds import escaped
from domain.money import MINOR_UNIT_EXPONENT


def display_amount(amount: Decimal | int, currency: str | None) -> str:
    """Shown at the currency's minor unit (display only): a Decimal is an exact amount in
    the currency, an int is integer minor units (what invoices, payments and balances hold)."""
    places = MINOR_UNIT_EXPONENT.get(currency or "", 2)
    if isinstance(amount, int):
        amount = Decimal(amount).scaleb(-places)
    return f"{amount:,.{places}f}"


# What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?")


def cell(value: Any, fmt: str = "table") -> str:
    """The one way the CLI writes a value into a table or CSV cell. Free text is stored as
    given but never reaches a terminal raw: control characters and bidirectional overrides
    are shown escaped (\\x1b, \\u202e). In CSV, a text that a spreadsheet would run as a
    formula (= + - @, tab, CR first) gets a leading quote; numbers, negative ones included,
    stay numbers. (JSON needs neither: json.dumps escapes every control and non-ASCII character.)"""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):  # nested values (a support view's invoices) as JSON, not repr
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    if fmt == "csv" and isinstance(value, str) and text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        text = "'" + text
    return escaped(text)


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
        writer.writerows({c: cell(v, "csv") for c, v in r.items()} for r in rows)
        return out.getvalue().rstrip("\n")
    shown = [{c: cell(r.get(c)) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in shown]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    for r in shown:
        lines.append("  ".join(r[c].rjust(widths[c]) if r[c][:1].isdigit() else r[c].ljust(widths[c]) for c in columns))
    return "\n".join(lines)

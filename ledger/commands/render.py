"""What the staff commands print from the API's answers: JSON as the API gives it (money as
integer minor units with the currency), tables and CSV with money in the currency's format."""

from __future__ import annotations

import json
from typing import Any

from ledger.commands import money


def is_money(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"amount", "currency"}


def for_people(value: Any, fmt: str = "table") -> Any:
    """Money everywhere in a value (nested lists and objects too) as a table shows it, in the
    currency's format ("1,234.50 EUR"); in CSV, a plain number of the currency ("1234.50"),
    which a spreadsheet reads as one (the currency has a column of its own there)."""
    if is_money(value):
        shown = money(value)
        return shown if fmt == "table" else shown.rsplit(" ", 1)[0].replace(",", "")
    if isinstance(value, list):
        return [for_people(v, fmt) for v in value]
    if isinstance(value, dict):
        return {k: for_people(v, fmt) for k, v in value.items()}
    return value


def exact_amount(text: str | None, currency: str | None, fmt: str) -> str | None:
    """An exact price not yet invoiced (a decimal string): shown at the currency's minor unit."""
    from decimal import Decimal

    from readside.tables import display_amount

    if text is None:
        return None
    shown = display_amount(Decimal(text), currency)
    return f"{shown} {currency}" if fmt == "table" else shown.replace(",", "")


def rows_out(rows: list[dict], columns: list[str], fmt: str, key: str = "customer_id") -> str:
    """Rows of a view as JSON (the API's values), CSV or a table (one block per row when
    a row holds lists: a customer's invoices, payments...)."""
    from readside.tables import render

    if fmt == "json":
        return json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2)
    shown = [for_people({c: r.get(c) for c in columns}, fmt) for r in rows]
    for row, source in zip(shown, rows):
        if "unbilled_usage" in row:
            row["unbilled_usage"] = exact_amount(source["unbilled_usage"], source.get("currency"), fmt)
    if fmt == "table" and any(isinstance(v, (list, dict)) for r in shown for v in r.values()):
        return sections(shown, columns, key)
    return render(shown, columns, fmt)


def sections(rows: list[dict], columns: list[str], key: str) -> str:
    from readside.tables import cell, render

    blocks = []
    for row in rows:
        lines = [f"{key}: {cell(row[key])}"]
        for column in columns:
            value = row.get(column)
            if column == key:
                continue
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                lines.append(f"{column}:")
                table = [{k: _flat(v) for k, v in item.items()} for item in value]
                lines += ["  " + line for line in render(table, list(value[0]), "table").splitlines()]
            else:
                lines.append(f"{column}: {cell(_flat(value)) if value not in (None, []) else '(none)'}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_flat(v)}" for k, v in value.items())
    return str(value)


def account_table(account: dict) -> str:
    """`ledger account show`: the account's terms, then its subscriptions and invoices."""
    from readside.tables import cell

    shown = for_people(account)
    lines = [f"{cell(shown['customer_id'])}  {cell(shown['name'])}  ({shown['status']}, {shown['currency']})"]
    for key in ("balance", "credit_balance", "payment_terms_days", "tax_rate", "collections_policy", "hold"):
        lines.append(f"  {key.replace('_', ' ')}: {cell(_flat(shown[key])) if shown[key] is not None else '(none)'}")
    for section in ("subscriptions", "invoices"):
        lines.append(f"  {section}:")
        for item in shown[section] or [{"": "(none)"}]:
            lines.append("    " + "  ".join(f"{k}={cell(_flat(v))}" if k else cell(v) for k, v in item.items()
                                           if v is not None))
    return "\n".join(lines)

"""The ledger's bounds (domain/bounds.py) are those of its messages and read models: the Avro
schemas and the SQL columns are pinned to them here, and docs/bounds.md to what they generate.
Pure: no services."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domain import bounds
from ledger.commands.read import bounds_table

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((ROOT / "schemas").glob("*.avsc"))
SQL_FILES = sorted((ROOT / "projections").glob("*.sql"))

# Fields and columns that hold an owed amount, in integer minor units.
MONEY_FIELDS = {"amount", "subtotal", "tax", "total", "to_credit_balance", "from_credit_balance"}
MONEY_COLUMNS = MONEY_FIELDS | {
    "invoiced", "credited", "paid", "reversed", "refunded", "written_off", "outstanding", "credit_balance", "amount_open",
}
# Read-model columns of exact decimals (quantities, prices, rates, exact usage amounts): numeric.
DECIMAL_COLUMNS = {"quantity", "unbilled_usage", "suspend_min_overdue"}


def avro_fields(schema, path: str = ""):
    """(dotted path, type) of every field, nested records and arrays of records included."""
    for field in schema.get("fields", []):
        name = f"{path}{field['name']}"
        kind = field["type"]
        item = kind.get("items") if isinstance(kind, dict) and kind.get("type") == "array" else None
        if isinstance(kind, dict) and kind.get("type") == "record":
            yield from avro_fields(kind, name + ".")
        elif isinstance(item, dict) and item.get("type") == "record":
            yield from avro_fields(item, name + "[].")
        else:
            yield name, kind


def all_fields():
    return [(path.name, name, kind) for path in SCHEMAS for name, kind in avro_fields(json.loads(path.read_text()))]


def sql_columns() -> list[tuple[str, str, str]]:
    """(file, column, type) of every numeric column a read model creates or adds."""
    declaration = re.compile(
        r"^\s*(?:ADD COLUMN (?:IF NOT EXISTS )?)?([a-z_]+)\s+(bigint|numeric|integer|smallint|real|double precision|money)\b",
        re.MULTILINE,
    )
    return [(path.name, *match) for path in SQL_FILES for match in declaration.findall(path.read_text())]


def test_every_avro_decimal_is_a_decimal_38_at_a_scale_the_bounds_name():
    decimals = [(f, n, k) for f, n, k in all_fields() if isinstance(k, dict) and k.get("logicalType") == "decimal"]
    assert decimals  # the schemas do have decimals: the test looks at them
    scales = {bounds.QUANTITY_PLACES, bounds.PRICE_PLACES, bounds.RATE_PLACES}
    for file, name, kind in decimals:
        assert (kind["precision"], kind["scale"] in scales) == (bounds.DECIMAL_PRECISION, True), (file, name, kind)


# A usage line's rated amount is exact, not owed: decimal(AMOUNT_PRECISION, AMOUNT_PLACES), null
# when read from a version before it was carried.
RATED_AMOUNT = {"billing.ledger.UsageRecorded.v2.avsc", "billing.ledger.UsageInvoiced.v2.avsc"}


def test_a_usage_lines_rated_amount_is_the_exact_decimal_the_bounds_name():
    rated = [(f, k) for f, n, k in all_fields() if n == "amount" and f in RATED_AMOUNT]
    expected = ["null", {"type": "bytes", "logicalType": "decimal", "precision": bounds.AMOUNT_PRECISION, "scale": bounds.AMOUNT_PLACES}]
    assert rated == [(f, expected) for f in sorted(RATED_AMOUNT, key=[f for f, _, _ in all_fields()].index)]


def test_every_money_field_of_the_ledger_topic_is_an_avro_long():
    money = [(f, n, k) for f, n, k in all_fields() if n.rsplit(".", 1)[-1] in MONEY_FIELDS and f not in RATED_AMOUNT]
    assert len(money) > 10
    assert [(f, n) for f, n, k in money if k != "long"] == []


def test_every_field_documented_in_minor_units_is_known_as_money():
    for path in SCHEMAS:
        for field in json.loads(path.read_text())["fields"]:
            if "minor units" in field.get("doc", ""):
                assert field["name"] in MONEY_FIELDS, (path.name, field["name"])


def test_every_amount_column_of_the_read_models_is_a_bigint_and_every_decimal_a_numeric():
    columns = sql_columns()
    assert {c for _, c, _ in columns} >= {"invoiced", "paid", "credit_balance", "total", "amount_open", "amount"}
    for file, column, kind in columns:
        if column in MONEY_COLUMNS:
            assert kind == "bigint", (file, column, kind)
        elif column in DECIMAL_COLUMNS:
            assert kind == "numeric", (file, column, kind)
        else:  # counts, positions, days: whole numbers, never money in a numeric or a float
            assert kind in ("bigint", "integer"), (file, column, kind)


def test_the_sums_a_read_model_keeps_of_the_largest_amounts_fit_a_bigint():
    assert bounds.MAX_AMOUNT_MINOR * bounds.AMOUNTS_SUMMED_SAFELY <= 2**63 - 1
    assert bounds.MAX_AMOUNT_MINOR <= 2**63 - 1  # one amount in an Avro long


def test_counts_fit_an_avro_int_and_days_keep_derived_dates_real():
    from datetime import date, timedelta

    assert bounds.MAX_SEATS <= 2**31 - 1 and bounds.MAX_DAYS <= 2**31 - 1
    date(9000, 1, 1) + timedelta(days=bounds.MAX_DAYS * 2)  # a due date plus a policy's days


@pytest.mark.parametrize(("places", "largest"), [(bounds.QUANTITY_PLACES, bounds.MAX_QUANTITY),
                                                  (bounds.PRICE_PLACES, bounds.MAX_PRICE),
                                                  (bounds.RATE_PLACES, bounds.MAX_RATE)])
def test_the_largest_decimal_has_38_digits_at_its_scale(places, largest):
    digits, exponent = largest.as_tuple()[1:]
    assert (len(digits), exponent) == (bounds.DECIMAL_PRECISION, -places)


def test_an_id_is_1_to_128_characters_of_the_documented_set():
    assert bounds.ID_PATTERN.fullmatch("a" * bounds.MAX_ID_LENGTH)
    for bad in ("", "a" * (bounds.MAX_ID_LENGTH + 1), "-starts-with-a-dash", "a b", "a\x1b", "é"):
        assert bounds.ID_PATTERN.fullmatch(bad) is None, bad


def test_the_docs_page_shows_the_table_the_bounds_generate():
    page = (ROOT / "docs" / "bounds.md").read_text()
    begin, end = "<!-- generated by `ledger bounds`: begin -->\n", "\n<!-- generated by `ledger bounds`: end -->"
    assert begin in page and end in page, "docs/bounds.md lost the markers around its generated table"
    shown = page.split(begin, 1)[1].split(end, 1)[0]
    assert shown == bounds_table(), "docs/bounds.md is out of date: paste the output of `ledger bounds` there"

"""Free text is stored as given, but never reaches a terminal raw, and a CSV export never hands
a spreadsheet a formula: one cell formatter (readside/tables.py `cell`) for every table and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from decimal import Decimal

from readside.tables import cell, render
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN

FORMULA = '=HYPERLINK("https://evil.example/pay","Pay here")'
ESCAPES = "\x1b[2J\x07 refund\u202egpj.exe"
UNSAFE_ON_A_TERMINAL = ("\x1b", "\x07", "\u202e")

def test_a_cell_shows_control_characters_and_bidirectional_overrides_escaped():
    assert cell(ESCAPES) == "\\x1b[2J\\x07 refund\\u202egpj.exe"
    assert cell("two\nlines") == "two\\nlines"
    assert cell("Café Zürich") == "Café Zürich"  # printable text is left alone
    assert cell(None) == ""

def test_a_csv_cell_that_a_spreadsheet_would_run_gets_a_leading_quote():
    for text in (FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"):
        assert cell(text, "csv").startswith("'"), text
    assert cell("Acme = the best", "csv") == "Acme = the best"  # only the first character counts

def test_numbers_negative_ones_included_stay_numbers_in_csv():
    assert [cell(v, "csv") for v in (-1250, Decimal("-12.50"), "-12.50", "-1,250.00", 0)] == [
        "-1250", "-12.50", "-12.50", "-1,250.00", "0",
    ]

def test_a_csv_export_neutralises_formulas_and_keeps_negative_amounts():
    rows = [{"customer_name": FORMULA, "balance": -1250, "note": ESCAPES}]
    (row,) = csv.DictReader(io.StringIO(render(rows, ["customer_name", "balance", "note"], "csv")))
    assert row == {"customer_name": "'" + FORMULA, "balance": "-1250", "note": "\\x1b[2J\\x07 refund\\u202egpj.exe"}

def test_history_and_account_show_never_print_free_text_raw_and_json_keeps_it_exact(app, staff):
    cli_env = staff.env(ADMIN)
    at = ["--at", datetime(2026, 10, 1, tzinfo=timezone.utc).isoformat()]
    for args in (["account", "open", "ACME", "--name", FORMULA, "--currency", "EUR", *at],
                 ["payment", "receive", "ACME", "PAY-1", "--amount", "5", "--currency", "EUR",
                  "--reference", ESCAPES, *at]):
        done = ledger(cli_env, *args)
        assert done.returncode == 0, done.stderr

    table = ledger(cli_env, "history", "ACME")
    assert table.returncode == 0, table.stderr
    assert not any(c in table.stdout for c in UNSAFE_ON_A_TERMINAL)
    assert "reference=\\x1b[2J\\x07 refund" in table.stdout  # shown escaped (and shortened to a line)

    exported = ledger(cli_env, "history", "ACME", "--format", "csv")
    assert not any(c in exported.stdout for c in UNSAFE_ON_A_TERMINAL)

    as_json = ledger(cli_env, "history", "ACME", "--format", "json")
    events = json.loads(as_json.stdout)  # still JSON, with the text exactly as stored
    assert any(e["record"].get("reference") == ESCAPES for e in events)
    assert not any(c in as_json.stdout for c in UNSAFE_ON_A_TERMINAL)

    shown = ledger(cli_env, "account", "show", "ACME")
    assert shown.returncode == 0, shown.stderr
    assert FORMULA in shown.stdout and not any(c in shown.stdout for c in UNSAFE_ON_A_TERMINAL)

def test_the_balances_export_of_a_customer_named_like_a_formula_is_not_a_formula(app, staff, cli_env):
    done = ledger(staff.env(ADMIN), "account", "open", "ACME", "--name", FORMULA, "--currency", "EUR", "--at", "2026-10-01")
    assert done.returncode == 0, done.stderr
    for args in (["relay", "--until-idle"], ["project", "--until-idle"]):
        done = ledger(cli_env, *args)
        assert done.returncode == 0, done.stderr

    exported = ledger(staff.env(ADMIN), "query", "balances", "--format", "csv", "--all-columns")
    assert exported.returncode == 0, exported.stderr
    (row,) = csv.DictReader(io.StringIO(exported.stdout))
    assert row["customer_name"] == "'" + FORMULA

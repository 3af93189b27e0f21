"""Billing staff's day through the `ledger` command line, as separate processes."""

from __future__ import annotations

import json
import re

from tests.factories import ADMIN
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture


NEW_PASSWORD = "a long passphrase of root's own"


def run_ok(env, *args) -> str:
    result = ledger(env, *args)
    assert result.returncode == 0, f"ledger {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_billing_staff_invoice_collect_suspend_and_reinstate_from_the_command_line(cli_env, staff):
    bootstrapped = run_ok(cli_env, "staff", "bootstrap", "root@partner.example")
    one_time = re.search(r"one-time password (\S+)", bootstrapped).group(1)
    # The first sign-in: the one-time password, then one's own (one line each on stdin).
    signed_in = ledger(staff.base, "login", "--user", "root@partner.example", stdin=f"{one_time}\n{NEW_PASSWORD}\n")
    assert signed_in.returncode == 0, signed_in.stderr
    assert "signed in to http://127.0.0.1:" in signed_in.stdout and "as root@partner.example" in signed_in.stdout
    assert one_time not in signed_in.stdout + signed_in.stderr
    run_ok(staff.base, "staff", "grant", "bea@partner.example", "billing-admin")
    cli_env = staff.env("bea@partner.example")
    bea = []
    run_ok(cli_env, "account", "open", "ACME", "--name", "Acme", "--currency", "EUR", "--terms", "14",
           "--tax-rate", "20", *bea, "--at", "2026-09-01")
    run_ok(cli_env, "subscription", "add-seats", "ACME", "ACME-365", "--product", "Microsoft 365 E3", "--seats", "10",
           "--price-per-seat", "12.50", "--starts-on", "2026-09-01", *bea, "--at", "2026-09-01")
    billed = run_ok(cli_env, "invoice", "issue", "--all", "--period", "2026-09", *bea, "--at", "2026-10-01")
    assert re.search(r"bill run for 2026-09\n  accounts +1\n  invoices issued +1\n  total EUR +150.00 EUR\n", billed)
    run_ok(cli_env, "policy", "set", "standard", "--suspend-after-days", "10", *bea, "--at", "2026-09-01")

    run_ok(cli_env, "payment", "receive", "ACME", "PAY-1", "--amount", "50.00", "--currency", "EUR", *bea,
           "--at", "2026-10-10")
    collected = run_ok(cli_env, "collect", "--as-of", "2026-10-25", *bea)
    assert re.search(r"with something due +1\n  reminders +1\n  suspensions +1\n", collected)

    shown = json.loads(run_ok(cli_env, "account", "show", "ACME", "--format", "json", *bea))
    assert shown["balance"] == {"amount": 10000, "currency": "EUR"}  # 125.00 + 25.00 tax - 50.00
    assert [s["subscription_id"] for s in shown["subscriptions"] if s["suspended"]] == ["ACME-365"]
    assert "balance: 100.00 EUR" in run_ok(cli_env, "account", "show", "ACME")

    run_ok(cli_env, "payment", "receive", "ACME", "PAY-2", "--amount", "100", "--currency", "EUR", *bea,
           "--at", "2026-10-26")
    shown = json.loads(run_ok(cli_env, "account", "show", "ACME", "--format", "json", *bea))
    assert shown["balance"] == {"amount": 0, "currency": "EUR"}
    assert not any(s["suspended"] for s in shown["subscriptions"])
    assert "nothing changed" in run_ok(cli_env, "payment", "receive", "ACME", "PAY-2", "--amount", "100",
                                       "--currency", "EUR", *bea, "--at", "2026-10-26")


def test_an_amount_with_more_decimals_than_the_currency_is_refused_not_rounded(app, staff):
    cli_env = staff.env(ADMIN)
    root = []
    run_ok(cli_env, "account", "open", "ACME", "--name", "Acme", "--currency", "JPY", *root)
    result = ledger(cli_env, "payment", "receive", "ACME", "PAY-1", "--amount", "10.5", "--currency", "JPY", *root)
    assert result.returncode == 2
    assert "10.5 JPY has more decimals than JPY has (0)" in result.stderr


def test_the_permission_matrix_is_printed_from_the_code(cli_env):
    matrix = run_ok(cli_env, "roles")
    assert "| record, reverse and refund payments | yes |  |  | yes |  |" in matrix

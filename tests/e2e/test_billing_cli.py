"""Billing staff's day through the `ledger` command line, as separate processes."""

from __future__ import annotations

import json

from tests.cli_helpers import ledger


def run_ok(env, *args) -> str:
    result = ledger(env, *args)
    assert result.returncode == 0, f"ledger {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_billing_staff_invoice_collect_suspend_and_reinstate_from_the_command_line(cli_env):
    run_ok(cli_env, "staff", "bootstrap", "root@partner.example", "--as", "operator")
    run_ok(cli_env, "staff", "grant", "bea@partner.example", "billing-admin", "--as", "root@partner.example")
    bea = ["--as", "bea@partner.example"]
    run_ok(cli_env, "account", "open", "ACME", "--name", "Acme", "--currency", "EUR", "--terms", "14",
           "--tax-rate", "20", *bea, "--at", "2026-09-01")
    run_ok(cli_env, "subscription", "add-seats", "ACME", "ACME-365", "--product", "Microsoft 365 E3", "--seats", "10",
           "--price-per-seat", "12.50", "--starts-on", "2026-09-01", *bea, "--at", "2026-09-01")
    assert "INV-000001 issued" in run_ok(cli_env, "invoice", "issue", "--all", "--period", "2026-09", *bea,
                                         "--at", "2026-10-01")
    run_ok(cli_env, "policy", "set", "standard", "--suspend-after-days", "10", *bea, "--at", "2026-09-01")

    run_ok(cli_env, "payment", "receive", "ACME", "PAY-1", "--amount", "50.00", "--currency", "EUR", *bea,
           "--at", "2026-10-10")
    collected = run_ok(cli_env, "collect", "--as-of", "2026-10-25", *bea)
    assert "ACME: ReminderSent, SubscriptionsSuspended" in collected

    shown = json.loads(run_ok(cli_env, "account", "show", "ACME", "--format", "json", *bea))
    assert shown["balance"] == "100.00 EUR"  # 125.00 + 25.00 tax - 50.00
    assert [s["subscription"] for s in shown["suspensions"]] == ["ACME-365"]

    run_ok(cli_env, "payment", "receive", "ACME", "PAY-2", "--amount", "100", "--currency", "EUR", *bea,
           "--at", "2026-10-26")
    shown = json.loads(run_ok(cli_env, "account", "show", "ACME", "--format", "json", *bea))
    assert (shown["balance"], shown["suspensions"]) == ("0.00 EUR", [])
    assert "nothing changed" in run_ok(cli_env, "payment", "receive", "ACME", "PAY-2", "--amount", "100",
                                       "--currency", "EUR", *bea, "--at", "2026-10-26")


def test_an_amount_with_more_decimals_than_the_currency_is_refused_not_rounded(cli_env):
    run_ok(cli_env, "staff", "bootstrap", "root@partner.example", "--as", "operator")
    root = ["--as", "root@partner.example"]
    run_ok(cli_env, "account", "open", "ACME", "--name", "Acme", "--currency", "JPY", *root)
    result = ledger(cli_env, "payment", "receive", "ACME", "PAY-1", "--amount", "10.5", "--currency", "JPY", *root)
    assert result.returncode == 2
    assert "10.5 JPY has more decimals than JPY has (0)" in result.stderr


def test_the_permission_matrix_is_printed_from_the_code(cli_env):
    matrix = run_ok(cli_env, "roles")
    assert "| record, reverse and refund payments | yes |  |  | yes |  |" in matrix

"""The `ledger` command line, run as a user runs it: separate processes on the real services."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.cli_helpers import ledger


USAGE_LINE = (
    '{{"event_id": "{id}", "source_system": "cli-test", "customer_id": "ACME", '
    '"subscription_id": "ACME-vm", "product": "VM", "meter": "vcpu-hours", "quantity": "{q}", "unit": "h", '
    '"usage_start": "2026-10-01T00:00:00+00:00", "usage_end": "2026-10-02T00:00:00+00:00", '
    '"observed_at": "2026-10-02T00:05:00+00:00"}}'
)


def test_separate_ingest_relay_and_projector_processes_project_published_usage(cli_env, tmp_path):
    staff = ["--as", "alice@reseller.example", "--at", "2026-10-01"]
    assert ledger(cli_env, "staff", "bootstrap", "alice@reseller.example", "--as", "operator").returncode == 0
    assert ledger(cli_env, "account", "open", "ACME", "--name", "Acme", "--currency", "EUR", *staff).returncode == 0
    added = ledger(cli_env, "subscription", "add-metered", "ACME", "ACME-vm", "--product", "VM",
                   "--meter", "vcpu-hours", "--unit", "h", "--unit-price", "0.04", *staff)
    assert added.returncode == 0, added.stderr
    usage_file = tmp_path / "usage.jsonl"
    usage_file.write_text("\n".join(USAGE_LINE.format(id=f"cli-{n}", q="10") for n in range(5)) + "\n")
    published = ledger(cli_env, "usage", "publish", str(usage_file))
    assert "published 5 usage events" in published.stdout, published.stderr

    heartbeat = tmp_path / "heartbeat"
    for command in ("ingest", "relay", "project"):
        done = ledger(cli_env, command, "--until-idle", "--heartbeat", str(heartbeat))
        assert done.returncode == 0, done.stderr
    assert heartbeat.exists(), "a live process renews its heartbeat file"

    shown = ledger(cli_env, "query", "balances", "ACME", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    assert (row["usage_lines"], Decimal(row["unbilled_usage"])) == (5, Decimal("2"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["account", "open", "X", "--name", "X", "--currency", "XYZ", "--as", "a"], "'XYZ' is not an ISO 4217 currency"),
        (["subscription", "add-metered", "NOBODY", "S", "--product", "p", "--meter", "m", "--unit", "u",
          "--unit-price", "1", "--as", "a"], "unknown customer 'NOBODY'"),
        (["query", "balances", "NOBODY"], "no balance projected for customer 'NOBODY'"),
        (["staff", "grant", "bob", "billing-admin", "--as", "nobody"], "'nobody' may not grant and revoke roles"),
        (["staff", "grant", "bob", "cashier", "--as", "a"], "'cashier' is not a role"),
        (["payment", "receive", "NOBODY", "P-1", "--amount", "10", "--currency", "EUR", "--as", "a"],
         "unknown customer 'NOBODY'"),
    ],
)
def test_a_refused_command_says_why_in_one_line_and_exits_non_zero(cli_env, args, message):
    assert ledger(cli_env, "staff", "bootstrap", "a", "--as", "operator").returncode == 0
    result = ledger(cli_env, *args)
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_usage_input_names_the_line_and_publishes_nothing(cli_env, tmp_path):
    usage_file = tmp_path / "usage.jsonl"
    usage_file.write_text(USAGE_LINE.format(id="ok", q="1") + "\n" + USAGE_LINE.format(id="bad", q="lots") + "\n")
    result = ledger(cli_env, "usage", "publish", str(usage_file))
    assert result.returncode == 2
    assert f"{usage_file}:2" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_argument_value_is_named(cli_env):
    result = ledger(cli_env, "subscription", "add-metered", "C", "S", "--product", "p", "--meter", "m",
                    "--unit", "u", "--unit-price", "cheap", "--as", "a")
    assert result.returncode == 2
    assert "'cheap' is not a decimal number" in result.stderr


def test_demo_prints_the_same_balances_every_time(cli_env):
    first = ledger(cli_env, "demo", "--format", "csv")
    assert first.returncode == 0, first.stderr
    rows = first.stdout.strip().splitlines()
    assert rows[0].startswith("customer_id,") and len(rows) == 1 + 36
    second = ledger(cli_env, "demo", "--format", "csv")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "6808 duplicates" in second.stderr

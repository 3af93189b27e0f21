"""The `ledger` command line, run as a user runs it: separate processes on the real services."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from tests.cli_helpers import ledger, module_staff, staff  # noqa: F401 - fixtures
from tests.factories import ADMIN


USAGE_LINE = (
    '{{"event_id": "{id}", "source_system": "cli-test", "customer_id": "ACME", '
    '"subscription_id": "ACME-vm", "product": "VM", "meter": "vcpu-hours", "quantity": "{q}", "unit": "h", '
    '"usage_start": "2026-10-01T00:00:00+00:00", "usage_end": "2026-10-02T00:00:00+00:00", '
    '"observed_at": "2026-10-02T00:05:00+00:00"}}'
)


def test_separate_ingest_relay_and_projector_processes_project_published_usage(app, staff, cli_env, tmp_path):
    alice, at = staff.env(ADMIN), ["--at", "2026-10-01"]
    assert ledger(alice, "account", "open", "ACME", "--name", "Acme", "--currency", "EUR", *at).returncode == 0
    added = ledger(alice, "subscription", "add-metered", "ACME", "ACME-vm", "--product", "VM",
                   "--meter", "vcpu-hours", "--unit", "h", "--unit-price", "0.04", *at)
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

    shown = ledger(alice, "query", "balances", "ACME", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    assert (row["usage_lines"], Decimal(row["unbilled_usage"])) == (5, Decimal("2"))
    assert row["invoiced"] == {"amount": 0, "currency": "EUR"}  # money in JSON: minor units and the currency


NOBODY = "nobody@reseller.example"  # signed in, but holds no role


@pytest.mark.parametrize(
    ("user", "args", "message"),
    [
        (ADMIN, ["account", "open", "X", "--name", "X", "--currency", "XYZ"], "'XYZ' is not an ISO 4217 currency"),
        (ADMIN, ["subscription", "add-metered", "NOBODY", "S", "--product", "p", "--meter", "m", "--unit", "u",
                 "--unit-price", "1"], "unknown customer 'NOBODY'"),
        (ADMIN, ["query", "balances", "NOBODY"], "no balance projected for customer 'NOBODY'"),
        (NOBODY, ["staff", "grant", "bob", "billing-admin"], f"'{NOBODY}' may not grant and revoke roles"),
        (ADMIN, ["staff", "grant", "bob", "cashier"], "role: Input should be 'global-admin'"),
        (ADMIN, ["payment", "receive", "NOBODY", "P-1", "--amount", "10", "--currency", "EUR"],
         "unknown customer 'NOBODY'"),
        (ADMIN, ["account", "open", "X", "--name", "X", "--currency", "EUR", "--as", ADMIN],
         "unrecognized arguments: --as"),
    ],
)
def test_a_refused_command_says_why_in_one_line_and_exits_non_zero(module_staff, user, args, message):
    result = ledger(module_staff.env(user), *args)
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
                    "--unit", "u", "--unit-price", "cheap")
    assert result.returncode == 2
    assert "'cheap' is not a decimal number" in result.stderr


def test_demo_prints_the_same_balances_every_time_and_its_columns_add_up(cli_env):
    first = ledger(cli_env, "demo", "--format", "csv")
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert len(rows) == 36
    second = ledger(cli_env, "demo", "--format", "csv")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "6808 duplicates" in second.stderr

    def amount(cell: str) -> Decimal:  # a number of the currency, 1234.50
        return Decimal(cell)

    for row in rows:
        of = {c: amount(row[c]) for c in ("invoiced", "credited", "written_off", "paid", "reversed", "refunded",
                                          "balance")}
        assert of["balance"] == (of["invoiced"] - of["credited"] - of["written_off"] - of["paid"] + of["reversed"]
                                 + of["refunded"]), row
    assert any(amount(r["reversed"]) for r in rows), "the demo's bounced payment shows as reversed"
    assert any(amount(r["credited"]) for r in rows), "the demo's credit note shows as credited"

"""A customer's whole billing life through the real parts: usage on Kafka, the event store, the
ledger topic, the projector; read back with `ledger query`, checked with `ledger verify`,
and rebuilt from the store."""

from __future__ import annotations

import json

import psycopg
from psycopg.rows import dict_row

from ledger.processes import drain
from projections.registry import all_projections
from readside.replay import replay
from tests.billing_life import CUSTOMER, HELPDESK, SALES, after_suspension, open_acme, until_suspended, whole_life
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, usage_record
from tests.kafka_helpers import publish
from tests.read_side_helpers import execute


def live_life(settings, app) -> None:
    open_acme(app)
    publish(settings, [usage_record(f"u-{n}", CUSTOMER, quantity="4", day=10) for n in (1, 2)])
    drain(settings, app)  # the usage is recorded before September is invoiced
    until_suspended(app)
    after_suspension(app)
    drain(settings, app)


def query(cli_env, *args) -> list[dict]:
    done = ledger(cli_env, "query", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_customers_life_through_the_broker_reads_back_through_ledger_query(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    live_life(settings, app)

    (balance,) = query(staff.env(SALES), "balances", CUSTOMER, "--as-of", "2026-12-10", "--all-columns")
    assert [balance[c] for c in ("invoiced", "credited", "paid", "balance", "overdue")] == [
        {"amount": cents, "currency": "EUR"} for cents in (36480, 2000, 22480, 12000, 0)]
    (later,) = query(cli_env, "balances", CUSTOMER, "--as-of", "2027-01-20")
    assert (later["overdue"]["amount"], later["days_past_due"]) == (12000, 36)

    invoices = {i["invoice_number"]: i for i in query(cli_env, "invoices", CUSTOMER, "--all-columns")}
    assert {n: i["status"] for n, i in invoices.items()} == {
        "INV-000001": "paid", "INV-000002": "paid", "INV-000003": "open"}
    usage_lines = [line for line in invoices["INV-000001"]["lines"] if line["kind"] == "usage"]
    assert [(line["usage_ids"], line["amount"]) for line in usage_lines] == [(["u-1", "u-2"], 400)]
    assert invoices["INV-000001"]["last_reminder_step"] == 3
    for as_of, days, bucket in (("2026-12-15", 0, "not_due"), ("2027-04-01", 107, ">90")):
        (open_one,) = query(cli_env, "invoices", CUSTOMER, "--status", "open", "--as-of", as_of)
        assert (open_one["days_past_due"], open_one["ageing_bucket"]) == (days, bucket)
    assert [i["invoice_number"] for i in query(cli_env, "invoices", "--min-days-past-due", "30", "--as-of", "2027-01-20")] == [
        "INV-000003"]

    (status,) = query(cli_env, "collections", CUSTOMER, "--as-of", "2027-01-20", "--all-columns")
    assert (status["collection_status"], status["days_past_due"], status["oldest_unpaid_invoice"]) == (
        "overdue", 36, "INV-000003")
    # 36 days past due with no reminder sent: the next run sends only the latest step due
    assert (status["next_action"], status["next_action_on"]) == ("reminder 3 for invoice INV-000003", "2026-12-29")

    (view,) = query(staff.env(HELPDESK), "support", CUSTOMER, "--as-of", "2026-12-10")
    (case,) = view["open_cases"]
    assert (case["escalated_to"], case["support_plan"], case["vendor_ticket"]) == (
        "vendor-commercial-support", "Partner Success Advanced", "MS-4711")
    assert [p["payment_id"] for p in view["last_payments"]] == ["PAY-2", "PAY-1"]
    sentences = [t["sentence"] for t in view["timeline"]]
    suspended = ("Suspended: ACME-365, ACME-vm: invoice INV-000001 is 30 days past due; "
                 "the vendor de-provisions on 2027-01-13")
    reinstated = "Reinstated: ACME-365, ACME-vm: nothing overdue any more"
    assert sentences.index(reinstated) < sentences.index(suspended), "newest first"
    assert "Credit note CN-1 of 20.00 EUR on INV-000002: seats billed twice" in sentences

    shown = ledger(staff.env(HELPDESK), "query", "support", CUSTOMER)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"customer_id: {CUSTOMER}" and "balance: 120.00 EUR" in lines
    assert {"open_invoices:", "last_payments:", "open_cases:", "timeline:"} <= set(lines)


def live_rows(settings) -> dict[str, list[dict]]:
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {settings.read_schema}.{table} ORDER BY 1, 2").fetchall()
            for projection in all_projections() for table in projection.tables
        }


def test_verify_is_clean_after_the_life_reports_a_planted_difference_and_a_replay_equals_the_live_rows(
    settings, app, cli_env
):
    whole_life(app)  # the usage straight into the store: the test above takes it through Kafka
    drain(settings, app)
    clean = ledger(cli_env, "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    live = live_rows(settings)
    for projection in ("invoices", "collections", "support", "balances"):
        assert replay(settings, projection, "store", workers=1).complete
    assert live_rows(settings) == live

    execute(settings, f"UPDATE {settings.read_schema}.invoices SET amount_open = 1 WHERE invoice_number = 'INV-000002'")
    planted = ledger(cli_env, "verify", "invoices")
    assert planted.returncode == 1
    assert planted.stdout.splitlines() == ["invoices.invoices INV-000002: amount_open: live 1, recomputed 0"]

"""`ledger history` and `ledger balance --as-of`: a customer's events from the store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import psycopg

from eventstore.postgres import CUSTOMER_INDEX
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, open_customer
from tests.read_side_helpers import record_usage


def test_history_lists_the_account_and_usage_events_of_one_customer_in_order(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    open_customer(app, "CUST-1", unit_price="0.5")
    open_customer(app, "CUST-2")
    record_usage(app, "CUST-1", 3, quantity="4", day=2)
    record_usage(app, "CUST-2", 2)

    shown = ledger(cli_env, "history", "CUST-1", "--format", "json")

    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [r["event"] for r in rows] == ["AccountOpened", "MeteredSubscriptionAdded"] + ["UsageRecorded"] * 3
    assert [r["notification_id"] for r in rows] == sorted(r["notification_id"] for r in rows)
    assert rows[0]["actor"] == "alice@reseller.example" and rows[2]["actor"] == "system:ingest"
    assert Decimal(rows[2]["record"]["quantity"]) == 4  # the record an object, a decimal as a string
    assert "Decimal(" not in shown.stdout and "datetime." not in shown.stdout  # no Python reprs: JSON throughout
    assert [r["record"]["amount"] for r in rows[2:]] == ["2"] * 3  # usage at its exact price, as the event has it
    assert ledger(cli_env, "history", "NOBODY").returncode == 2


def test_the_history_is_found_through_the_customer_index(settings, app):
    open_customer(app, "CUST-1")

    with psycopg.connect(settings.database_url) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0] for r in conn.execute(
                f"EXPLAIN SELECT notification_id FROM {settings.store_schema}.ledger_events "
                "WHERE customer_id = 'CUST-1' ORDER BY notification_id"
            )
        )
    assert CUSTOMER_INDEX in plan


def test_a_balance_as_of_a_moment_folds_only_what_had_happened_by_then(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    open_customer(app, "CUST-1", unit_price="0.5")  # opened on 1 September
    record_usage(app, "CUST-1", 4, day=3)  # observed on 4 September
    record_usage(app, "CUST-1", 6, first=10, day=20)  # observed on 21 September
    app.close_account("CUST-1", at=datetime(2026, 10, 1, tzinfo=timezone.utc), actor=ADMIN)

    def balance_at(moment: str) -> dict:
        result = ledger(cli_env, "balance", "CUST-1", "--as-of", moment, "--format", "json")
        assert result.returncode == 0, result.stderr
        (row,) = json.loads(result.stdout)
        return row

    early, later, closed = balance_at("2026-09-10"), balance_at("2026-09-30"), balance_at("2026-10-02")
    assert (early["usage_lines"], Decimal(early["unbilled_usage"]), early["account_status"]) == (4, Decimal(4), "open")
    assert (later["usage_lines"], Decimal(later["unbilled_usage"]), later["account_status"]) == (10, Decimal(10), "open")
    assert closed["account_status"] == "closed"
    before = ledger(cli_env, "balance", "CUST-1", "--as-of", "2026-08-01")
    assert before.returncode == 2 and "had no account" in before.stderr


def test_a_store_made_before_the_customer_column_gets_it_filled_from_its_events(settings, app):
    from eventstore.postgres import open_application

    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 2)
    table = f"{settings.store_schema}.ledger_events"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN customer_id")  # as the store was made before
    reopened = open_application(settings)
    try:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute(f"SELECT customer_id, count(*) FROM {table} GROUP BY 1 ORDER BY 1").fetchall()
        # the admin's role grant belongs to no customer; the account and its usage to CUST-1
        assert rows == [("", 2), ("CUST-1", 4)]
        assert [line.usage_id for line in reopened.index.uninvoiced_usage("CUST-1")] == [
            line.usage_id for line in app.index.uninvoiced_usage("CUST-1")
        ] != []
    finally:
        reopened.close()

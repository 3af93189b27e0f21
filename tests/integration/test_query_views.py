"""`ledger query <view>`: filters, pages and formats over the views, and columns that are
computed when read (days since, ageing)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import psycopg

from consumers.projector import connect_read_models, set_up_read_side
from projections.balances import BALANCES_VIEW
from projections.registry import all_projections
from readside.queries import ViewQuery, read_view
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN
from tests.read_side_helpers import record_usage, relay_and_project


def open_customers(app, at: datetime) -> None:
    for n, currency in enumerate(["EUR", "USD", "EUR", "CHF", "EUR"], 1):
        customer = f"CUST-{n}"
        app.open_account(customer, f"Customer {n}", currency, 30, Decimal(20), at=at, actor=ADMIN)
        app.add_metered_subscription(customer, f"{customer}-vm", "Virtual Machines", "vcpu-hours", "h",
                                     Decimal("0.5"), at=at, actor=ADMIN)
        record_usage(app, customer, n * 2)
    app.close_account("CUST-3", at=at, actor=ADMIN)


def test_a_view_is_filtered_paged_and_printed_in_each_format(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    open_customers(app, datetime(2026, 9, 1, tzinfo=timezone.utc))
    relay_and_project(settings, app)

    listed = ledger(cli_env, "query", "balances", "--status", "open", "--currency", "eur", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [r["customer_id"] for r in json.loads(listed.stdout)] == ["CUST-1", "CUST-5"]

    first = ledger(cli_env, "query", "balances", "--limit", "2", "--format", "csv")
    assert [r["customer_id"] for r in csv.DictReader(io.StringIO(first.stdout))] == ["CUST-1", "CUST-2"]
    assert "--after CUST-2" in first.stderr
    rest = ledger(cli_env, "query", "balances", "--after", "CUST-2", "--min-unbilled", "5", "--format", "csv")
    assert [r["customer_id"] for r in csv.DictReader(io.StringIO(rest.stdout))] == ["CUST-3", "CUST-4", "CUST-5"]

    table = ledger(cli_env, "query", "balances", "CUST-4")
    assert table.returncode == 0 and "CHF" in table.stdout and "8.00" in table.stdout

    bad = ledger(cli_env, "query", "balances", "--min-unbilled", "lots")
    assert bad.returncode == 2 and "'lots' is not a valid value" in bad.stderr


def test_days_since_the_last_event_are_counted_at_the_time_of_the_query(settings, app):
    ten_days_ago = datetime.now(timezone.utc) - timedelta(days=10)
    app.open_account("CUST-1", "Customer 1", "EUR", 30, Decimal(20), at=ten_days_ago, actor=ADMIN)
    relay_and_project(settings, app)

    (row,) = read_view(settings, ViewQuery(BALANCES_VIEW, key="CUST-1"))
    assert row["days_since_last_event"] == (date.today() - ten_days_ago.date()).days
    idle = read_view(settings, ViewQuery(BALANCES_VIEW, filters=[(BALANCES_VIEW.filters[3], 10)]))
    assert [r["customer_id"] for r in idle] == ["CUST-1"]


def test_ageing_buckets_are_computed_from_the_due_date_as_of_today(settings):
    conn = connect_read_models(settings.database_url, settings.read_schema)
    set_up_read_side(conn, all_projections(), settings.views_schema)  # the views schema and its functions
    conn.close()
    today = datetime.now(timezone.utc).date()
    with psycopg.connect(settings.database_url) as conn:
        buckets = [
            conn.execute(f"SELECT {settings.views_schema}.ageing_bucket(%s)", (today - timedelta(days=days),)).fetchone()[0]
            for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)
        ]
    assert buckets == ["not_due", "not_due", "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", ">90", ">90"]

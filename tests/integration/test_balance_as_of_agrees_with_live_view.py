"""Time travel agrees with the live view: `ledger balance CUSTOMER --as-of T` shows, column for
column, what the live balances view shows when read as of the same day, for a customer on
the built-in policy and for one on a published policy of its own."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from domain.policy import CollectionsPolicy
from projections.balances import BALANCES_VIEW
from readside.history import balance_as_of
from readside.queries import ViewQuery, read_view
from tests.billing_life import BILLING, CUSTOMER, invoice_september, on, open_acme
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, open_customer
from tests.read_side_helpers import record_usage, relay_and_project

ON_DEFAULT = "CUST-1"
# Days after every event below: the live rows hold all of them, as the as-of rebuild does.
DAYS = (date(2026, 10, 10), date(2026, 10, 20), date(2026, 10, 21), date(2026, 11, 2), date(2027, 1, 5))


def two_customers_with_an_open_invoice(app) -> None:
    """ACME on the published policy `lenient` (5 grace days), invoiced on 1 October, due on
    15 October; CUST-1 on the built-in one (no grace), invoiced on 1 October, due on 31
    October; nothing paid."""
    open_acme(app)
    app.publish_policy(CollectionsPolicy(name="lenient", grace_days=5, reminder_days=(3,), suspend_after_days=20),
                       at=on(9, 1), actor=BILLING)
    app.assign_policy(CUSTOMER, "lenient", at=on(9, 1), actor=BILLING)
    invoice_september(app)
    open_customer(app, ON_DEFAULT)
    record_usage(app, ON_DEFAULT, 4, quantity="10")
    app.issue_invoice(ON_DEFAULT, date(2026, 9, 1), date(2026, 10, 1), at=on(10, 1), actor=ADMIN)


def live_row(settings, customer: str, day: date) -> dict:
    (row,) = read_view(settings, ViewQuery(BALANCES_VIEW, key=customer, as_of=day))
    return row


def test_the_balance_as_of_a_day_has_every_column_of_the_live_view_read_as_of_that_day(settings, app):
    two_customers_with_an_open_invoice(app)
    relay_and_project(settings, app)

    for customer in (CUSTOMER, ON_DEFAULT):
        for day in DAYS:
            moment = datetime.combine(day, datetime.min.time(), timezone.utc)
            assert balance_as_of(settings, customer, moment) == live_row(settings, customer, day), (customer, day)
    # the cases that tell the policies apart: past due, then past the grace days
    assert [live_row(settings, CUSTOMER, d)["overdue"] for d in DAYS] == [0, 0, 12000, 12000, 12000]
    assert [live_row(settings, ON_DEFAULT, d)["overdue"] > 0 for d in DAYS] == [False, False, False, True, True]


def test_ledger_balance_as_of_shows_the_overdue_of_a_named_policy(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    two_customers_with_an_open_invoice(app)

    shown = ledger(cli_env, "balance", CUSTOMER, "--as-of", "2026-10-21", "--format", "json")

    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    eur = {"amount": 12000, "currency": "EUR"}
    assert (row["overdue"], row["days_past_due"], row["balance"]) == (eur, 6, eur)
    assert list(row) == BALANCES_VIEW.shown_columns

"""The collection statuses of all customers at once (collections.sql, `statuses`: the
console's charts over all customers) are those of the collection_status view, customer by
customer, on every day of a life that passes through each status."""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier, Literal

from domain.policy import CollectionsPolicy
from projections import load_sql
from projections.collections import COLLECTIONS_VIEW, STATUSES
from readside.queries import ViewQuery, read_view
from tests.billing_life import BILLING, on, open_acme, until_suspended, usage_reports
from tests.factories import open_customer
from tests.integration.test_billing_views import project
from tests.read_side_helpers import record_usage

DAYS = [date(2026, 10, 1), date(2026, 10, 16), date(2026, 10, 20), date(2026, 10, 23), date(2026, 11, 10),
        date(2026, 11, 11), date(2026, 11, 14), date(2026, 12, 2), date(2027, 6, 1)]


def invoiced(app, customer_id: str) -> None:
    open_customer(app, customer_id)
    record_usage(app, customer_id, 2)
    app.issue_invoice(customer_id, date(2026, 9, 1), date(2026, 10, 1), at=on(10, 1), actor=BILLING)


def all_at_once(settings, as_of: date) -> dict[str, tuple[str, int]]:
    statement = SQL(load_sql("collections")["statuses"]).format(read=Identifier(settings.read_schema),
                                                                views=Identifier(settings.views_schema),
                                                                day=Literal(as_of))
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        conn.execute("SELECT set_config('ledger.as_of', %s, false)", (as_of.isoformat(),))
        return {r["customer_id"]: (r["collection_status"], r["days_past_due"]) for r in conn.execute(statement)}


def one_by_one(settings, as_of: date) -> dict[str, tuple[str, int]]:
    return {r["customer_id"]: (r["collection_status"], r["days_past_due"])
            for r in read_view(settings, ViewQuery(COLLECTIONS_VIEW, as_of=as_of))}


def a_life_through_every_status(settings, app) -> None:
    """ACME current, overdue, in dunning, then suspended on 14 November; HELD on hold to
    15 December; GONE written off on 1 December; DUNNED reminded; LENIENT within a long
    grace; QUIET never invoiced. Projected."""
    open_acme(app)
    app.record_usage(usage_reports(), actor="system:ingest")
    invoiced(app, "HELD")
    app.place_hold("HELD", "promise-to-pay", date(2026, 12, 15), "pays after budget review", at=on(10, 20), actor=BILLING)
    invoiced(app, "GONE")
    app.write_off("GONE", next(iter(app.get_account("GONE").invoices)), "customer insolvent", at=on(12, 1), actor=BILLING)
    app.publish_policy(CollectionsPolicy(name="lenient", grace_days=25, reminder_days=(30,), suspend_after_days=60),
                       at=on(9, 1), actor=BILLING)
    invoiced(app, "LENIENT")
    app.assign_policy("LENIENT", "lenient", at=on(10, 2), actor=BILLING)
    invoiced(app, "DUNNED")
    open_customer(app, "QUIET")
    until_suspended(app)  # its collections runs (to 14 November) remind DUNNED too
    project(settings)


def test_the_statuses_of_all_customers_at_once_are_the_views_on_every_day(settings, app):
    a_life_through_every_status(settings, app)
    seen = set()
    for day in DAYS:
        expected = one_by_one(settings, day)
        assert all_at_once(settings, day) == expected, day
        seen |= {status for status, _ in expected.values()}
    assert seen == set(STATUSES), "the life passes through every status"

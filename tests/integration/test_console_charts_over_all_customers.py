"""The console's pages over all customers read indexes and a row of dues per customer, not
the views' rows; on every day of a life through every status they show what the views show:
the ageing chart the invoices view's open invoices, each bar's customers page by page those
of the view, the customers of a status bar those of the collections view. The dues are kept
by the projector and rebuilt and verified with the invoices projection."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from types import SimpleNamespace

import pytest

from projections.collections import COLLECTIONS_VIEW, STATUSES
from projections.invoices import INVOICES_VIEW
from readside.queries import ViewQuery, read_view
from readside.verify import verify
from service.app import ServiceContext
from service.console import preview, reads
from tests.billing_life import BILLING, CUSTOMER, on
from tests.factories import ADMIN, open_customer
from tests.integration.test_collection_statuses_at_once import DAYS, a_life_through_every_status
from tests.read_side_helpers import record_usage, relay_and_project


@pytest.fixture
def request_(settings, app):
    """A life through every status (and a second currency), projected; what reads asks of a request."""
    a_life_through_every_status(settings, app)
    open_customer(app, "POUNDS", currency="GBP")
    record_usage(app, "POUNDS", 2)
    app.issue_invoice("POUNDS", date(2026, 9, 1), date(2026, 10, 1), at=on(10, 1), actor=BILLING)
    relay_and_project(settings, app)  # the live projector this time: it keeps the dues too
    ctx = ServiceContext.open(settings)
    yield SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(context=ctx)))
    ctx.close()


def every_page(read, after_of=lambda row: row["customer_id"]) -> list[dict]:
    """A bar's customers, two a page, each page after the last one's customer."""
    rows, after = [], ""
    while page := read(after, 2):
        rows += page
        after = after_of(page[-1])
    return rows


def test_the_ageing_chart_and_its_bars_are_the_invoices_views_open_invoices_on_every_day(settings, request_):
    for day in DAYS:
        amounts, customers = defaultdict(int), defaultdict(lambda: defaultdict(int))
        for row in read_view(settings, ViewQuery(INVOICES_VIEW, as_of=day)):
            if row["status"] == "open":
                amounts[row["currency"], row["ageing_bucket"]] += row["amount_open"]
                customers[row["currency"], row["ageing_bucket"]][row["customer_id"]] += row["amount_open"]
        chart = reads.ageing(request_, day)
        assert set(chart) == {"EUR", "GBP"}, day
        for currency, bars in chart.items():
            for bar in bars:
                expected = customers[currency, bar.bucket]
                assert (bar.amount, bar.customers) == (amounts[currency, bar.bucket], len(expected)), (day, bar)
                behind = every_page(lambda after, limit: reads.customers_in_bucket(
                    request_, day, currency, bar.bucket, after, limit))
                assert [(r["customer_id"], r["amount"]) for r in behind] == sorted(expected.items()), (day, bar)


def test_the_customers_behind_each_status_bar_are_the_collections_views_page_by_page(settings, request_):
    seen = set()
    for day in DAYS:
        by_status = defaultdict(list)
        for row in read_view(settings, ViewQuery(COLLECTIONS_VIEW, as_of=day)):
            by_status[row["collection_status"]].append(row["customer_id"])
        bars = reads.collection_statuses(request_, day)
        assert {bar.bucket: bar.customers for bar in bars} == {s: len(by_status[s]) for s in STATUSES}, day
        for status in STATUSES:
            behind = every_page(lambda after, limit: reads.customers_in_status(request_, day, status, after, limit))
            assert [r["customer_id"] for r in behind] == sorted(by_status[status]), (day, status)
            seen |= {status} if behind else set()
    assert seen == set(STATUSES)


def test_the_dues_the_projector_keeps_verify_and_follow_a_payment(settings, app, request_):
    assert verify(settings, ["invoices"])[0] == []
    app.receive_payment(CUSTOMER, "PAY-ALL", 10_000_000, "EUR", "transfer", "all of it", at=on(12, 3), actor=BILLING)
    relay_and_project(settings, app)
    assert verify(settings, ["invoices"])[0] == [], "the projector's dues are those recomputed from the store"
    (acme,) = [r for r in read_view(settings, ViewQuery(COLLECTIONS_VIEW, key=CUSTOMER, as_of=date(2026, 12, 3)))]
    statuses = {bar.bucket: bar.customers for bar in reads.collection_statuses(request_, date(2026, 12, 3))}
    assert acme["collection_status"] == "current" and statuses["current"] >= 1


def test_a_preview_page_read_at_once_is_each_accounts_own_preview(app, request_):
    day = date(2026, 11, 14)
    customers = sorted(app.index.customer_ids())
    assert preview.run_plan(app, day, ADMIN, customers) == [
        p for c in customers for p in preview.account_plan(app, c, day, ADMIN)]
    assert preview.run_plan(app, day, ADMIN, customers), "the test sees the run act that day"

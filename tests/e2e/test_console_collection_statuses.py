"""The collection statuses over all customers: one bar per status, its number that of the
collections view as of the console's day, each bar a link to the customers behind it."""

from __future__ import annotations

from collections import Counter

from tests.billing_life import CUSTOMER, HELPDESK
from tests.e2e.console_helpers import TODAY, sign_in
from tests.factories import ADMIN, open_customer
from tests.read_side_helpers import relay_and_project


def test_the_collection_statuses_chart_shows_the_collections_views_numbers_and_opens_the_customers(
        console, settings, app, pages):
    for customer in ("QUIET-1", "QUIET-2"):  # nothing invoiced: current
        open_customer(app, customer)
    relay_and_project(settings, app)

    agent = pages()
    sign_in(agent, console.url, HELPDESK)
    agent.get_by_role("link", name="Collection statuses").click()
    shown = {bar.get_attribute("data-bucket"): int(bar.get_attribute("data-amount"))
             for bar in agent.locator("svg.chart a").all()}
    with console.sign_in(ADMIN) as api:
        rows = api.get("/v1/views/collections", params={"as_of": TODAY.date().isoformat()}).json()["data"]
    expected = Counter(row["collection_status"] for row in rows)
    assert shown == {status: expected.get(status, 0) for status in shown}
    assert shown["suspended"] == 1 and shown["current"] == 2

    agent.locator('svg.chart a[data-bucket="suspended"]').click()
    behind = agent.locator("#customers tbody tr")
    assert behind.count() == 1
    assert behind.get_by_role("link", name=CUSTOMER).count() == 1
    agent.locator('svg.chart a[data-bucket="current"]').click()
    assert sorted(agent.locator("#customers tbody tr td:first-child").all_inner_texts()) == ["QUIET-1", "QUIET-2"]

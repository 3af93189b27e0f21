"""The views over real HTTP answer an ETag (a digest of the answer) and 304 Not Modified to an
If-None-Match that names it, until what they show changes."""

from __future__ import annotations

from datetime import date, timedelta

from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.factories import ADMIN, OPENED_AT, open_customer
from tests.read_side_helpers import record_usage, relay_and_project


def test_a_support_view_read_again_unchanged_is_not_modified_until_it_changes(api, admin):
    open_customer(api.ctx.ledger)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    first = admin.get("/v1/views/support/CUST-1")
    etag = first.headers["ETag"]

    again = admin.get("/v1/views/support/CUST-1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag and again.headers["cache-control"] == "no-store"
    assert admin.get("/v1/views/support/CUST-1", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304

    api.ctx.ledger.open_case("CASE-1", "CUST-1", "billing", "a question", [], at=OPENED_AT, actor=ADMIN)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    changed = admin.get("/v1/views/support/CUST-1", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["open_cases"] != first.json()["open_cases"]


def test_a_list_views_etag_follows_its_filters_and_page(api, admin):
    for customer in ("CUST-1", "CUST-2"):
        open_customer(api.ctx.ledger, customer)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    everyone = admin.get("/v1/views/balances")
    one = admin.get("/v1/views/balances", params={"limit": 1})

    assert everyone.headers["ETag"] != one.headers["ETag"]
    assert admin.get("/v1/views/balances", params={"limit": 1},
                     headers={"If-None-Match": everyone.headers["ETag"]}).status_code == 200
    assert admin.get("/v1/views/balances", headers={"If-None-Match": "*"}).status_code == 304


def test_a_refusal_carries_no_etag_and_if_none_match_does_not_hide_it(api, admin):
    missing = admin.get("/v1/views/support/NOPE", headers={"If-None-Match": "*"})
    assert missing.status_code == 404 and "ETag" not in missing.headers
    with api.client() as anonymous:
        assert anonymous.get("/v1/views/balances", headers={"If-None-Match": "*"}).status_code == 401


def test_a_view_read_as_of_a_day_counts_from_that_day(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    record_usage(api.ctx.ledger, "ACME", 1)
    invoice = admin.post("/v1/customers/ACME/invoices", json={"period": "2026-09"}).json()["invoice_number"]
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    due = date.fromisoformat(admin.get(f"/v1/customers/ACME/invoices/{invoice}").json()["due_date"])

    def days_past_due(as_of: date) -> int:
        answer = admin.get("/v1/views/balances", params={"customer_id": "ACME", "as_of": as_of.isoformat()})
        return answer.json()["data"][0]["days_past_due"]

    assert (days_past_due(due), days_past_due(due + timedelta(days=10))) == (0, 10)

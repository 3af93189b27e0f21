"""The views over real HTTP answer an ETag (a digest of the answer) and 304 Not Modified to an
If-None-Match that names it, until what they show changes."""

from __future__ import annotations

from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.factories import ADMIN, OPENED_AT, open_customer
from tests.read_side_helpers import relay_and_project


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

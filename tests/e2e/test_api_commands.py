"""Commands and reads over real HTTP: the error shape, retries by id and by Idempotency-Key,
money as integer minor units, the views' paging, and never a traceback."""

from __future__ import annotations

import hashlib
import logging

from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.conftest import wait_for
from tests.factories import open_customer
from tests.read_side_helpers import record_usage, relay_and_project

EUR = lambda cents: {"amount": cents, "currency": "EUR"}  # noqa: E731


def test_an_unknown_customer_is_a_404_problem_naming_it(admin):
    answer = admin.post("/v1/customers/NOPE/payments", json={"payment_id": "PAY-1", "amount": EUR(100)})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["cache-control"] == "no-store"
    problem = answer.json()
    assert problem["code"] == "unknown_customer" and problem["customer_id"] == "NOPE"
    assert problem["type"] == "/errors/unknown-customer" and problem["status"] == 404
    assert "NOPE" in problem["detail"]


def test_a_malformed_body_is_a_400_naming_the_field(admin):
    answer = admin.post("/v1/customers/ACME/payments", json={"payment_id": "PAY-1", "amount": 12.5})
    assert answer.status_code == 400 and answer.json()["field"].startswith("body.amount")
    not_json = admin.post("/v1/customers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["code"] == "malformed_request"


def test_a_payment_retried_by_its_id_is_recorded_once_and_money_is_minor_units(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    payment = {"payment_id": "PAY-1", "amount": EUR(12_345), "method": "card"}
    first = admin.post("/v1/customers/ACME/payments", json=payment)
    before = api.notifications()
    retry = admin.post("/v1/customers/ACME/payments", json=payment)
    assert (first.json()["changed"], retry.json()["changed"]) == (True, False)
    assert api.notifications() == before
    account = admin.get("/v1/customers/ACME").json()
    assert account["credit_balance"] == EUR(12_345)
    conflicting = admin.post("/v1/customers/ACME/payments", json={**payment, "amount": EUR(1)})
    assert conflicting.status_code == 409 and conflicting.json()["code"] == "already_exists"


def test_an_amount_in_another_currency_than_the_account_is_refused(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    answer = admin.post("/v1/customers/ACME/refunds", json={"refund_id": "R-1", "amount": {"amount": 1, "currency": "USD"}})
    assert answer.status_code == 422 and "billed in EUR" in answer.json()["detail"]


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(api, admin):
    run = {"as_of": api.ctx.clock().date().isoformat()}
    key = {"Idempotency-Key": "run-2026-11-30"}
    first = admin.post("/v1/collections/runs", json=run, headers=key)
    replay = admin.post("/v1/collections/runs", json=run, headers=key)
    assert first.status_code == replay.status_code == 202
    # the same run, not a second one
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    wait_for(lambda: admin.get(first.json()["url"]).json()["state"] == "done", what="the run over")
    other = admin.post("/v1/collections/runs", json={"as_of": "2026-11-01"}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


def test_a_token_created_twice_with_one_key_is_one_token_and_its_secret_is_not_kept(admin):
    key = {"Idempotency-Key": "laptop-token"}
    first = admin.post("/v1/tokens", json={"name": "laptop"}, headers=key)
    replay = admin.post("/v1/tokens", json={"name": "laptop"}, headers=key)
    assert first.json()["secret"] and replay.json()["secret"] is None
    assert replay.json()["token_id"] == first.json()["token_id"]
    assert len(admin.get("/v1/tokens").json()["data"]) == 1


def test_a_refused_command_releases_its_idempotency_key(api, admin):
    key = {"Idempotency-Key": "open-then-fix"}
    refused = admin.post("/v1/customers", json={"customer_id": "ACME", "name": "Acme", "currency": "XXX"}, headers=key)
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_currency"
    fixed = admin.post("/v1/customers", json={"customer_id": "ACME", "name": "Acme", "currency": "EUR"}, headers=key)
    assert fixed.status_code == 200  # the refusal was not kept: the key is free for the corrected request
    retried = admin.post("/v1/customers", json={"customer_id": "ACME", "name": "Acme", "currency": "XXX"}, headers=key)
    assert retried.status_code == 409 and retried.json()["code"] == "idempotency_key_reused"


def test_an_unexpected_error_is_one_logged_line_and_a_correlation_id_never_a_traceback(api, admin, caplog):
    def broken(customer_id):
        raise RuntimeError("the disk is on fire")

    api.ctx.ledger.get_account = broken
    with caplog.at_level(logging.ERROR, logger="ledger.serve"):
        answer = admin.get("/v1/customers/ACME")
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["code"] == "internal_error" and "Traceback" not in answer.text
    assert problem["correlation_id"] in problem["detail"]
    lines = [r for r in caplog.records if problem["correlation_id"] in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def test_a_support_case_over_http_from_opening_to_reopening(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    case = {"case_id": "CASE-1", "customer_id": "ACME", "category": "technical", "subject": "VM will not start"}
    assert admin.post("/v1/cases", json=case).json() == {"changed": True, "case_id": "CASE-1"}
    assert admin.post("/v1/cases", json=case).json()["changed"] is False
    assert admin.post("/v1/cases/CASE-1/notes", json={"note": "asked for logs"}).json()["changed"] is True
    assert admin.post("/v1/cases/CASE-1/escalation", json={"vendor_ticket": "MS-42"}).json()["changed"] is True
    assert admin.get("/v1/cases/CASE-1").json()["vendor_ticket"] == "MS-42"
    assert admin.post("/v1/cases/CASE-1/resolution", json={"resolution": "restarted"}).json()["changed"] is True
    assert admin.post("/v1/cases/CASE-1/notes", json={"note": "late"}).status_code == 422
    assert admin.post("/v1/cases/CASE-1/reopening", json={"reason": "again"}).json()["changed"] is True
    shown = admin.get("/v1/cases/CASE-1").json()
    assert shown["status"] == "open"
    assert [n["note"] for n in shown["notes"]] == ["asked for logs"]
    assert admin.get("/v1/cases/NOPE").json()["code"] == "unknown_case"


def test_an_invoice_issued_over_http_shows_its_money_in_minor_units(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    record_usage(api.ctx.ledger, "ACME", 2)  # 2 x 2 h at 0.50, plus 20 % tax
    issued = admin.post("/v1/customers/ACME/invoices", json={"period": "2026-09"}).json()
    assert issued["changed"] is True
    assert admin.post("/v1/customers/ACME/invoices", json={"period": "2026-09"}).json() == {
        "changed": False, "customer_id": "ACME", "invoice_number": None}
    invoice = admin.get(f"/v1/customers/ACME/invoices/{issued['invoice_number']}").json()
    assert invoice["total"] == EUR(240) and invoice["open"] == EUR(240) and invoice["status"] == "open"
    assert admin.get("/v1/customers/ACME/invoices/INV-NOPE").json()["code"] == "unknown_invoice"


def test_the_views_page_by_cursor_with_the_clis_filters(api, admin):
    for customer in ("CUST-1", "CUST-2", "CUST-3"):
        open_customer(api.ctx.ledger, customer)
        record_usage(api.ctx.ledger, customer, 1)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    first = admin.get("/v1/views/balances", params={"limit": 2}).json()
    assert [r["customer_id"] for r in first["data"]] == ["CUST-1", "CUST-2"]
    assert first["has_more"] is True and first["next"] == "CUST-2"
    second = admin.get("/v1/views/balances", params={"limit": 2, "starting_after": first["next"]}).json()
    assert [r["customer_id"] for r in second["data"]] == ["CUST-3"] and second["has_more"] is False
    row = first["data"][0]
    assert row["invoiced"] == EUR(0) and row["unbilled_usage"] == "1"
    filtered = admin.get("/v1/views/balances", params={"status": "closed"}).json()
    assert filtered == {"data": [], "has_more": False, "next": None}
    bad = admin.get("/v1/views/balances", params={"status": "gone"})
    assert bad.status_code == 400 and "open, closed" in bad.json()["detail"]
    support = admin.get("/v1/views/support/CUST-1")
    assert support.status_code == 200 and support.json()["customer_id"] == "CUST-1"
    assert support.headers["cache-control"] == "no-store"
    assert admin.get("/v1/views/support/NOPE").status_code == 404


def test_a_customers_history_pages_in_store_order_with_money_and_its_balance_as_of_a_moment(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    payment = {"payment_id": "PAY-1", "amount": EUR(5_000), "at": "2026-10-15T00:00:00Z"}
    assert admin.post("/v1/customers/ACME/payments", json=payment).status_code == 200
    first = admin.get("/v1/customers/ACME/history", params={"limit": 2}).json()
    assert [e["event"] for e in first["data"]] == ["AccountOpened", "MeteredSubscriptionAdded"]
    assert first["has_more"] is True
    rest = admin.get("/v1/customers/ACME/history", params={"starting_after": first["next"]}).json()
    received = rest["data"][-1]
    assert received["event"] == "PaymentReceived" and received["actor"] == "alice@reseller.example"
    assert received["record"]["amount"] == EUR(5_000) and received["record"]["to_credit_balance"] == EUR(5_000)
    assert received["occurred_at"] == "2026-10-15T00:00:00Z" and rest["has_more"] is False

    before = admin.get("/v1/customers/ACME/balance", params={"as_of": "2026-10-01T00:00:00Z"}).json()
    after = admin.get("/v1/customers/ACME/balance", params={"as_of": "2026-10-16T00:00:00Z"}).json()
    assert (before["paid"], after["paid"]) == (EUR(0), EUR(5_000))
    never = admin.get("/v1/customers/ACME/balance", params={"as_of": "2026-01-01T00:00:00Z"})
    assert never.status_code == 404 and never.json()["code"] == "unknown_customer"
    assert admin.get("/v1/customers/NOPE/history").json()["code"] == "unknown_customer"


def test_suspension_reinstatement_and_a_write_off_by_hand_over_http(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    record_usage(api.ctx.ledger, "ACME", 1)
    number = admin.post("/v1/customers/ACME/invoices", json={"period": "2026-09"}).json()["invoice_number"]
    suspended = admin.post("/v1/customers/ACME/suspension", json={"reason": "fraud check"})
    assert suspended.json() == {"changed": True, "customer_id": "ACME"}
    assert [s["suspended"] for s in admin.get("/v1/customers/ACME").json()["subscriptions"]] == [True]
    assert admin.post("/v1/customers/ACME/suspension", json={"reason": "fraud check"}).json()["changed"] is False
    assert admin.post("/v1/customers/ACME/reinstatement", json={"reason": "cleared"}).json()["changed"] is True
    assert [s["suspended"] for s in admin.get("/v1/customers/ACME").json()["subscriptions"]] == [False]

    written_off = admin.post(f"/v1/customers/ACME/invoices/{number}/write-off", json={"reason": "insolvent"})
    assert written_off.json()["changed"] is True
    invoice = admin.get(f"/v1/customers/ACME/invoices/{number}").json()
    assert invoice["open"] == EUR(0) and invoice["written_off"] == invoice["total"]


def test_a_collections_policy_is_published_with_the_terms_given_and_read_back(admin):
    assert admin.get("/v1/policies/lenient").json()["code"] == "unknown_policy"
    terms = {"grace_days": 10, "reminder_days": [3, 10], "suspend_min_overdue": "50.00"}
    assert admin.put("/v1/policies/lenient", json=terms).json() == {"changed": True, "name": "lenient"}
    assert admin.put("/v1/policies/lenient", json=terms).json()["changed"] is False
    policy = admin.get("/v1/policies/lenient").json()
    assert (policy["grace_days"], policy["reminder_days"], policy["suspend_min_overdue"]) == (10, [3, 10], "50.00")
    assert policy["suspend_after_days"] == admin.get("/v1/policies/standard").json()["suspend_after_days"]
    refused = admin.put("/v1/policies/lenient", json={"reminder_days": [10, 3]})
    assert refused.status_code == 422 and "increasing" in refused.json()["detail"]


def test_an_accounts_profile_seats_policy_and_closure_change_over_http(api, admin):
    open_customer(api.ctx.ledger, "ACME")
    assert admin.patch("/v1/customers/ACME", json={"payment_terms_days": 14}).json()["changed"] is True
    seats = {"kind": "seats", "subscription_id": "M365", "product": "Microsoft 365", "seats": 10,
             "price_per_seat": "12.50", "starts_on": "2026-11-01"}
    assert admin.post("/v1/customers/ACME/subscriptions", json=seats).json()["changed"] is True
    more = admin.put("/v1/customers/ACME/subscriptions/M365/seats", json={"seats": 12, "effective_on": "2026-11-10"})
    assert more.json()["changed"] is True
    assert admin.put("/v1/policies/lenient", json={"grace_days": 10}).status_code == 200
    assert admin.put("/v1/customers/ACME/policy", json={"policy": "lenient"}).json()["changed"] is True
    assert admin.put("/v1/customers/ACME/policy", json={"policy": "nope"}).status_code == 422
    account = admin.get("/v1/customers/ACME").json()
    assert (account["payment_terms_days"], account["name"], account["collections_policy"]) == (14, "Customer ACME", "lenient")
    assert [s["seats"] for s in account["subscriptions"] if s["subscription_id"] == "M365"] == [12]
    assert admin.post("/v1/customers/ACME/closure", json={}).json()["changed"] is True
    assert admin.get("/v1/customers/ACME").json()["status"] == "closed"
    assert admin.post("/v1/customers/ACME/closure", json={}).json()["changed"] is False


def test_an_idempotency_key_left_by_a_request_that_died_is_free_again_after_a_minute(api, admin):
    key = {"Idempotency-Key": "crashed"}
    token = admin.headers["Authorization"]
    run = {"as_of": api.ctx.clock().date().isoformat()}
    scope = hashlib.sha256(token.encode()).digest()
    with api.ctx.credentials.pool.connection() as conn:  # what a process that died mid-request leaves
        conn.execute("INSERT INTO ledger_auth.idempotency_keys (scope, key, fingerprint, created_at) "
                     "VALUES (%s, 'crashed', '\\x00', now() - interval '2 minutes')", (scope,))
    assert admin.post("/v1/collections/runs", json=run, headers=key).status_code == 202
    with api.ctx.credentials.pool.connection() as conn:
        conn.execute("INSERT INTO ledger_auth.idempotency_keys (scope, key, fingerprint) VALUES (%s, 'running', '\\x00')",
                     (scope,))
    still = admin.post("/v1/collections/runs", json=run, headers={"Idempotency-Key": "running"})
    assert still.status_code == 409 and still.json()["code"] == "idempotency_key_reused"

"""The plain form of the API's most frequent requests (a support view without a query, a
payment without Idempotency-Key or If-Match) is answered before FastAPI routes it
(service/lanes.py); any other form goes to the declared endpoint. Both must give the same
answers, ETags and refusals, record the signed-in actor, and prove who is calling on every
request: a token revoked, expired, or a role revoked is refused at the very next one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.credentials import TokenKind
from domain.roles import Role
from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.factories import ADMIN, open_customer
from tests.read_side_helpers import relay_and_project

SUPPORT = "/v1/views/support/CUST-1"
AGENT = "hal@reseller.example"


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def test_the_support_view_answers_the_same_bytes_and_etag_with_or_without_a_query(api, admin):
    open_customer(api.ctx.ledger)
    relay_and_project(api.ctx.settings, api.ctx.ledger)

    lane = admin.get(SUPPORT)
    declared = admin.get(SUPPORT, params={"as_of": today()})

    assert lane.status_code == declared.status_code == 200
    assert lane.content == declared.content and lane.json()["customer_id"] == "CUST-1"
    assert lane.headers["ETag"] == declared.headers["ETag"]
    assert lane.headers["content-type"] == declared.headers["content-type"] == "application/json"
    assert lane.headers["cache-control"] == declared.headers["cache-control"] == "no-store"
    assert admin.get(SUPPORT, headers={"If-None-Match": lane.headers["ETag"]}).status_code == 304


def test_the_support_view_refuses_alike_with_or_without_a_query(api, admin):
    open_customer(api.ctx.ledger)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    api.add_staff(AGENT, Role.USER_MANAGEMENT_ADMIN)  # a role without the support view
    service = api.token(TokenKind.SERVICE, "service:metering")
    with api.client() as anonymous, api.client("not a token") as unknown, api.sign_in(AGENT) as agent, \
            api.client(service) as upstream:
        for client, status, code in [(anonymous, 401, "not_signed_in"), (unknown, 401, "not_signed_in"),
                                     (agent, 403, "permission_denied"), (upstream, 403, "permission_denied")]:
            lane, declared = client.get(SUPPORT), client.get(SUPPORT, params={"as_of": today()})
            assert (lane.status_code, lane.json()["code"]) == (status, code), lane.text
            assert lane.json() == declared.json() and "ETag" not in lane.headers
    missing = admin.get("/v1/views/support/NOPE")
    assert missing.status_code == 404 and missing.json() == admin.get("/v1/views/support/NOPE",
                                                                      params={"as_of": today()}).json()


def test_the_support_view_refuses_a_token_or_a_role_at_the_next_request_after_its_revocation(api, admin):
    open_customer(api.ctx.ledger)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    api.add_staff(AGENT, Role.HELPDESK_AGENT)
    with api.sign_in(AGENT) as agent:
        assert agent.get(SUPPORT).status_code == 200
        assert admin.delete(f"/v1/staff/{AGENT}/roles/helpdesk-agent").json()["changed"] is True
        refused = agent.get(SUPPORT)
        assert refused.status_code == 403 and refused.json()["permission"] == "read the support view"

    created = admin.post("/v1/tokens", json={"name": "desk screen", "expires_in_days": 7}).json()
    with api.client(created["secret"]) as desk:
        assert desk.get(SUPPORT).status_code == 200
        assert admin.delete(f"/v1/tokens/{created['token_id']}").json()["changed"] is True
        revoked = desk.get(SUPPORT)
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]

    expiring = api.token(TokenKind.PERSONAL, ADMIN, lifetime=timedelta(days=1))
    with api.client(expiring) as script:
        assert script.get(SUPPORT).status_code == 200
        real_clock = api.ctx.clock
        api.ctx.clock = lambda: real_clock() + timedelta(days=1, seconds=1)
        try:
            expired = script.get(SUPPORT)
        finally:
            api.ctx.clock = real_clock
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]


PAYMENTS = "/v1/customers/CUST-1/payments"
CLERK = "bob@reseller.example"


def payment(payment_id: str, **more) -> dict:
    return {"payment_id": payment_id, "amount": {"amount": 100, "currency": "EUR"}, **more}


def test_a_payment_answers_the_same_with_or_without_an_idempotency_key_and_records_who_signed_in(api, admin):
    open_customer(api.ctx.ledger)
    first = admin.post(PAYMENTS, json=payment("PAY-1"))
    retried = admin.post(PAYMENTS, json=payment("PAY-1"))
    declared = admin.post(PAYMENTS, json=payment("PAY-1"), headers={"Idempotency-Key": "k-1"})

    assert first.status_code == retried.status_code == declared.status_code == 200
    assert first.json() == {"changed": True, "customer_id": "CUST-1", "payment_id": "PAY-1"}
    assert retried.content == declared.content and retried.json()["changed"] is False
    assert retried.headers["content-type"] == declared.headers["content-type"] == "application/json"
    assert retried.headers["cache-control"] == declared.headers["cache-control"] == "no-store"
    received = [e for e in api.events() if type(e).__name__ == "PaymentReceived"]
    assert [(e.payment_id, e.actor) for e in received] == [("PAY-1", ADMIN)]


def test_a_payment_is_refused_alike_by_either_path_and_a_refusal_records_nothing(api, admin):
    open_customer(api.ctx.ledger)
    api.add_staff(AGENT, Role.HELPDESK_AGENT)  # may not record payments
    before = api.notifications()
    with api.client() as anonymous, api.sign_in(AGENT) as agent:
        for client, status, code in [(anonymous, 401, "not_signed_in"), (agent, 403, "permission_denied")]:
            lane = client.post(PAYMENTS, json=payment("PAY-1"))
            declared = client.post(PAYMENTS, json=payment("PAY-1"), headers={"Idempotency-Key": "k-1"})
            assert (lane.status_code, lane.json()["code"]) == (status, code), lane.text
            assert lane.json() == declared.json()
    forged = admin.post(PAYMENTS, json=payment("PAY-1", actor="root@partner.example"))
    assert forged.status_code == 400 and forged.json()["code"] == "malformed_request", forged.text
    unknown = admin.post("/v1/customers/NOPE/payments", json=payment("PAY-1"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_customer", unknown.text
    assert api.notifications() == before


def test_a_payment_refuses_a_role_at_the_next_request_after_its_revocation(api, admin):
    open_customer(api.ctx.ledger)
    api.add_staff(CLERK, Role.BILLING_ADMIN)
    with api.sign_in(CLERK) as clerk:
        assert clerk.post(PAYMENTS, json=payment("PAY-1")).status_code == 200
        assert admin.delete(f"/v1/staff/{CLERK}/roles/billing-admin").json()["changed"] is True
        before = api.notifications()
        refused = clerk.post(PAYMENTS, json=payment("PAY-2"))
        assert refused.status_code == 403 and refused.json()["permission"] == "record, reverse and refund payments"
        assert api.notifications() == before


def test_a_read_asks_for_the_token_and_the_staff_directorys_version_in_one_query(api, admin, monkeypatch):
    open_customer(api.ctx.ledger)
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    asked = []
    ask = api.ctx.ledger.index.current_versions
    monkeypatch.setattr(api.ctx.ledger.index, "current_versions", lambda ids: asked.append(ids) or ask(ids))
    assert admin.get(SUPPORT).status_code == 200
    assert admin.get(SUPPORT, params={"as_of": today()}).status_code == 200
    assert asked == []  # by either path: the version came with the token

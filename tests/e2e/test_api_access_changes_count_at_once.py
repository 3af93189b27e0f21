"""What one `ledger serve` process changes in access counts at the very next request to
another: a role revoked (the staff directory is kept between requests, domain/kept.py, but
never past a change) and a token revoked (looked up on every request)."""

from __future__ import annotations

from domain.roles import Role
from tests.api_helpers import admin, api, serving  # noqa: F401 - fixtures
from tests.factories import ADMIN, open_customer

CLERK = "bob@reseller.example"
EUR = lambda cents: {"amount": cents, "currency": "EUR"}  # noqa: E731


def pay(client, payment_id: str):
    return client.post("/v1/customers/CUST-1/payments", json={"payment_id": payment_id, "amount": EUR(100)})


def test_a_role_revoked_on_one_server_is_refused_by_the_other_at_the_next_request(api, admin):
    open_customer(api.ctx.ledger)
    api.add_staff(CLERK, Role.BILLING_ADMIN)
    with serving(api.ctx.settings) as other, other.sign_in(CLERK) as clerk:
        assert pay(clerk, "PAY-1").status_code == 200  # the other server has read and kept the directory
        assert pay(clerk, "PAY-1").status_code == 200

        assert admin.delete(f"/v1/staff/{CLERK}/roles/billing-admin").json()["changed"] is True
        before = api.notifications()
        refused = pay(clerk, "PAY-2")

        assert refused.status_code == 403, refused.text
        assert refused.json()["permission"] == "record, reverse and refund payments"
        assert api.notifications() == before

        assert admin.put(f"/v1/staff/{CLERK}/roles/billing-admin").json()["changed"] is True
        assert pay(clerk, "PAY-2").status_code == 200  # and granted again, allowed at once


def test_a_token_revoked_on_one_server_is_refused_by_the_other_at_the_next_request(api, admin):
    with serving(api.ctx.settings) as other, other.sign_in(ADMIN) as elsewhere:
        assert elsewhere.get("/v1/sessions/current").status_code == 200
        token_id = elsewhere.get("/v1/sessions/current").json()["token_id"]

        assert admin.delete(f"/v1/tokens/{token_id}").json()["changed"] is True

        refused = elsewhere.get("/v1/sessions/current")
        assert refused.status_code == 401 and f"token {token_id} was revoked" in refused.json()["detail"]

"""ETags and If-Match over real HTTP: a read of an account or a case answers its version; a
command that sends it back is applied while nothing changed since, and refused (409
stale_version, nothing recorded) once something did."""

from __future__ import annotations

from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.factories import ADMIN, OPENED_AT, open_customer

EUR = lambda cents: {"amount": cents, "currency": "EUR"}  # noqa: E731


def pay(client, payment_id: str, if_match: str | None = None):
    headers = {"If-Match": if_match} if if_match else {}
    return client.post("/v1/customers/CUST-1/payments", json={"payment_id": payment_id, "amount": EUR(100)},
                       headers=headers)


def test_a_command_sent_with_the_etag_it_read_is_applied_then_refused_once_stale(api, admin):
    open_customer(api.ctx.ledger)
    read = admin.get("/v1/customers/CUST-1")
    etag = read.headers["ETag"]
    assert etag == f'"{api.ctx.ledger.get_account("CUST-1").version}"'

    assert pay(admin, "PAY-1", if_match=etag).status_code == 200  # nothing changed since the read
    before = api.notifications()
    stale = pay(admin, "PAY-2", if_match=etag)  # PAY-1 changed the account since

    assert stale.status_code == 409, stale.text
    problem = stale.json()
    assert problem["code"] == "stale_version" and "customer 'CUST-1' changed since it was read" in problem["detail"]
    assert problem["version"] == admin.get("/v1/customers/CUST-1").headers["ETag"] != etag
    assert api.notifications() == before
    assert pay(admin, "PAY-2").status_code == 200  # without If-Match: applied as before


def test_a_case_answers_its_version_and_a_stale_note_is_refused(api, admin):
    open_customer(api.ctx.ledger)
    api.ctx.ledger.open_case("CASE-1", "CUST-1", "billing", "a question", [], at=OPENED_AT, actor=ADMIN)
    etag = admin.get("/v1/cases/CASE-1").headers["ETag"]
    assert admin.post("/v1/cases/CASE-1/notes", json={"note": "called back"}).status_code == 200

    stale = admin.post("/v1/cases/CASE-1/resolution", json={"resolution": "answered"}, headers={"If-Match": etag})

    assert stale.status_code == 409 and stale.json()["code"] == "stale_version", stale.text
    assert api.ctx.ledger.get_case("CASE-1").resolved is False


def test_if_match_on_a_command_that_names_no_account_or_case_is_malformed(api, admin):
    opened = admin.post("/v1/customers", json={"customer_id": "NEW", "name": "New", "currency": "EUR"},
                        headers={"If-Match": '"1"'})
    assert opened.status_code == 400 and opened.json()["field"] == "If-Match"

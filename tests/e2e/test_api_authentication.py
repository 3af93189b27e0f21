"""Identity is proven, never claimed: over real HTTP, the actor is who signed in; expired,
revoked and unknown tokens are refused; failed sign-ins are throttled; a service token
publishes usage and nothing else; the first admin signs in with a one-time password."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

from domain.credentials import AccessToken, StaffPassword, TokenKind
from domain.roles import Role
from tests.api_helpers import PASSWORD, admin, api, serving  # noqa: F401 - fixtures
from tests.factories import ADMIN

OPEN_ACME = {"customer_id": "ACME", "name": "Acme", "currency": "EUR"}


def test_the_actor_is_who_signed_in_whatever_the_request_says(api, admin):
    before = api.notifications()
    forged = admin.post("/v1/customers", json={**OPEN_ACME, "actor": "root@partner.example"})
    assert forged.status_code == 400 and forged.json()["field"] == "body.actor"
    assert api.notifications() == before

    answer = admin.post("/v1/customers?as=root@partner.example&actor=root@partner.example", json=OPEN_ACME,
                        headers={"X-Actor": "root@partner.example", "X-Forwarded-User": "root@partner.example"})
    assert answer.status_code == 200, answer.text
    opened = api.events()[-1]
    assert type(opened).__name__ == "Opened" and opened.customer_id == "ACME"
    assert opened.actor == ADMIN


def test_a_business_time_out_of_bounds_is_refused_and_records_nothing(api, admin):
    before = api.notifications()
    tomorrow_and_more = (api.ctx.clock() + timedelta(days=2)).isoformat()
    for at, says in [(tomorrow_and_more, "ahead of"), ("1999-12-31T23:00:00Z", "before 2000-01-01"),
                     ("2026-09-01T00:00:00", "no time zone")]:
        answer = admin.post("/v1/customers", json={**OPEN_ACME, "at": at})
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_command" and says in answer.json()["detail"]
    assert api.notifications() == before
    assert admin.post("/v1/customers", json={**OPEN_ACME, "at": "2026-09-01T00:00:00Z"}).status_code == 200


def test_no_token_an_unknown_token_and_a_malformed_header_are_not_signed_in(api):
    for headers in [{}, {"Authorization": "Bearer tok_0.nothing"}, {"Authorization": "Basic YWxpY2U6cHc="}]:
        with api.client() as client:
            answer = client.get("/v1/customers/ACME", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["code"] == "not_signed_in"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(api, admin):
    token = api.token(TokenKind.PERSONAL, ADMIN, lifetime=timedelta(days=30))
    with api.client(token) as client:
        assert client.get("/v1/tokens").status_code == 200
        real_clock = api.ctx.clock
        api.ctx.clock = lambda: real_clock() + timedelta(days=30, seconds=1)
        try:
            answer = client.get("/v1/tokens")
        finally:
            api.ctx.clock = real_clock
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_a_revoked_token_is_refused_and_its_revocation_is_an_event_without_the_secret(api, admin):
    created = admin.post("/v1/tokens", json={"name": "nightly export", "expires_in_days": 7})
    assert created.status_code == 201
    token, token_id = created.json()["secret"], created.json()["token_id"]
    listed = admin.get("/v1/tokens").json()["data"]
    assert [t["token_id"] for t in listed] == [token_id] and "secret" not in listed[0]
    with api.client(token) as client:
        assert client.get("/v1/tokens").status_code == 200
        assert admin.delete(f"/v1/tokens/{token_id}").json() == {"changed": True}
        assert admin.delete(f"/v1/tokens/{token_id}").json() == {"changed": False}
        answer = client.get("/v1/tokens")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]

    events = [e for e in api.events(api.ctx.access) if getattr(e, "token_id", None) == token_id]
    assert [type(e) for e in events] == [AccessToken.Issued, AccessToken.Revoked]
    assert all(e.actor == ADMIN for e in events)
    stored = api.ctx.access.recorder.select_notifications(1, 100_000)
    assert not any(token.split(".")[1].encode() in n.state for n in stored)


def test_signing_out_ends_the_session(api):
    with api.sign_in(ADMIN) as client:
        assert client.delete("/v1/sessions/current").json() == {"changed": True}
        assert client.get("/v1/tokens").status_code == 401
    kinds = [(type(e).__name__, e.actor) for e in api.events(api.ctx.access) if isinstance(e, AccessToken.Event)]
    assert kinds[-2:] == [("Issued", ADMIN), ("Revoked", ADMIN)]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(api):
    with api.client() as client:
        wrong = client.post("/v1/sessions", json={"user": ADMIN, "password": "not the password"})
        unknown = client.post("/v1/sessions", json={"user": "nobody@reseller.example", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong user or password"


def test_failed_sign_ins_are_throttled_per_user_then_even_the_right_password_waits(api):
    with api.client() as client:
        for _ in range(5):
            assert client.post("/v1/sessions", json={"user": ADMIN, "password": "guess"}).status_code == 401
        throttled = client.post("/v1/sessions", json={"user": ADMIN, "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "too_many_sign_ins"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60


def test_failed_sign_ins_are_throttled_per_address_across_users(api):
    api.add_staff("bob@reseller.example", Role.HELPDESK_AGENT)
    with api.client() as client:
        for n in range(20):
            client.post("/v1/sessions", json={"user": f"guess-{n}@reseller.example", "password": "guess"})
        throttled = client.post("/v1/sessions", json={"user": "bob@reseller.example", "password": PASSWORD})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def test_a_service_token_publishes_usage_and_nothing_else(api, admin):
    created = admin.post("/v1/service-tokens", json={"service": "metering-eu", "name": "EU meters"})
    assert created.json()["principal"] == "service:metering-eu"
    before = api.notifications()
    with api.client(created.json()["secret"]) as service:
        assert service.post("/v1/usage", json={"events": []}).status_code == 200
        for method, path, body in [
            ("POST", "/v1/customers", OPEN_ACME), ("GET", "/v1/views/balances", None), ("GET", "/v1/tokens", None),
            ("POST", "/v1/tokens", {"name": "escalate"}), ("GET", "/v1/staff", None),
            ("PUT", "/v1/staff/service:metering-eu/roles/global-admin", None),
        ]:
            answer = service.request(method, path, json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["code"] == "permission_denied"
    assert api.notifications() == before


def test_the_operator_bootstraps_the_first_admin_who_must_choose_a_password(settings, cli_env):
    boot = subprocess.run([sys.executable, "-m", "ledger.cli", "staff", "bootstrap", "root@partner.example"],
                          env=cli_env, capture_output=True, text=True, timeout=300)
    assert boot.returncode == 0, boot.stderr
    password = re.search(r"one-time password (\S+)", boot.stdout).group(1)
    again = subprocess.run([sys.executable, "-m", "ledger.cli", "staff", "bootstrap", "root@partner.example"],
                           env=cli_env, capture_output=True, text=True, timeout=300)
    assert "one-time password" not in again.stdout  # shown once

    with serving(settings) as api:
        with api.client() as anonymous:
            session = anonymous.post("/v1/sessions", json={"user": "root@partner.example", "password": password}).json()
        assert session["must_change_password"] is True
        with api.client(session["token"]) as root:
            refused = root.post("/v1/customers", json=OPEN_ACME)
            assert refused.status_code == 403 and "new password" in refused.json()["detail"]
            chosen = root.put("/v1/staff/root@partner.example/password",
                              json={"password": PASSWORD, "current_password": password})
            assert chosen.status_code == 200, chosen.text
            assert root.post("/v1/customers", json=OPEN_ACME).status_code == 200
        sets = [e for e in api.events(api.ctx.access) if isinstance(e, StaffPassword.PasswordSet)]
        assert [(e.actor, e.one_time) for e in sets] == [
            ("system:staff-bootstrap", True), ("root@partner.example", False)]
        granted = [e for e in api.events() if type(e).__name__ == "RoleGranted"]
        assert granted[0].actor == "system:staff-bootstrap"


def test_a_session_can_not_guess_its_users_current_password_faster_than_sign_in_can(api, admin):
    for _ in range(5):
        wrong = admin.put(f"/v1/staff/{ADMIN}/password", json={"password": "x" * 12, "current_password": "guess"})
        assert wrong.status_code == 401
    right = admin.put(f"/v1/staff/{ADMIN}/password", json={"password": "y" * 12, "current_password": PASSWORD})
    assert right.status_code == 429


def test_signing_in_ignores_an_idempotency_key_and_keeps_no_session_token(api):
    key = {"Idempotency-Key": "same-key"}
    with api.client() as anonymous:
        first = anonymous.post("/v1/sessions", json={"user": ADMIN, "password": PASSWORD}, headers=key)
        second = anonymous.post("/v1/sessions", json={"user": ADMIN, "password": PASSWORD}, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["token"] != second.json()["token"] and "Idempotent-Replayed" not in second.headers
    with api.ctx.credentials.pool.connection() as conn:
        kept = conn.execute("SELECT count(*) AS n FROM ledger_auth.idempotency_keys").fetchone()["n"]
    assert kept == 0


def test_a_new_password_signs_out_the_users_other_sessions(api, admin):
    api.add_staff("bob@reseller.example", Role.HELPDESK_AGENT)
    with api.sign_in("bob@reseller.example") as laptop, api.sign_in("bob@reseller.example") as phone:
        changed = laptop.put("/v1/staff/bob@reseller.example/password",
                             json={"password": "a new long passphrase", "current_password": PASSWORD})
        assert changed.status_code == 200
        assert laptop.get("/v1/tokens").status_code == 200
        assert phone.get("/v1/tokens").status_code == 401
        reset = admin.put("/v1/staff/bob@reseller.example/password", json={"password": "one-time by the admin"})
        assert reset.status_code == 200
        assert laptop.get("/v1/tokens").status_code == 401

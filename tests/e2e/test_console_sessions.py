"""Console sessions over HTTP: the cookie's attributes, sign-out, idle expiry, a refused
password, and the CSRF token of the sign-in form itself."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.api_helpers import PASSWORD, serving
from tests.billing_life import BILLING, open_acme

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def console(settings, app):
    open_acme(app)
    with serving(settings) as served:
        served.ctx.clock = clock = Clock()
        served.add_staff(BILLING, None)
        served.clock = clock
        yield served


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(url: str, user: str = BILLING, password: str = PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    form = browser.get("/sign-in")
    answer = browser.post("/sign-in", data={"csrf": csrf_in(form.text), "user": user, "password": password})
    return browser, answer


def test_signing_in_sets_an_http_only_same_site_strict_cookie_not_secure_over_plain_http(console):
    browser, answer = signed_in(console.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ledger_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert browser.get("/").status_code == 200


def test_a_wrong_password_shows_the_form_again_with_one_line_and_the_user_typed(console):
    browser, answer = signed_in(console.url, password="not the password at all")
    assert answer.status_code == 401
    assert "wrong user or password" in answer.text
    assert f'value="{BILLING}"' in answer.text
    assert "ledger_console=" not in answer.headers.get("set-cookie", "")


def test_a_sign_in_without_the_forms_token_is_refused(console):
    anonymous = httpx.Client(base_url=console.url, timeout=30)
    answer = anonymous.post("/sign-in", data={"user": BILLING, "password": PASSWORD})
    assert answer.status_code == 403


def test_signing_out_revokes_the_session(console):
    browser, _ = signed_in(console.url)
    page = browser.get("/")
    cookie = browser.cookies["ledger_console"]
    assert browser.post("/sign-out", data={"csrf": csrf_in(page.text)}).status_code == 303
    stale = httpx.get(console.url + "/", cookies={"ledger_console": cookie}, follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"].startswith("/sign-in")
    token_events = [type(e).__name__ for e in console.events(console.ctx.access)]
    assert token_events.count("Revoked") == 1, token_events


def test_a_session_unused_for_half_an_hour_ends(console):
    browser, _ = signed_in(console.url)
    console.clock.now = NOW + timedelta(minutes=29)
    assert browser.get("/").status_code == 200, "used within the half hour: still signed in"
    console.clock.now += timedelta(minutes=31)
    answer = browser.get("/")
    assert answer.status_code == 303
    assert "without%20use" in answer.headers["location"] or "without+use" in answer.headers["location"]
    assert browser.get("/").status_code == 303, "and it stays ended"


def test_an_api_token_in_the_cookie_is_not_a_console_session(console):
    with console.sign_in(BILLING) as api:
        token = api.headers["authorization"].split(" ", 1)[1]
    answer = httpx.get(console.url + "/", cookies={"ledger_console": token}, follow_redirects=False)
    assert answer.status_code == 303


def test_after_a_one_time_password_the_console_asks_for_ones_own_before_anything_else(console):
    from domain.roles import Role
    from service.access import set_password
    from tests.factories import ADMIN

    console.ctx.ledger.grant_role("new@reseller.example", Role.HELPDESK_AGENT, at=NOW, actor=ADMIN)
    set_password(console.ctx.credentials, console.ctx.access, "new@reseller.example", "one-time-3q0Vx9", one_time=True,
                 at=NOW, actor=BILLING)
    browser, answer = signed_in(console.url, "new@reseller.example", "one-time-3q0Vx9")
    assert answer.status_code == 303
    assert browser.get("/").headers["location"] == "/password", "nothing else before choosing a password"
    form = browser.get("/password")
    refused = browser.post("/password", data={"csrf": csrf_in(form.text), "current_password": "one-time-3q0Vx9",
                                              "password": "short"})
    assert refused.status_code == 422 and "a password has 12 to 256 characters" in refused.text
    chosen = browser.post("/password", data={"csrf": csrf_in(form.text), "current_password": "one-time-3q0Vx9",
                                             "password": "a long passphrase of mine"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/"
    assert browser.get("/").status_code == 200, "the same session goes on, with the user's own password"


def test_each_staff_member_chooses_the_time_zone_of_their_pages(console):
    browser, _ = signed_in(console.url)
    page = browser.get("/")
    refused = browser.post("/preferences/time-zone", data={"csrf": csrf_in(page.text), "time_zone": "Mars/Olympus"})
    assert refused.status_code == 303
    assert "is not a time zone" in browser.get("/").text
    browser.post("/preferences/time-zone", data={"csrf": csrf_in(page.text), "time_zone": "Europe/Berlin"})
    assert 'name="time_zone" value="Europe/Berlin"' in browser.get("/").text
    other, _ = signed_in(console.url, BILLING)
    assert 'name="time_zone" value="Europe/Berlin"' in other.get("/").text, "the setting is the user's, not the browser's"

"""The steps every browser test of the console takes, and the day its server lives on."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.api_helpers import PASSWORD
from tests.billing_life import CUSTOMER

TODAY = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)  # six days after the suspension of 14 November


def sign_in(page, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(url + "/")
    assert page.url.endswith("/sign-in"), "a page of the console asks to sign in first"
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Customer").wait_for()


def open_customer(page, name_part: str) -> None:
    page.get_by_label("Customer").fill(name_part)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=CUSTOMER, exact=True).click()
    page.locator("#status").wait_for()

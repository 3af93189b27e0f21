"""Staff and roles in the console: a global admin grants a role, creates a service token
(shown once) and revokes it, and reads the latest sign-ins; a helpdesk agent sees no link
to the page and is refused it."""

from __future__ import annotations

import re

from tests.api_helpers import PASSWORD
from tests.billing_life import HELPDESK
from tests.e2e.console_helpers import sign_in
from tests.factories import ADMIN


def test_a_global_admin_grants_a_role_and_creates_then_revokes_a_service_token(console, pages):
    admin = pages()
    sign_in(admin, console.url, ADMIN)
    admin.get_by_role("link", name="Staff and roles").click()
    assert "helpdesk-agent" in admin.locator(f'tr[data-user="{HELPDESK}"]').inner_text()

    admin.get_by_label("Staff user").fill("new@reseller.example")
    admin.get_by_label("Role", exact=True).select_option("sales-agent")
    admin.get_by_role("button", name="Change role").click()
    assert admin.locator(".flash").inner_text() == "sales-agent granted to new@reseller.example."
    assert admin.locator('tr[data-user="new@reseller.example"]').inner_text().endswith("sales-agent")

    admin.get_by_label("Service").fill("metering")
    admin.get_by_label("Token name").fill("usage from the meter")
    admin.get_by_role("button", name="Create service token").click()
    secret = admin.locator("code.secret").inner_text()
    assert re.fullmatch(r"tok_[0-9a-f]{16}\.\S+", secret)
    token_id = secret.split(".", 1)[0]

    admin.goto(f"{console.url}/staff")
    assert secret not in admin.content(), "a secret is shown once"
    admin.locator("tr", has_text=token_id).get_by_role("button", name="Revoke").click()
    assert admin.locator(".flash").inner_text() == f"Token {token_id} revoked."
    assert "revoked" in admin.locator("tr", has_text=token_id).inner_text()
    assert f"{ADMIN} (console sign-in" in admin.locator("ol.timeline").inner_text()


def test_a_helpdesk_agent_sees_no_staff_page_and_is_refused_it(console, pages):
    agent = pages()
    sign_in(agent, console.url, HELPDESK)
    assert agent.get_by_role("link", name="Staff and roles").count() == 0
    answer = agent.goto(f"{console.url}/staff")
    assert answer.status == 403
    assert "may not grant and revoke roles" in agent.content()


def test_a_user_management_admin_lands_on_staff_and_roles_and_sees_no_customers(console, pages):
    from domain.roles import Role
    from tests.e2e.console_helpers import TODAY

    console.ctx.ledger.grant_role("uma@reseller.example", Role.USER_MANAGEMENT_ADMIN, at=TODAY, actor=ADMIN)
    console.add_staff("uma@reseller.example", None)
    uma = pages()
    uma.goto(console.url + "/")
    uma.get_by_label("User").fill("uma@reseller.example")
    uma.get_by_label("Password").fill(PASSWORD)
    uma.get_by_role("button", name="Sign in").click()
    uma.get_by_role("heading", name="Staff and roles").wait_for()
    assert uma.get_by_role("link", name="Customers").count() == 0
    assert uma.goto(f"{console.url}/customers/ACME").status == 403

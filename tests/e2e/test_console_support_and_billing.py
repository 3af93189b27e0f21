"""The staff console in a real browser: a helpdesk agent answers "why was I suspended?" and
hands the case to the vendor, a billing admin records the payment that reinstates, a sales
agent can neither see nor post a payment, a form without its CSRF token is refused, and the
ageing chart shows the view's numbers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from tests.billing_life import BILLING, CUSTOMER, HELPDESK, SALES
from tests.conftest import wait_for
from tests.e2e.console_helpers import TODAY, open_customer, sign_in
from tests.factories import ADMIN
from tests.read_side_helpers import relay_and_project

DOCS_IMAGE = Path(__file__).parents[2] / "docs" / "images" / "console-support-view.png"

def test_a_helpdesk_agent_explains_a_suspension_and_escalates_then_a_payment_reinstates(console, settings, app, pages):
    agent = pages()
    sign_in(agent, console.url, HELPDESK)
    open_customer(agent, "acme")

    why = agent.locator("#status .why").first.inner_text()
    assert re.search(r"ACME-365 and ACME-vm suspended since 14 November because INV-000001 \(74\.80 EUR\) is 36 days "
                     r"past due; reinstated as soon as INV-000001 and INV-000002 \(194\.80 EUR\) are paid; the vendor "
                     r"de-provisions on 13 January 2027", why), why
    assert "suspended" == agent.locator(".collection-status").inner_text()
    assert agent.get_by_role("button", name="Record payment").count() == 0, "a helpdesk agent records no payment"

    agent.get_by_text("Open a case").click()
    agent.get_by_label("Subject").fill("Why are we suspended?")
    agent.get_by_label("INV-000001").check()
    agent.get_by_role("button", name="Open the case").click()
    assert agent.locator(".flash").inner_text() == "Case opened."
    relay_and_project(settings, app)
    agent.reload()
    case = agent.locator("article.case").first
    assert "about INV-000001" in case.inner_text()
    case.get_by_role("button", name="Escalate to the vendor").click()
    relay_and_project(settings, app)
    agent.reload()
    escalation = agent.locator("article.case .escalation").first.inner_text()
    assert escalation.startswith("Escalated to vendor-commercial-support ("), escalation
    if os.environ.get("LEDGER_DOCS_SCREENSHOT"):
        agent.screenshot(path=str(DOCS_IMAGE), full_page=True)

    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    open_customer(clerk, CUSTOMER)
    clerk.get_by_label("Amount (EUR)").fill("194.80")
    clerk.get_by_role("button", name="Record payment").click()
    assert clerk.locator(".flash").inner_text() == "Payment of 194.80 recorded."

    def reinstated() -> bool:
        relay_and_project(settings, app)
        clerk.reload()
        return clerk.locator(".collection-status").inner_text() == "current"

    wait_for(reinstated, what="the support view to show ACME reinstated")
    assert clerk.locator("#suspended").inner_text().endswith("None.")
    timeline = clerk.locator("#timeline li").first.inner_text()
    assert "Reinstated: ACME-365, ACME-vm: nothing overdue any more" in timeline
    assert f"by the collections policy (after a change recorded by {BILLING})" in timeline


def test_a_sales_agent_sees_no_payment_form_and_is_refused_a_posted_one(console, pages):
    sales = pages()
    sign_in(sales, console.url, SALES)
    sales.goto(f"{console.url}/customers/{CUSTOMER}")
    assert sales.get_by_role("button", name="Record payment").count() == 0
    assert sales.locator("#status").count() == 0, "the support view is not a sales agent's"
    before = console.notifications()
    csrf = sales.locator("input[name=csrf]").first.get_attribute("value")
    answer = sales.request.post(f"{console.url}/customers/{CUSTOMER}/payments",
                                form={"csrf": csrf, "amount": "194.80", "method": "transfer"})
    assert answer.status == 403
    assert "may not record, reverse and refund payments" in answer.text()
    assert console.notifications() == before, "nothing recorded on a refusal"


def test_a_form_posted_without_its_csrf_token_is_refused(console, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    before = console.notifications()
    answer = clerk.request.post(f"{console.url}/customers/{CUSTOMER}/payments", form={"amount": "194.80"})
    assert answer.status == 403
    assert "CSRF" in answer.text()
    assert console.notifications() == before
    cookie = {c["name"]: c["value"] for c in clerk.context.cookies()}["ledger_console"]
    forged = httpx.post(f"{console.url}/customers/{CUSTOMER}/payments", data={"amount": "1", "csrf": "guessed"},
                        cookies={"ledger_console": cookie})
    assert forged.status_code == 403


def test_the_ageing_chart_shows_the_invoices_views_numbers(console, pages):
    admin = pages()
    sign_in(admin, console.url, ADMIN)
    admin.goto(f"{console.url}/ageing")
    shown = {bar.get_attribute("data-bucket"): int(bar.get_attribute("data-amount"))
             for bar in admin.locator("svg.chart a").all()}
    with console.sign_in(ADMIN) as api:
        rows = api.get("/v1/views/invoices", params={"status": "open", "as_of": TODAY.date().isoformat()}).json()["data"]
    expected = {bucket: 0 for bucket in shown}
    for row in rows:
        expected[row["ageing_bucket"]] += row["amount_open"]["amount"]
    assert shown == expected
    assert sum(shown.values()) > 0
    admin.locator('svg.chart a[data-bucket="31-60"]').click()
    assert admin.locator("#customers").get_by_role("link", name=CUSTOMER).count() == 1


def test_a_customers_balance_over_time_ends_at_the_support_views_balance(console, pages):
    agent = pages()
    sign_in(agent, console.url, HELPDESK)
    agent.goto(f"{console.url}/customers/{CUSTOMER}")
    balances = [int(dot.get_attribute("data-balance")) for dot in agent.locator("svg.balance circle").all()]
    with console.sign_in(ADMIN) as api:
        support = api.get(f"/v1/views/support/{CUSTOMER}", params={"as_of": TODAY.date().isoformat()}).json()
    assert balances[0] == 12480, "INV-000001 issued: 124.80 EUR"
    assert balances[-1] == support["balance"]["amount"] == 19480


def test_a_case_gets_notes_is_resolved_and_reopened(console, settings, app, pages):
    agent = pages()
    sign_in(agent, console.url, HELPDESK)
    agent.goto(f"{console.url}/customers/{CUSTOMER}")
    agent.get_by_text("Open a case").click()
    agent.get_by_label("Category").select_option("technical")
    agent.get_by_label("Subject").fill("VMs do not start")
    agent.get_by_role("button", name="Open the case").click()
    relay_and_project(settings, app)
    agent.reload()
    case = agent.locator("article.case").first
    case_id = case.get_attribute("data-case")
    case.get_by_label("Note").fill("customer sent the error message")
    case.get_by_role("button", name="Add note").click()
    assert agent.locator(".flash").inner_text() == f"{case_id}: Note added."
    relay_and_project(settings, app)
    agent.reload()
    assert "1 note, last: “customer sent the error message”" in agent.locator("article.case").first.inner_text()
    agent.locator("article.case").first.get_by_label("Resolution").fill("suspension explained")
    agent.locator("article.case").first.get_by_role("button", name="Resolve").click()
    relay_and_project(settings, app)
    agent.reload()
    assert agent.locator("article.case").count() == 0
    agent.get_by_label("Resolved case").fill(case_id)
    agent.locator("#reopen").get_by_label("Reason").fill("still failing")
    agent.get_by_role("button", name="Reopen").click()
    assert agent.locator(".flash").inner_text() == f"{case_id}: Case reopened."

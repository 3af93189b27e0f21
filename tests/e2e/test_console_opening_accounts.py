"""A billing admin opens an account and adds its subscriptions (seats and metered) from the
console; what cannot be a command is refused in one line naming the field, the ledger's own
refusals in its line, and the form keeps what was typed. A helpdesk agent can do neither."""

from __future__ import annotations

from tests.billing_life import BILLING, HELPDESK
from tests.e2e.console_helpers import sign_in

# The ledger's own refusals, shown as it words them.
LEDGER_ON_EURO = "'EURO' is not an ISO 4217 currency the ledger knows"
LEDGER_ON_A_TAKEN_ID = "customer 'NORTHWIND' already has subscription 'NORTHWIND-365'"


def test_a_billing_admin_opens_an_account_and_adds_seat_and_metered_subscriptions(new_console, pages):
    clerk = pages()
    sign_in(clerk, new_console.url, BILLING)
    clerk.get_by_role("link", name="Open an account").click()
    clerk.get_by_label("Customer id").fill("NORTHWIND")
    clerk.get_by_label("Name").fill("Northwind Traders")
    clerk.get_by_label("Currency").fill("EUR")
    clerk.get_by_label("Tax rate (%)").fill("twenty")
    before = new_console.notifications()
    clerk.get_by_role("button", name="Open the account").click()
    assert clerk.locator("p.error").inner_text() == "tax rate: 'twenty' is not a number (write it as 20 or 7.7)"
    assert clerk.get_by_label("Name").input_value() == "Northwind Traders", "what was typed is kept"
    assert clerk.get_by_label("Tax rate (%)").input_value() == "twenty"
    clerk.get_by_label("Tax rate (%)").fill("20")
    clerk.get_by_label("Currency").fill("EURO")
    clerk.get_by_role("button", name="Open the account").click()
    assert clerk.locator("p.error").inner_text() == LEDGER_ON_EURO
    assert new_console.notifications() == before, "a refused form records nothing"

    clerk.get_by_label("Currency").fill("EUR")
    clerk.get_by_role("button", name="Open the account").click()
    assert clerk.locator(".flash").inner_text() == "Account NORTHWIND opened."
    assert clerk.locator("h1").inner_text().startswith("Northwind Traders")

    clerk.get_by_text("Add a seat subscription").click()
    seats = clerk.locator("#seat-form")
    seats.get_by_label("Subscription id").fill("NORTHWIND-365")
    seats.get_by_label("Product").fill("Microsoft 365 E3")
    seats.get_by_label("Seats").fill("20")
    seats.get_by_label("Monthly price per seat").fill("33.00")
    seats.get_by_label("Starts on").fill("2026-11-01")
    seats.get_by_role("button", name="Add seat subscription").click()
    assert clerk.locator(".flash").inner_text() == "Subscription NORTHWIND-365 added."

    clerk.get_by_text("Add a metered subscription").click()
    metered = clerk.locator("#metered-form")
    for label, value in [("Subscription id", "NORTHWIND-vm"), ("Product", "Azure Virtual Machines"),
                         ("Meter", "vcpu-hours"), ("Unit", "h"), ("Unit price", "0,0416")]:
        metered.get_by_label(label, exact=True).fill(value)
    metered.get_by_role("button", name="Add metered subscription").click()
    assert clerk.locator("p.error").inner_text() == "unit price: '0,0416' is not a number (write it as 0.0416)"
    metered = clerk.locator("#metered-form")
    assert metered.get_by_label("Meter").input_value() == "vcpu-hours", "what was typed is kept"
    assert clerk.locator("#seat-form").get_by_label("Subscription id").input_value() == "", "not into the other form"
    metered.get_by_label("Unit price").fill("0.0416")
    metered.get_by_label("Subscription id").fill("NORTHWIND-365")
    metered.get_by_role("button", name="Add metered subscription").click()
    assert clerk.locator("p.error").inner_text() == LEDGER_ON_A_TAKEN_ID
    clerk.locator("#metered-form").get_by_label("Subscription id").fill("NORTHWIND-vm")
    clerk.locator("#metered-form").get_by_role("button", name="Add metered subscription").click()
    assert clerk.locator(".flash").inner_text() == "Subscription NORTHWIND-vm added."

    rows = clerk.locator("#subscriptions tbody tr").all_inner_texts()
    assert [row.split("\t")[:4] for row in rows] == [
        ["NORTHWIND-365", "Microsoft 365 E3", "seats", "20"],
        ["NORTHWIND-vm", "Azure Virtual Machines", "metered: vcpu-hours", ""],
    ]
    account = new_console.ctx.ledger.get_account("NORTHWIND")
    assert str(account.subscriptions["NORTHWIND-vm"].unit_price) == "0.0416"


def test_a_helpdesk_agent_neither_sees_nor_may_open_an_account(new_console, pages):
    agent = pages()
    sign_in(agent, new_console.url, HELPDESK)
    assert agent.get_by_role("link", name="Open an account").count() == 0
    csrf = agent.locator("form[action='/preferences/time-zone'] input[name=csrf]").get_attribute("value")
    before = new_console.notifications()
    answer = agent.request.post(f"{new_console.url}/accounts", max_redirects=0, form={
        "csrf": csrf, "customer_id": "X-1", "name": "X", "currency": "EUR", "payment_terms_days": "30", "tax_rate": "0"})
    assert answer.status == 403
    assert agent.request.get(f"{new_console.url}/accounts/new").status == 403
    assert new_console.notifications() == before


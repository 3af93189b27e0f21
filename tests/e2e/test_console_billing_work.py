"""A billing admin's day in the console: a hold that warns what follows it, a credit note
refused in money with what was typed kept, the collections run previewed then run, and an
invoice printed."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from tests.billing_life import BILLING
from tests.e2e.console_helpers import sign_in
from tests.factories import open_customer as open_account
from tests.read_side_helpers import record_usage, relay_and_project

LATE = "CUST-H"  # invoiced on 1 October, due 31 October: 20 days past due on the console's day


@pytest.fixture
def late_customer(console, settings, app):
    open_account(app, LATE)
    record_usage(app, LATE, 2)  # 2 x 2 h at 0.50, plus 20% tax: 2.40 EUR
    app.issue_invoice(LATE, date(2026, 9, 1), date(2026, 10, 1), at=datetime(2026, 10, 1, 9, tzinfo=timezone.utc),
                      actor=BILLING)
    relay_and_project(settings, app)
    return app.get_account(LATE).invoices.popitem()[0]


def test_a_hold_says_what_follows_it_and_a_credit_note_is_refused_in_money(console, late_customer, settings, app, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/{LATE}")

    clerk.get_by_label("Until").fill("2026-12-05")
    clerk.get_by_label("Hold reason").fill("pays on 5 December")
    clerk.get_by_role("button", name="Place hold").click()
    assert clerk.locator(".flash").inner_text() == "Collections on hold until 2026-12-05."
    relay_and_project(settings, app)
    clerk.reload()
    assert clerk.locator("#status .hold").inner_text() == (
        "Collections on hold (promise-to-pay) until 5 December: pays on 5 December; the hold ends on 5 December; "
        f"the account is suspended on 6 December unless {late_customer} is paid."
    )

    clerk.get_by_label("Credit amount").fill("600.00")
    clerk.get_by_label("Credit note reason").fill("goodwill")
    clerk.get_by_role("button", name="Issue credit note").click()
    error = clerk.locator("p.error").inner_text()
    assert re.fullmatch(rf"credit note CN-\w+: 600\.00 EUR is more than invoice {late_customer} still has open "
                        r"\(2\.40 EUR\)", error), error
    assert clerk.get_by_label("Credit amount").input_value() == "600.00", "what was typed is kept"
    assert clerk.get_by_label("Credit note reason").input_value() == "goodwill"


def test_the_collections_run_is_previewed_per_account_then_run(console, late_customer, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    before = console.notifications()
    clerk.goto(f"{console.url}/collections")
    plan = clerk.locator("table.plan tbody tr").all_inner_texts()
    assert any(row.split("\t")[:3] == ["ACME", "reminder", "INV-000002"] for row in plan), plan
    assert any(row.split("\t")[:3] == [LATE, "reminder", late_customer] for row in plan), plan
    assert console.notifications() == before, "a preview records nothing"

    clerk.get_by_role("button", name="Run today's collections").click()
    assert re.search(r"/collections/runs/run_\w+$", clerk.url), "the run is a job of the server, with its own page"
    summary = clerk.locator("#run[data-state=done] .summary")
    summary.wait_for(timeout=60_000)  # the page follows the run (it polls the server) until it is done
    assert re.fullmatch(r"Collections run for 2026-11-20 done: \d+ accounts, 2 had something due \(2 reminders\)\.",
                        summary.inner_text()), summary.inner_text()
    assert console.notifications() > before
    clerk.get_by_role("link", name="Back to the preview").click()
    assert clerk.get_by_text("Nothing is due on that day.").is_visible(), "the same run again would do nothing"


def test_an_invoice_prints_as_a_document_without_the_consoles_controls(console, late_customer, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/{LATE}/invoices/{late_customer}")
    clerk.emulate_media(media="print")
    assert not clerk.locator("header.bar").is_visible()
    assert not clerk.get_by_role("button", name="Print").is_visible()
    document = clerk.locator("article.invoice").inner_text()
    assert f"Invoice {late_customer}" in document and "Customer CUST-H (CUST-H)" in document
    assert re.search(r"Total\s+2\.40 EUR", document), document
    assert "due 31 October" in document


def test_a_reversed_payment_is_told_as_the_reason_of_the_suspension(console, settings, app, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/ACME")
    clerk.locator("#payments tr", has_text="PAY-1").get_by_label("Reason").fill("charged back by the bank")
    clerk.get_by_role("button", name="Reverse").click()
    assert clerk.locator(".flash").inner_text() == "Payment PAY-1 reversed."
    relay_and_project(settings, app)
    clerk.reload()
    assert "reversed on 20 November: charged back by the bank" in clerk.locator("#payments").inner_text()
    why = clerk.locator("#status .why").first.inner_text()
    assert "because INV-000001 (124.80 EUR) is 36 days past due; payment PAY-1 had paid it, but was reversed on " \
           "20 November (charged back by the bank); reinstated as soon as" in why, why


def test_suspending_and_reinstating_by_hand_are_the_clerks_acts(console, settings, app, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/ACME")
    clerk.get_by_label("Reinstatement reason").fill("paid by phone, clears tomorrow")
    clerk.get_by_role("button", name="Reinstate all").click()
    assert clerk.locator(".flash").inner_text() == "Reinstated."
    relay_and_project(settings, app)
    clerk.reload()
    newest = clerk.locator("#timeline li").first.inner_text()
    assert "Reinstated: ACME-365, ACME-vm: paid by phone, clears tomorrow" in newest
    assert newest.endswith(f"by {BILLING}")

    clerk.get_by_label("Suspension reason").fill("")
    clerk.get_by_label("Suspension reason").fill("   ")
    clerk.get_by_role("button", name="Suspend all").click()
    assert clerk.locator("p.error").inner_text() == "a suspension by hand needs a reason"


def test_a_refund_of_more_than_the_credit_balance_is_refused_in_one_line_keeping_what_was_typed(console, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/ACME")
    before = console.notifications()
    clerk.get_by_label("Refund amount").fill("12.5x")
    clerk.get_by_role("button", name="Refund").click()
    assert clerk.locator("p.error").inner_text() == "'12.5x' is not an amount (write it as 74.80)"
    assert clerk.get_by_label("Refund amount").input_value() == "12.5x"
    assert clerk.get_by_label("Amount (EUR)").input_value() == "", "another form's field stays as it was"
    clerk.get_by_label("Refund amount").fill("10.00")
    clerk.get_by_role("button", name="Refund").click()
    refusal = clerk.locator("p.error").inner_text()
    assert re.fullmatch(r"refund REF-\w+: 10\.00 EUR is more than the credit balance \(0\.00 EUR\)", refusal), refusal
    assert console.notifications() == before


def test_a_payment_form_posted_twice_records_one_payment(console, app, pages):
    clerk = pages()
    sign_in(clerk, console.url, BILLING)
    clerk.goto(f"{console.url}/customers/ACME")
    form = clerk.locator("#payment-form")
    fields = {name: form.locator(f"input[name={name}]").get_attribute("value") for name in ("csrf", "payment_id")}
    for _ in range(2):  # a double click, or a retry after a timeout
        answer = clerk.request.post(f"{console.url}/customers/ACME/payments", form={**fields, "amount": "10.00"},
                                    max_redirects=0)
        assert answer.status == 303
    payments = app.get_account("ACME").payments
    assert fields["payment_id"] in payments and len(payments) == 2, "PAY-1 and this one, once"

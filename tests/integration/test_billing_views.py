"""The billing read models read through their views: balances, invoices, collection status and
the support view, projected from the event store, read as of a chosen day, and by whom."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import psycopg

from domain.policy import CollectionsPolicy
from projections import support
from projections.balances import BALANCES_VIEW
from projections.collections import COLLECTIONS_VIEW
from projections.invoices import INVOICES_VIEW
from projections.registry import names
from projections.support import SUPPORT_VIEW
from readside.queries import ViewQuery, read_view
from readside.replay import replay
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.billing_life import (
    BILLING,
    CUSTOMER,
    HELPDESK,
    SALES,
    after_suspension,
    collect,
    invoice_september,
    on,
    open_acme,
    until_suspended,
    usage_reports,
    whole_life,
)


def project(settings) -> None:
    """Every projection rebuilt from the store: the projector's own functions and SQL, no broker."""
    for name in names():
        assert replay(settings, name, "store", workers=1).complete


def row(settings, view, as_of: date, key: str = CUSTOMER) -> dict:
    (found,) = read_view(settings, ViewQuery(view, key=key, as_of=as_of))
    return found


def invoices(settings, as_of: date) -> dict[str, dict]:
    return {r["invoice_number"]: r for r in read_view(settings, ViewQuery(INVOICES_VIEW, key=CUSTOMER, as_of=as_of))}


def test_the_balance_is_what_open_invoices_hold_less_credit_and_keeps_the_ledger_identity(settings, app):
    whole_life(app)
    app.receive_payment(CUSTOMER, "PAY-3", 15000, "EUR", "transfer", "", at=on(12, 5), actor=BILLING)  # 30.00 too much
    app.refund(CUSTOMER, "REF-1", 1000, "transfer", "", at=on(12, 6), actor=BILLING)
    app.reverse_payment(CUSTOMER, "PAY-3", "charged back", at=on(12, 7), actor=BILLING)  # credit goes negative
    project(settings)

    balance = row(settings, BALANCES_VIEW, date(2026, 12, 10))
    account = app.get_account(CUSTOMER)
    assert balance["balance"] == account.balance == 13000  # INV-000003 again, and the 10.00 refunded
    assert (balance["outstanding"], balance["credit_balance"]) == (12000, -1000)
    assert {name: balance[name] for name in account.totals} == account.totals
    assert balance["balance"] == (balance["invoiced"] - balance["credited"] - balance["written_off"]
                                  - balance["paid"] + balance["reversed"] + balance["refunded"])
    assert (balance["unbilled_usage"], balance["usage_lines"], balance["currency"]) == (Decimal(0), 2, "EUR")
    payments = {r["payment_id"]: r for r in row(settings, SUPPORT_VIEW, date(2026, 12, 10))["last_payments"]}
    assert payments["PAY-3"]["reversed"] and payments["PAY-3"]["reversal_reason"] == "charged back"


def test_overdue_days_past_due_and_ageing_are_those_of_the_day_the_view_is_read_as_of(settings, app):
    whole_life(app)  # INV-000003, 120.00, due 15 December, open
    project(settings)

    expected = {  # as of: (days past due, ageing bucket, overdue)
        date(2026, 12, 15): (0, "not_due", 0),
        date(2026, 12, 16): (1, "0-30", 12000),
        date(2027, 1, 20): (36, "31-60", 12000),
        date(2027, 4, 1): (107, ">90", 12000),
    }
    for as_of, (days, bucket, overdue) in expected.items():
        invoice = invoices(settings, as_of)["INV-000003"]
        assert (invoice["days_past_due"], invoice["ageing_bucket"], invoice["status"]) == (days, bucket, "open")
        assert (row(settings, BALANCES_VIEW, as_of)["overdue"], row(settings, BALANCES_VIEW, as_of)["days_past_due"]) == (
            overdue, days)
    settled = invoices(settings, date(2027, 4, 1))
    assert {n: (r["status"], r["days_past_due"]) for n, r in settled.items() if n != "INV-000003"} == {
        "INV-000001": ("paid", None), "INV-000002": ("paid", None)}
    assert (settled["INV-000002"]["credited"], settled["INV-000002"]["amount_open"]) == (2000, 0)
    (usage_line,) = [line for line in settled["INV-000001"]["lines"] if line["kind"] == "usage"]
    assert (usage_line["usage_ids"], usage_line["quantity"], usage_line["amount"]) == (["u-1", "u-2"], "8", 400)


def test_the_collection_status_follows_the_customer_from_current_to_suspended_and_back(settings, app):
    open_acme(app)
    app.record_usage(usage_reports(), actor="system:ingest")
    invoice_september(app)
    project(settings)
    due_day = row(settings, COLLECTIONS_VIEW, date(2026, 10, 15))
    assert (due_day["collection_status"], due_day["reason"]) == (
        "current", "Nothing is overdue; the oldest open invoice, INV-000001, has due date 2026-10-15")
    late = row(settings, COLLECTIONS_VIEW, date(2026, 10, 16))  # nobody ran collections yet
    assert (late["collection_status"], late["days_past_due"], late["overdue_amount"]) == ("overdue", 1, 12480)
    assert late["reason"] == "Invoice INV-000001 is 1 day past due; no reminder sent yet"
    assert (late["next_action"], late["next_action_on"]) == ("reminder 1 for invoice INV-000001", date(2026, 10, 16))

    collect(app, 10, 16)
    project(settings)
    reminded = row(settings, COLLECTIONS_VIEW, date(2026, 10, 17))
    assert (reminded["collection_status"], reminded["last_reminder_step"]) == ("in-dunning", 1)
    assert (reminded["next_action"], reminded["next_action_on"]) == ("reminder 2 for invoice INV-000001", date(2026, 10, 22))

    until_suspended(app)  # the rest of the way to the suspension on 14 November (what was done is a retry)
    project(settings)
    suspended = row(settings, COLLECTIONS_VIEW, date(2026, 11, 30))
    assert suspended["collection_status"] == "suspended"
    assert suspended["reason"] == ("Suspended since 2026-11-14: invoice INV-000001 is 46 days past due; "
                                   "the vendor de-provisions on 2027-01-13")
    assert (suspended["suspended_subscriptions"], suspended["suspension_invoices"]) == (
        ["ACME-365", "ACME-vm"], ["INV-000001"])
    assert (suspended["deprovision_deadline"], suspended["deprovision_warned"]) == (date(2027, 1, 13), False)
    # INV-000002 (due 15 November) is 15 days past due with no reminder sent: steps 1 to 3 are
    # all due, and the next run sends only the latest (the view named step 1 before issue 10)
    assert (suspended["next_action"], suspended["next_action_on"]) == ("reminder 3 for invoice INV-000002", date(2026, 11, 29))

    after_suspension(app)
    project(settings)
    back = row(settings, COLLECTIONS_VIEW, date(2026, 12, 10))
    assert (back["collection_status"], back["suspended_subscriptions"], back["oldest_unpaid_invoice"]) == (
        "current", None, "INV-000003")
    assert (back["next_action"], back["next_action_on"]) == ("reminder 1 for invoice INV-000003", date(2026, 12, 16))


def test_a_hold_is_the_status_to_its_last_day_and_its_end_is_the_next_action(settings, app):
    open_acme(app)
    invoice_september(app)
    app.place_hold(CUSTOMER, "promise-to-pay", date(2026, 11, 10), "pays after budget review",
                   at=on(10, 20), actor=BILLING)
    project(settings)

    held = row(settings, COLLECTIONS_VIEW, date(2026, 11, 10))
    assert (held["collection_status"], held["reason"]) == (
        "on-hold", "On hold (promise-to-pay) until 2026-11-10: pays after budget review")
    assert (held["next_action"], held["next_action_on"]) == (
        "end of the hold: reminders and suspension resume", date(2026, 11, 11))
    ended = row(settings, COLLECTIONS_VIEW, date(2026, 11, 11))  # no run released it yet: it ended all the same
    # 27 days past due, nothing sent: the next run sends the latest step due, reminder 3
    assert (ended["collection_status"], ended["next_action"], ended["next_action_on"]) == (
        "overdue", "reminder 3 for invoice INV-000001", date(2026, 10, 29))


def test_a_published_policy_decides_what_is_overdue_and_when_the_next_step_comes(settings, app):
    open_acme(app)
    app.publish_policy(CollectionsPolicy(name="lenient", grace_days=5, reminder_days=(3,), suspend_after_days=20),
                       at=on(9, 1), actor=BILLING)
    app.assign_policy(CUSTOMER, "lenient", at=on(9, 1), actor=BILLING)
    invoice_september(app)
    project(settings)

    within_grace = row(settings, COLLECTIONS_VIEW, date(2026, 10, 20))
    assert (within_grace["collection_status"], within_grace["policy"], within_grace["days_past_due"]) == (
        "current", "lenient", 5)
    assert row(settings, BALANCES_VIEW, date(2026, 10, 20))["overdue"] == 0
    past_grace = row(settings, COLLECTIONS_VIEW, date(2026, 10, 21))
    assert (past_grace["collection_status"], past_grace["next_action"], past_grace["next_action_on"]) == (
        "overdue", "reminder 1 for invoice INV-000001", date(2026, 10, 23))
    assert row(settings, BALANCES_VIEW, date(2026, 10, 21))["overdue"] == 12000
    with psycopg.connect(settings.database_url) as conn:
        standard = conn.execute(
            f"SELECT grace_days, reminder_days, suspend_after_days, write_off_after_days, published_at "
            f"FROM {settings.read_schema}.collections_policies WHERE name = 'standard'").fetchone()
    default = CollectionsPolicy()
    assert standard == (default.grace_days, list(default.reminder_days), default.suspend_after_days,
                        default.write_off_after_days, None)


def test_a_written_off_invoice_makes_the_customer_written_off(settings, app):
    open_acme(app)
    invoice_september(app)
    app.write_off(CUSTOMER, "INV-000001", "customer insolvent", at=on(12, 1), actor=BILLING)
    project(settings)

    status = row(settings, COLLECTIONS_VIEW, date(2026, 12, 2))
    assert (status["collection_status"], status["written_off_amount"], status["written_off_invoices"]) == (
        "written-off", 12000, ["INV-000001"])
    assert status["reason"] == "Written off on 2026-12-01: INV-000001 (customer insolvent)"
    assert invoices(settings, date(2026, 12, 2))["INV-000001"]["status"] == "written-off"
    assert row(settings, BALANCES_VIEW, date(2026, 12, 2))["balance"] == 0


def test_the_support_view_puts_a_customers_money_collections_cases_and_timeline_together(settings, app):
    whole_life(app)
    project(settings)

    view = row(settings, SUPPORT_VIEW, date(2026, 12, 10))
    assert (view["balance"], view["collection_status"], view["next_action_on"]) == (12000, "current", date(2026, 12, 16))
    assert [i["invoice_number"] for i in view["open_invoices"]] == ["INV-000003"]
    assert [p["payment_id"] for p in view["last_payments"]] == ["PAY-2", "PAY-1"]
    assert view["last_payments"][1]["settled"] == [{"invoice_number": "INV-000001", "amount": 5000}]
    (case,) = view["open_cases"]
    assert (case["case_id"], case["escalated_to"], case["vendor_ticket"], case["notes"]) == (
        "CASE-1", "vendor-commercial-support", "MS-4711", 1)
    sentences = [t["sentence"] for t in view["timeline"]]
    assert sentences[0] == "Invoice INV-000003 issued for 2026-11-01 to 2026-11-30: 120.00 EUR, due on 2026-12-15"
    assert "Reinstated: ACME-365, ACME-vm: nothing overdue any more" in sentences
    assert ("Payment PAY-1 of 50.00 EUR received by transfer (reference SEPA 7731); settled 50.00 EUR of INV-000001"
            in sentences)
    assert [t["actor"] for t in view["timeline"]][-1] == BILLING  # the opening, oldest, last
    assert view["timeline"][-1]["sentence"].startswith("Account opened for Acme Corp, billed in EUR")
    assert HELPDESK in {t["actor"] for t in view["timeline"]}


def test_the_timeline_keeps_each_customers_newest_events(settings, app, monkeypatch):
    monkeypatch.setattr(support, "TIMELINE_KEPT", 4)
    open_acme(app)
    app.open_case("CASE-9", CUSTOMER, "commercial", "Prices", [], at=on(10, 1), actor=HELPDESK)
    for n in range(6):
        app.add_case_note("CASE-9", f"note {n}", at=on(10, 2 + n), actor=HELPDESK)
    project(settings)

    timeline = row(settings, SUPPORT_VIEW, date(2026, 12, 10))["timeline"]
    assert [t["sentence"] for t in timeline] == [f"Note on support case CASE-9: note {n}" for n in (5, 4, 3, 2)]


def test_an_analyst_reads_every_billing_view_as_of_a_day_of_their_choosing(settings, app):
    from readside.analyst import connect_as, grant_analyst
    from tests.read_side_helpers import execute

    whole_life(app)
    project(settings)
    analyst = "analyst_" + settings.usage_topic.rsplit("t_", 1)[-1]
    grant_analyst(settings, analyst, "s3cret")  # the embedded server asks every login for its password
    try:
        with connect_as(settings, analyst, "s3cret") as conn:
            conn.execute("SET ledger.as_of = '2027-01-20'")  # allowed in a read-only session
            views = settings.views_schema
            assert conn.execute(f"SELECT overdue FROM {views}.customer_balances").fetchone() == (12000,)
            assert conn.execute(f"SELECT ageing_bucket FROM {views}.invoices WHERE status = 'open'").fetchone() == (
                "31-60",)
            assert conn.execute(f"SELECT collection_status FROM {views}.collection_status").fetchone() == ("overdue",)
            assert conn.execute(f"SELECT customer_id FROM {views}.support").fetchone() == (CUSTOMER,)
    finally:
        execute(settings, f'DROP OWNED BY "{analyst}"')
        execute(settings, f'DROP ROLE IF EXISTS "{analyst}"')


def test_the_support_view_is_read_only_by_staff_allowed_to(settings, app, staff):
    open_acme(app)
    project(settings)

    refused = ledger(staff.env(SALES), "query", "support", CUSTOMER)
    assert refused.returncode == 2
    assert f"error: '{SALES}' may not read the support view (holds sales-agent)" in refused.stderr
    anonymous = ledger(staff.base, "query", "support", CUSTOMER)
    assert anonymous.returncode == 2 and "not signed in: run `ledger login`" in anonymous.stderr
    stranger = ledger(staff.env("nobody@example.com"), "query", "balances", CUSTOMER)
    assert stranger.returncode == 2 and "may not read balances, invoices and collection status" in stranger.stderr
    allowed = ledger(staff.env(BILLING), "query", "support", CUSTOMER, "--format", "json")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)[0]["collection_status"] == "current"

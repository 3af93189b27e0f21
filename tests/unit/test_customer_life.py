"""A customer's life through the billing domain, on the real event store: subscribe, use,
get invoiced, pay in part, get reminded, suspended on the right day, pay, get reinstated."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import CurrencyMismatch, InvalidCommand, PermissionDenied
from domain.policy import CollectionsPolicy
from domain.roles import Role
from domain.usage import UsageReport
from tests.factories import ADMIN

BILLING = "bea@reseller.example"


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, tzinfo=timezone.utc)


def usage(usage_id: str, subscription: str = "ACME-vm", hours: str = "2", day: int = 10, month: int = 9) -> UsageReport:
    start = on(2026, month, day)
    return UsageReport(usage_id, "meter", "ACME", subscription, "Virtual Machines", "vcpu-hours", Decimal(hours),
                       "h", start, start, start)


@pytest.fixture
def acme(app):
    """ACME: EUR, 14 days to pay, 20% tax; 10 seats at 10.00 a month and metered VMs at 0.50 an hour."""
    app.grant_role(BILLING, Role.BILLING_ADMIN, at=on(2026, 9, 1), actor=ADMIN)
    app.open_account("ACME", "Acme Corp", "EUR", 14, Decimal("20"), at=on(2026, 9, 1), actor=BILLING)
    app.add_seat_subscription("ACME", "ACME-365", "Microsoft 365 E3", 10, Decimal("10.00"), date(2026, 9, 1),
                              at=on(2026, 9, 1), actor=BILLING)
    app.add_metered_subscription("ACME", "ACME-vm", "Virtual Machines", "vcpu-hours", "h", Decimal("0.50"),
                                 at=on(2026, 9, 1), actor=BILLING)
    return app


def september_invoice(app) -> str:
    """100.00 of seats + 4.00 of usage + 20% tax = 124.80, due 15 October."""
    app.record_usage([usage("u-1", hours="4"), usage("u-2", hours="4")], actor="system:ingest")
    return app.issue_invoice("ACME", date(2026, 9, 1), date(2026, 10, 1), at=on(2026, 10, 1), actor=BILLING)


def events_of(app, customer_id: str = "ACME") -> list[str]:
    account = app.get_account(customer_id)
    return [type(e).__name__ for e in app.events.get(account.id)]


def collect(app, year: int, month: int, day: int) -> list[str]:
    return app.collect(at=datetime(year, month, day, tzinfo=timezone.utc), actor=BILLING).get("ACME", [])


def test_a_customer_pays_late_is_reminded_suspended_on_the_right_day_and_reinstated_at_once(acme):
    number = september_invoice(acme)
    invoice = acme.get_account("ACME").invoices[number]
    assert (invoice.total, invoice.due_date) == (12480, date(2026, 10, 15))

    acme.receive_payment("ACME", "PAY-1", 5000, "EUR", "transfer", "part", at=on(2026, 10, 10), actor=BILLING)
    assert acme.get_account("ACME").balance == 7480

    assert collect(acme, 2026, 10, 15) == [], "not overdue on its due date"
    assert collect(acme, 2026, 10, 16) == ["ReminderSent"]
    assert collect(acme, 2026, 10, 16) == [], "a second run on the same day sends nothing more"
    assert collect(acme, 2026, 10, 22) == ["ReminderSent"]
    assert collect(acme, 2026, 11, 13) == ["ReminderSent"]  # day 29: the third reminder, no suspension yet
    assert collect(acme, 2026, 11, 14) == ["SubscriptionsSuspended"]
    account = acme.get_account("ACME")
    assert sorted(account.suspensions) == ["ACME-365", "ACME-vm"]
    assert account.suspensions["ACME-365"].deprovision_deadline == date(2027, 1, 13)

    acme.receive_payment("ACME", "PAY-2", 7480, "EUR", "card", "rest", at=on(2026, 11, 20), actor=BILLING)
    account = acme.get_account("ACME")
    assert account.suspensions == {} and account.balance == 0
    assert events_of(acme)[-2:] == ["PaymentReceived", "SubscriptionsReinstated"]


def test_only_the_subscription_an_overdue_invoice_bills_is_suspended(acme):
    acme.add_seat_subscription("ACME", "ACME-prepaid", "Dynamics 365", 1, Decimal("0"), date(2026, 9, 1),
                               at=on(2026, 9, 1), actor=BILLING)
    september_invoice(acme)  # bills ACME-365 and ACME-vm; the free seat bills nothing
    collect(acme, 2026, 11, 14)
    assert sorted(acme.get_account("ACME").suspensions) == ["ACME-365", "ACME-vm"]


def test_an_account_wide_policy_suspends_every_subscription(acme):
    acme.publish_policy(CollectionsPolicy(name="strict", scope="account", suspend_after_days=10),
                        at=on(2026, 9, 1), actor=BILLING)
    acme.assign_policy("ACME", "strict", at=on(2026, 9, 1), actor=BILLING)
    acme.add_seat_subscription("ACME", "ACME-prepaid", "Dynamics 365", 1, Decimal("0"), date(2026, 9, 1),
                               at=on(2026, 9, 1), actor=BILLING)
    september_invoice(acme)
    assert collect(acme, 2026, 10, 24) == ["ReminderSent"]
    assert collect(acme, 2026, 10, 25) == ["SubscriptionsSuspended"]
    assert sorted(acme.get_account("ACME").suspensions) == ["ACME-365", "ACME-prepaid", "ACME-vm"]


def test_no_suspension_below_the_policys_minimum_overdue_amount(acme):
    acme.publish_policy(CollectionsPolicy(suspend_min_overdue=Decimal("200")), at=on(2026, 9, 1), actor=BILLING)
    september_invoice(acme)  # 124.80 overdue, under 200
    collect(acme, 2026, 11, 20)
    assert acme.get_account("ACME").suspensions == {}


def test_an_overpayment_becomes_credit_balance_that_settles_the_next_invoice(acme):
    september_invoice(acme)
    acme.receive_payment("ACME", "PAY-1", 20000, "EUR", "transfer", "", at=on(2026, 10, 5), actor=BILLING)
    assert acme.get_account("ACME").credit_balance == 7520

    october = acme.issue_invoice("ACME", date(2026, 10, 1), date(2026, 11, 1), at=on(2026, 11, 1), actor=BILLING)
    account = acme.get_account("ACME")
    assert account.invoices[october].total == 12000
    assert (account.invoices[october].open_amount, account.credit_balance) == (4480, 0)
    assert events_of(acme)[-2:] == ["InvoiceIssued", "CreditBalanceApplied"]


def test_a_bounced_payment_reopens_what_it_settled_and_suspends_again(acme):
    number = september_invoice(acme)
    collect(acme, 2026, 11, 14)
    acme.receive_payment("ACME", "PAY-1", 12480, "EUR", "card", "", at=on(2026, 11, 15), actor=BILLING)
    assert acme.get_account("ACME").suspensions == {}

    acme.reverse_payment("ACME", "PAY-1", "card charged back", at=on(2026, 11, 18), actor=BILLING)
    account = acme.get_account("ACME")
    assert account.invoices[number].open_amount == 12480
    assert sorted(account.suspensions) == ["ACME-365", "ACME-vm"]
    assert events_of(acme)[-2:] == ["PaymentReversed", "SubscriptionsSuspended"]


def test_reversing_a_payment_whose_credit_settled_a_later_invoice_reopens_that_invoice(acme):
    september_invoice(acme)
    acme.receive_payment("ACME", "PAY-1", 20000, "EUR", "transfer", "", at=on(2026, 10, 5), actor=BILLING)
    october = acme.issue_invoice("ACME", date(2026, 10, 1), date(2026, 11, 1), at=on(2026, 11, 1), actor=BILLING)
    acme.reverse_payment("ACME", "PAY-1", "bounced", at=on(2026, 11, 2), actor=BILLING)
    account = acme.get_account("ACME")
    assert account.invoices[october].open_amount == 12000
    assert account.balance == 12480 + 12000 and account.credit_balance == 0


def test_a_credit_note_reduces_an_invoice_but_never_below_zero(acme):
    number = september_invoice(acme)
    acme.issue_credit_note("ACME", "CN-1", number, 2480, "goodwill", at=on(2026, 10, 2), actor=BILLING)
    assert acme.get_account("ACME").invoices[number].open_amount == 10000
    with pytest.raises(InvalidCommand, match="more than invoice INV-000001 still has open"):
        acme.issue_credit_note("ACME", "CN-2", number, 10001, "too much", at=on(2026, 10, 2), actor=BILLING)
    acme.issue_credit_note("ACME", "CN-2", number, 10000, "cancelled", at=on(2026, 10, 3), actor=BILLING)
    assert acme.get_account("ACME").invoices[number].status == "credited"


def test_the_policy_writes_off_an_invoice_unpaid_for_long(acme):
    number = september_invoice(acme)
    assert "InvoiceWrittenOff" not in collect(acme, 2027, 2, 11)  # day 119
    assert "InvoiceWrittenOff" in collect(acme, 2027, 2, 12)  # day 120
    account = acme.get_account("ACME")
    assert account.invoices[number].status == "written-off" and account.balance == 0
    assert account.totals["written_off"] == 12480


def test_a_hold_pauses_reminders_and_suspension_until_it_ends(acme):
    september_invoice(acme)
    acme.place_hold("ACME", "promise-to-pay", date(2026, 11, 30), "pays after year-end audit",
                    at=on(2026, 10, 14), actor=BILLING)
    assert collect(acme, 2026, 11, 20) == []
    assert collect(acme, 2026, 12, 1) == ["CollectionsHoldReleased", "ReminderSent", "SubscriptionsSuspended"]


def test_late_usage_is_billed_on_the_next_invoice_marked_late_with_its_own_dates(acme):
    september_invoice(acme)
    acme.record_usage([usage("late-1", day=28), usage("oct-1", month=10, day=3)], actor="system:ingest")
    october = acme.issue_invoice("ACME", date(2026, 10, 1), date(2026, 11, 1), at=on(2026, 11, 1), actor=BILLING)
    lines = list(acme.events.get(acme.get_account("ACME").id))[-1].lines
    late = [line for line in lines if line["kind"] == "late-usage"]
    assert [(line["usage_ids"], line["period_start"], line["amount"]) for line in late] == [
        (["late-1"], date(2026, 9, 28), 100)
    ]
    assert [line["usage_ids"] for line in lines if line["kind"] == "usage"] == [["oct-1"]]
    assert october == "INV-000002"


def test_seats_changed_mid_month_are_prorated_by_day(acme):
    acme.change_seats("ACME", "ACME-365", 20, date(2026, 9, 16), at=on(2026, 9, 15), actor=BILLING)
    number = acme.issue_invoice("ACME", date(2026, 9, 1), date(2026, 10, 1), at=on(2026, 10, 1), actor=BILLING)
    # 10 seats x 15 days + 20 seats x 15 days = 450 seat-days at 10.00 / 30 = 150.00, + 20% tax
    assert acme.get_account("ACME").invoices[number].total == 18000


def test_a_zero_invoice_is_settled_at_once(app):
    app.open_account("FREE", "Free tier", "EUR", 30, Decimal("0"), at=on(2026, 9, 1), actor=ADMIN)
    number = app.issue_invoice("FREE", date(2026, 9, 1), date(2026, 10, 1), at=on(2026, 10, 1), actor=ADMIN)
    assert app.get_account("FREE").invoices[number].status == "paid"


def test_a_payment_in_another_currency_is_refused(acme):
    september_invoice(acme)
    with pytest.raises(CurrencyMismatch, match="billed in EUR; a payment in USD is refused"):
        acme.receive_payment("ACME", "PAY-1", 100, "USD", "card", "", at=on(2026, 10, 2), actor=BILLING)


def test_closing_the_same_period_again_is_a_harmless_retry(acme):
    first = september_invoice(acme)
    again = acme.issue_invoice("ACME", date(2026, 9, 1), date(2026, 10, 1), at=on(2026, 10, 1), actor=BILLING)
    assert (first, again) == ("INV-000001", None)


def test_invoice_numbers_have_no_gaps_across_customers(acme):
    for customer in ("B", "C"):
        acme.open_account(customer, customer, "EUR", 30, Decimal(0), at=on(2026, 9, 1), actor=BILLING)
    numbers = [
        acme.issue_invoice(customer, date(2026, 9, 1), date(2026, 10, 1), at=on(2026, 10, 1), actor=BILLING)
        for customer in ("ACME", "B", "C")
    ]
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


REFUSALS = [
    (Role.SALES_AGENT, lambda app: app.receive_payment("ACME", "P", 100, "EUR", "card", "", at=on(2026, 10, 2),
                                                       actor="who")),
    (Role.HELPDESK_AGENT, lambda app: app.issue_credit_note("ACME", "CN", "INV-000001", 100, "x",
                                                            at=on(2026, 10, 2), actor="who")),
    (Role.SALES_AGENT, lambda app: app.collect(at=on(2026, 11, 20), actor="who")),
    (Role.HELPDESK_AGENT, lambda app: app.suspend("ACME", None, "x", at=on(2026, 10, 2), actor="who")),
    (Role.USER_MANAGEMENT_ADMIN, lambda app: app.issue_invoice("ACME", date(2026, 10, 1), date(2026, 11, 1),
                                                               at=on(2026, 11, 1), actor="who")),
    (Role.BILLING_ADMIN, lambda app: app.grant_role("eve", Role.GLOBAL_ADMIN, at=on(2026, 10, 2), actor="who")),
    (Role.HELPDESK_AGENT, lambda app: app.add_seat_subscription("ACME", "S", "P", 1, Decimal(1), date(2026, 9, 1),
                                                                at=on(2026, 9, 1), actor="who")),
    (Role.SALES_AGENT, lambda app: app.publish_policy(CollectionsPolicy(name="lax"), at=on(2026, 9, 1), actor="who")),
]


@pytest.mark.parametrize(("role", "command"), REFUSALS)
def test_a_role_without_the_right_is_refused_and_nothing_changes(acme, role, command):
    september_invoice(acme)
    acme.grant_role("who", role, at=on(2026, 9, 1), actor=ADMIN)
    before = acme.recorder.max_notification_id()
    with pytest.raises(PermissionDenied, match="'who' may not"):
        command(acme)
    assert acme.recorder.max_notification_id() == before


def test_every_event_records_its_actor_and_business_time(acme):
    september_invoice(acme)
    issued = list(acme.events.get(acme.get_account("ACME").id))[-1]
    assert (issued.actor, issued.timestamp) == (BILLING, on(2026, 10, 1))

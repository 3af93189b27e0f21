"""One customer's billing life, told to the application, for the read-model tests.

ACME pays EUR, 14 days after the invoice, 20% tax: 10 seats at 10.00 a month and virtual
machines at 0.50 an hour. September is invoiced on 1 October (124.80, due 15 October) and
paid in part (50.00); reminders follow; October is invoiced on 1 November (120.00, due
15 November); on 14 November, 30 days past due, the policy suspends both subscriptions;
the customer asks the helpdesk why, and the case goes to the vendor; a credit note takes
20.00 off October, a payment of 174.80 clears both invoices and reinstates at once; and
November is invoiced on 1 December (120.00, due 15 December), still open at the end.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from domain.roles import Role
from domain.usage import UsageReport
from tests.factories import ADMIN

BILLING = "bea@reseller.example"
HELPDESK = "hal@reseller.example"
SALES = "sam@reseller.example"
CUSTOMER = "ACME"


def on(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, tzinfo=timezone.utc)


def grant_staff_roles(app) -> None:
    app.grant_role(BILLING, Role.BILLING_ADMIN, at=on(9, 1), actor=ADMIN)
    app.grant_role(HELPDESK, Role.HELPDESK_AGENT, at=on(9, 1), actor=ADMIN)
    app.grant_role(SALES, Role.SALES_AGENT, at=on(9, 1), actor=ADMIN)


def open_acme(app) -> None:
    grant_staff_roles(app)
    app.open_account(CUSTOMER, "Acme Corp", "EUR", 14, Decimal("20"), at=on(9, 1), actor=BILLING)
    app.add_seat_subscription(CUSTOMER, "ACME-365", "Microsoft 365 E3", 10, Decimal("10.00"), date(2026, 9, 1),
                              at=on(9, 1), actor=BILLING)
    app.add_metered_subscription(CUSTOMER, "ACME-vm", "Virtual Machines", "vcpu-hours", "h", Decimal("0.50"),
                                 at=on(9, 1), actor=BILLING)


def usage_reports() -> list[UsageReport]:
    """8 hours of VMs on 10 September (4.00), as the ingest records it from Kafka."""
    start = on(9, 10)
    return [UsageReport(f"u-{n}", "meter", CUSTOMER, "ACME-vm", "Virtual Machines", "vcpu-hours", Decimal("4"), "h",
                        start, start, start) for n in (1, 2)]


def collect(app, month: int, day: int) -> None:
    app.collect(at=datetime(2026, month, day, tzinfo=timezone.utc), actor=BILLING)


def invoice_september(app) -> None:
    """INV-000001, issued on 1 October, due on 15 October (124.80 with the usage, else 120.00)."""
    app.issue_invoice(CUSTOMER, date(2026, 9, 1), date(2026, 10, 1), at=on(10, 1), actor=BILLING)


def until_suspended(app) -> None:
    """Invoiced, paid in part, reminded, invoiced again, suspended on 14 November."""
    invoice_september(app)
    app.receive_payment(CUSTOMER, "PAY-1", 5000, "EUR", "transfer", "SEPA 7731", at=on(10, 10), actor=BILLING)
    for day in (16, 22):
        collect(app, 10, day)
    app.issue_invoice(CUSTOMER, date(2026, 10, 1), date(2026, 11, 1), at=on(11, 1), actor=BILLING)  # INV-000002
    for day in (13, 14):
        collect(app, 11, day)


def after_suspension(app) -> None:
    """A support case escalated to the vendor, a credit note, the payment that reinstates,
    and December's invoice."""
    app.open_case("CASE-1", CUSTOMER, "billing", "Why are our subscriptions suspended?", ["INV-000001"],
                  at=on(11, 15), actor=HELPDESK)
    app.add_case_note("CASE-1", "Customer disputes the October seats", at=on(11, 15), actor=HELPDESK)
    app.escalate_case("CASE-1", partner_support_plan="Partner Success Advanced", vendor_ticket="MS-4711",
                      at=on(11, 16), actor=HELPDESK)
    app.issue_credit_note(CUSTOMER, "CN-1", "INV-000002", 2000, "seats billed twice", at=on(11, 18), actor=BILLING)
    app.receive_payment(CUSTOMER, "PAY-2", 17480, "EUR", "card", "rest", at=on(11, 20), actor=BILLING)
    app.issue_invoice(CUSTOMER, date(2026, 11, 1), date(2026, 12, 1), at=on(12, 1), actor=BILLING)  # INV-000003


def whole_life(app) -> None:
    open_acme(app)
    app.record_usage(usage_reports(), actor="system:ingest")
    until_suspended(app)
    after_suspension(app)

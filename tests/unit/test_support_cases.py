"""Support cases, as the reseller's helpdesk works them, on the real event store."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from consumers.ledger_events import to_ledger_record
from domain.errors import (
    AlreadyExists,
    CaseNotResolved,
    CaseResolved,
    InvalidCommand,
    PermissionDenied,
    UnknownCase,
    UnknownCustomer,
    UnknownInvoice,
    UnknownPayment,
)
from domain.roles import Role
from domain.support import COMMERCIAL_SUPPORT, TECHNICAL_SUPPORT, SupportCase, support_case_id
from schemas import registry
from tests.factories import ADMIN

AT = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
ROOT = ADMIN  # the global admin (the `app` fixture may have bootstrapped it already)
AGENT = "hana@partner.example"  # helpdesk agent
BILLING = "bea@partner.example"  # billing admin
SALES = "sam@partner.example"  # sales agent
USER_ADMIN = "uma@partner.example"  # user management admin
STRANGER = "nobody@partner.example"  # no role at all
PLAN = "Partner Success Advanced"


@pytest.fixture
def helpdesk(app):
    """A ledger with its staff and one customer, Contoso."""
    app.bootstrap_admin(ROOT, at=AT, actor="operator")
    for user, role in [
        (AGENT, Role.HELPDESK_AGENT),
        (BILLING, Role.BILLING_ADMIN),
        (SALES, Role.SALES_AGENT),
        (USER_ADMIN, Role.USER_MANAGEMENT_ADMIN),
    ]:
        app.grant_role(user, role, at=AT, actor=ROOT)
    app.open_account("CONTOSO", "Contoso Ltd", "EUR", 30, Decimal("20"), at=AT, actor=ROOT)
    return app


def later(hours: int) -> datetime:
    return AT + timedelta(hours=hours)


def case_events(app, case_id: str) -> list:
    return [app.mapper.to_domain_event(e) for e in app.recorder.select_events(support_case_id(case_id))]


def stored_event_count(app) -> int:
    return app.recorder.max_notification_id() or 0


def open_billing_case(app, case_id: str = "CASE-1", about: list[str] | None = None, actor: str = AGENT) -> bool:
    return app.open_case(
        case_id, "CONTOSO", "billing", "Why was I charged twice in September?", about or [], at=AT, actor=actor
    )


def test_a_helpdesk_agent_opens_a_billing_case_notes_it_and_escalates_it_to_the_vendors_commercial_support(helpdesk):
    assert open_billing_case(helpdesk) is True
    assert helpdesk.add_case_note("CASE-1", "Customer sent a screenshot of both charges", at=later(1), actor=AGENT)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, vendor_ticket="MS-2610-77", at=later(2), actor=AGENT)

    case = helpdesk.get_case("CASE-1")
    assert (case.customer_id, case.category.value, case.resolved) == ("CONTOSO", "billing", False)
    assert case.escalation == (COMMERCIAL_SUPPORT, PLAN, "MS-2610-77")
    assert [note for _at, _by, note in case.notes] == ["Customer sent a screenshot of both charges"]
    events = case_events(helpdesk, "CASE-1")
    assert [type(e).__name__ for e in events] == ["Opened", "NoteAdded", "Escalated"]
    assert [(e.actor, e.timestamp, e.case_id) for e in events] == [
        (AGENT, AT, "CASE-1"), (AGENT, later(1), "CASE-1"), (AGENT, later(2), "CASE-1")
    ]


def test_a_technical_question_goes_to_the_technical_support_of_the_partners_plan(helpdesk):
    helpdesk.open_case("CASE-T", "CONTOSO", "technical", "VM will not start", [], at=AT, actor=BILLING)
    helpdesk.escalate_case("CASE-T", partner_support_plan="Premier Support", at=later(1), actor=BILLING)

    (escalated,) = [e for e in case_events(helpdesk, "CASE-T") if isinstance(e, SupportCase.Escalated)]
    assert (escalated.destination, escalated.support_plan, escalated.vendor_ticket) == (
        TECHNICAL_SUPPORT, "Premier Support", None
    )


def test_a_commercial_question_also_goes_to_the_vendors_commercial_support(helpdesk):
    helpdesk.open_case("CASE-C", "CONTOSO", "commercial", "Is there a nonprofit offer?", [], at=AT, actor=AGENT)
    helpdesk.escalate_case("CASE-C", partner_support_plan=PLAN, at=later(1), actor=AGENT)
    assert helpdesk.get_case("CASE-C").escalation[0] == COMMERCIAL_SUPPORT


def test_a_resolved_case_refuses_notes_and_escalation_until_it_is_reopened(helpdesk):
    open_billing_case(helpdesk)
    assert helpdesk.resolve_case("CASE-1", "Duplicate charge credited", at=later(1), actor=AGENT)
    before = stored_event_count(helpdesk)

    with pytest.raises(CaseResolved, match="'CASE-1' is resolved"):
        helpdesk.add_case_note("CASE-1", "Customer called again", at=later(2), actor=AGENT)
    with pytest.raises(CaseResolved):
        helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(2), actor=AGENT)
    with pytest.raises(CaseResolved):
        helpdesk.resolve_case("CASE-1", "Something else", at=later(2), actor=AGENT)
    assert stored_event_count(helpdesk) == before

    assert helpdesk.reopen_case("CASE-1", "Charged twice again in October", at=later(3), actor=AGENT)
    assert helpdesk.add_case_note("CASE-1", "Customer called again", at=later(4), actor=AGENT)
    case = helpdesk.get_case("CASE-1")
    assert (case.resolved, case.resolution, case.reopen_reason) == (False, None, "Charged twice again in October")


def test_only_a_resolved_case_can_be_reopened(helpdesk):
    open_billing_case(helpdesk)
    with pytest.raises(CaseNotResolved, match="'CASE-1' is open"):
        helpdesk.reopen_case("CASE-1", "It came back", at=later(1), actor=AGENT)


def test_escalating_twice_to_the_same_place_changes_nothing(helpdesk):
    open_billing_case(helpdesk)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(1), actor=AGENT) is True
    before = stored_event_count(helpdesk)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(2), actor=AGENT) is False
    assert stored_event_count(helpdesk) == before


def test_the_vendors_ticket_reference_can_follow_an_escalation_but_not_replace_another(helpdesk):
    open_billing_case(helpdesk)
    helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(1), actor=AGENT)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, vendor_ticket="MS-1", at=later(2), actor=AGENT)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, vendor_ticket="MS-1", at=later(3), actor=AGENT) is False
    with pytest.raises(AlreadyExists, match="'MS-1'"):
        helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, vendor_ticket="MS-2", at=later(4), actor=AGENT)
    assert helpdesk.get_case("CASE-1").escalation == (COMMERCIAL_SUPPORT, PLAN, "MS-1")


def test_a_reopened_case_can_be_escalated_again_to_the_same_place(helpdesk):
    open_billing_case(helpdesk)
    helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(1), actor=AGENT)
    helpdesk.resolve_case("CASE-1", "Vendor refunded", at=later(2), actor=AGENT)
    helpdesk.reopen_case("CASE-1", "Refund never arrived", at=later(3), actor=AGENT)
    assert helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(4), actor=AGENT) is True


def test_opening_the_same_case_twice_is_a_harmless_retry_and_other_content_is_refused(helpdesk):
    assert open_billing_case(helpdesk) is True
    before = stored_event_count(helpdesk)
    assert open_billing_case(helpdesk) is False
    with pytest.raises(AlreadyExists, match="'CASE-1'"):
        helpdesk.open_case("CASE-1", "CONTOSO", "technical", "Another question", [], at=AT, actor=AGENT)
    assert stored_event_count(helpdesk) == before


def test_a_retried_note_resolution_or_reopening_changes_nothing(helpdesk):
    open_billing_case(helpdesk)
    assert helpdesk.add_case_note("CASE-1", "Called back", at=later(1), actor=AGENT) is True
    assert helpdesk.add_case_note("CASE-1", "Called back", at=later(2), actor=AGENT) is False
    assert helpdesk.resolve_case("CASE-1", "Explained the proration", at=later(3), actor=AGENT) is True
    assert helpdesk.resolve_case("CASE-1", "Explained the proration", at=later(4), actor=AGENT) is False
    assert helpdesk.reopen_case("CASE-1", "Customer disagrees", at=later(5), actor=AGENT) is True
    assert helpdesk.reopen_case("CASE-1", "Customer disagrees", at=later(6), actor=AGENT) is False
    kinds = [type(e).__name__ for e in case_events(helpdesk, "CASE-1")]
    assert kinds == ["Opened", "NoteAdded", "Resolved", "Reopened"]



def test_a_note_taken_while_another_agent_changed_the_case_is_kept_after_the_other(helpdesk, monkeypatch):
    open_billing_case(helpdesk)
    stale = helpdesk.get_case("CASE-1")  # read before the other agent's note was saved
    helpdesk.add_case_note("CASE-1", "Called the customer", at=later(1), actor=BILLING)
    reads = iter([stale])
    fresh = helpdesk.get_case
    monkeypatch.setattr(helpdesk, "get_case", lambda case_id: next(reads, None) or fresh(case_id))

    assert helpdesk.add_case_note("CASE-1", "Customer sent the bank statement", at=later(2), actor=AGENT)
    assert [note for _at, _by, note in fresh("CASE-1").notes] == [
        "Called the customer", "Customer sent the bank statement"
    ]

@pytest.mark.parametrize("actor", [SALES, USER_ADMIN, STRANGER])
def test_staff_without_support_work_are_refused_and_nothing_changes(helpdesk, actor):
    open_billing_case(helpdesk)
    helpdesk.resolve_case("CASE-1", "Done", at=later(1), actor=AGENT)
    before = stored_event_count(helpdesk)
    commands = [
        lambda: open_billing_case(helpdesk, "CASE-2", actor=actor),
        lambda: helpdesk.add_case_note("CASE-1", "A note", at=later(2), actor=actor),
        lambda: helpdesk.escalate_case("CASE-1", partner_support_plan=PLAN, at=later(2), actor=actor),
        lambda: helpdesk.resolve_case("CASE-1", "Done", at=later(2), actor=actor),
        lambda: helpdesk.reopen_case("CASE-1", "Again", at=later(2), actor=actor),
    ]
    for command in commands:
        with pytest.raises(PermissionDenied, match=repr(actor)):
            command()
    assert stored_event_count(helpdesk) == before
    with pytest.raises(UnknownCase):
        helpdesk.get_case("CASE-2")


def test_a_case_for_a_customer_without_an_account_is_refused(helpdesk):
    before = stored_event_count(helpdesk)
    with pytest.raises(UnknownCustomer, match="'FABRIKAM'"):
        helpdesk.open_case("CASE-9", "FABRIKAM", "billing", "Where is my invoice?", [], at=AT, actor=AGENT)
    assert stored_event_count(helpdesk) == before


def test_an_unknown_case_is_named(helpdesk):
    with pytest.raises(UnknownCase, match="'CASE-404'"):
        helpdesk.add_case_note("CASE-404", "Hello?", at=AT, actor=AGENT)


@pytest.mark.parametrize(
    ("category", "subject", "message"),
    [("refunds", "Money back", "'refunds' is not a case category"), ("billing", "  ", "subject must not be blank")],
)
def test_a_case_needs_a_known_category_and_a_subject(helpdesk, category, subject, message):
    with pytest.raises(InvalidCommand, match=message):
        helpdesk.open_case("CASE-X", "CONTOSO", category, subject, [], at=AT, actor=AGENT)


def test_every_support_case_event_round_trips_through_its_ledger_schema():
    case = SupportCase.open("CASE-1", "CONTOSO", "billing", "Charged twice", ["INV-000001", "PAY-7"], at=AT, actor=AGENT)
    case.add_note("Noted", at=later(1), actor=AGENT)
    case.escalate(partner_support_plan=PLAN, vendor_ticket="MS-9", at=later(2), actor=AGENT)
    case.resolve("Credited", at=later(3), actor=AGENT)
    case.reopen("Not credited after all", at=later(4), actor=AGENT)

    decoded_records = {}
    for notification_id, event in enumerate(case.collect_events(), start=100):
        schema, record = to_ledger_record(event, notification_id)
        decoded_schema, decoded = registry().decode(registry().encode(schema.name, record))
        uuids_as_text = {name: str(decoded[name]) for name in ("event_id", "aggregate_id")}
        assert (decoded_schema.name, {**decoded, **uuids_as_text}) == (schema.name, record)
        decoded_records[schema.short_name] = decoded
    assert list(decoded_records) == [
        "SupportCaseOpened", "SupportCaseNoteAdded", "SupportCaseEscalated", "SupportCaseResolved", "SupportCaseReopened"
    ]
    assert all((r["case_id"], r["customer_id"], r["actor"]) == ("CASE-1", "CONTOSO", AGENT) for r in decoded_records.values())
    assert decoded_records["SupportCaseOpened"]["about"] == ["INV-000001", "PAY-7"]
    assert decoded_records["SupportCaseEscalated"]["occurred_at"] == later(2)


def test_a_case_is_about_the_customers_own_invoices_and_payments(helpdesk):
    helpdesk.add_seat_subscription("CONTOSO", "CONTOSO-m365", "Microsoft 365 E3", 10, Decimal("33.60"),
                                   date(2026, 9, 1), at=AT, actor=BILLING)
    invoice = helpdesk.issue_invoice("CONTOSO", date(2026, 9, 1), date(2026, 10, 1), at=AT, actor=BILLING)
    helpdesk.receive_payment("CONTOSO", "PAY-1", 1000, "EUR", "bank-transfer", "SEPA 42", invoice, at=later(1), actor=BILLING)

    assert helpdesk.open_case("CASE-1", "CONTOSO", "billing", "Payment not applied in full", [invoice, "PAY-1"],
                              at=later(2), actor=AGENT)
    assert helpdesk.get_case("CASE-1").about == (invoice, "PAY-1")

    before = stored_event_count(helpdesk)
    with pytest.raises(UnknownInvoice, match="'INV-999999'"):
        helpdesk.open_case("CASE-2", "CONTOSO", "billing", "Wrong invoice", ["INV-999999"], at=later(3), actor=AGENT)
    with pytest.raises(UnknownPayment, match="'PAY-404'"):
        helpdesk.open_case("CASE-3", "CONTOSO", "billing", "Lost payment", ["PAY-404"], at=later(3), actor=AGENT)
    assert stored_event_count(helpdesk) == before

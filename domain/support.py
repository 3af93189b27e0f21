"""Support cases as a reseller's helpdesk works them: opened about a customer's invoices or
payments, noted, escalated to the vendor's support, resolved, and reopened when it comes back.

The reseller owns the customer relationship; the vendor (Microsoft, say) answers the partner,
not the customer. Billing and commercial questions go to the vendor's commercial support;
technical ones to the technical support of the support plan the partner has bought.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.errors import AlreadyExists, CaseNotResolved, CaseResolved, InvalidCommand, choice_of

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:support-case")
COMMERCIAL_SUPPORT = "vendor-commercial-support"
TECHNICAL_SUPPORT = "vendor-technical-support"


def support_case_id(case_id: str) -> UUID:
    """A case's aggregate id follows from the case id, so a retried opening finds it."""
    return uuid5(CASE_NAMESPACE, case_id)


class Category(str, Enum):
    BILLING = "billing"
    COMMERCIAL = "commercial"
    TECHNICAL = "technical"


def parse_category(text: str) -> Category:
    return choice_of(Category, text, "a case category", "categories")


def destination_of(category: Category) -> str:
    return TECHNICAL_SUPPORT if category is Category.TECHNICAL else COMMERCIAL_SUPPORT


def _check_text(what: str, case_id: str, text: str, limit: int = bounds.MAX_TEXT_LENGTH) -> None:
    if not text.strip():
        raise InvalidCommand(f"support case {case_id!r}: the {what} must not be blank")
    bounds.check_text(text, f"support case {case_id!r}: the {what}", limit)


class SupportCase(Aggregate):
    class Event(Aggregate.Event):
        customer_id: str
        actor: str
        # Every event names its case, so a reader of the ledger topic needs no lookup.
        case_id: str

    class Opened(Event, Aggregate.Created):
        category: str
        subject: str
        about: list[str]

    def __init__(self, customer_id: str, actor: str, case_id: str, category: str, subject: str, about: list[str]):
        self.customer_id = customer_id
        self.case_id = case_id
        self.category = Category(category)
        self.subject = subject
        self.about = tuple(about)
        self.notes: list[tuple[datetime, str, str]] = []  # (at, actor, note)
        self.escalation: tuple[str, str, str | None] | None = None  # (destination, plan, ticket)
        self.resolution: str | None = None
        self.reopen_reason: str | None = None

    @classmethod
    def open(
        cls, case_id: str, customer_id: str, category: str, subject: str, about: list[str], *, at: datetime, actor: str
    ) -> SupportCase:
        bounds.check_id(case_id, "support case id")
        _check_text("subject", case_id, subject, bounds.MAX_NAME_LENGTH)
        for reference in about:
            bounds.check_id(reference, f"support case {case_id!r}: the invoice number or payment id it is about")
        bounds.check_business_time(at, f"support case {case_id!r}: business time")
        return cls._create(
            cls.Opened,
            id=support_case_id(case_id),
            timestamp=at,
            customer_id=customer_id,
            actor=actor,
            case_id=case_id,
            category=parse_category(category).value,
            subject=subject,
            about=list(dict.fromkeys(about)),  # a reference named twice is one reference
        )

    def check_same_opening(self, customer_id: str, category: str, subject: str, about: list[str]) -> None:
        """Opening twice with the same content is a retry; with other content, a conflict."""
        wanted = (customer_id, parse_category(category), subject, tuple(dict.fromkeys(about)))
        if (self.customer_id, self.category, self.subject, self.about) != wanted:
            raise AlreadyExists(f"support case {self.case_id!r} was already opened with other content")

    def _emit(self, event_class: type[Event], at: datetime, actor: str, **fields) -> None:
        bounds.check_business_time(at, f"support case {self.case_id!r}: business time")
        self.trigger_event(
            event_class, timestamp=at, customer_id=self.customer_id, actor=actor, case_id=self.case_id, **fields
        )

    @property
    def resolved(self) -> bool:
        return self.resolution is not None

    def check_not_resolved(self, doing: str) -> None:
        if self.resolved:
            raise CaseResolved(self.case_id, doing)

    # --- notes -----------------------------------------------------------------------

    class NoteAdded(Event):
        note: str

        def apply(self, case: SupportCase) -> None:
            case.notes.append((self.timestamp, self.actor, self.note))

    def add_note(self, note: str, *, at: datetime, actor: str) -> bool:
        """Returns False when the note repeats the actor's latest note on the case (a retry)."""
        _check_text("note", self.case_id, note)
        if self.notes and self.notes[-1][1:] == (actor, note):
            return False
        self.check_not_resolved("take a note")
        self._emit(self.NoteAdded, at, actor, note=note)
        return True

    # --- escalation ------------------------------------------------------------------

    class Escalated(Event):
        destination: str
        support_plan: str
        vendor_ticket: str | None

        def apply(self, case: SupportCase) -> None:
            case.escalation = (self.destination, self.support_plan, self.vendor_ticket)

    def escalate(self, *, partner_support_plan: str, vendor_ticket: str | None, at: datetime, actor: str) -> bool:
        """Hand the case to the vendor's support. The same place again is a no-op, unless it
        brings the vendor's ticket reference that the first escalation did not have."""
        _check_text("partner support plan", self.case_id, partner_support_plan, bounds.MAX_NAME_LENGTH)
        if vendor_ticket is not None:
            bounds.check_text(vendor_ticket, f"support case {self.case_id!r}: the vendor ticket")
        destination = destination_of(self.category)
        if self.escalation is not None and self.escalation[:2] == (destination, partner_support_plan):
            recorded_ticket = self.escalation[2]
            if vendor_ticket is None or vendor_ticket == recorded_ticket:
                return False
            if recorded_ticket is not None:
                raise AlreadyExists(
                    f"support case {self.case_id!r} is already escalated to {destination} "
                    f"under vendor ticket {recorded_ticket!r}, not {vendor_ticket!r}"
                )
        self.check_not_resolved("escalate")
        self._emit(
            self.Escalated, at, actor,
            destination=destination, support_plan=partner_support_plan, vendor_ticket=vendor_ticket,
        )
        return True

    # --- resolution ------------------------------------------------------------------

    class Resolved(Event):
        resolution: str

        def apply(self, case: SupportCase) -> None:
            case.resolution = self.resolution

    def resolve(self, resolution: str, *, at: datetime, actor: str) -> bool:
        """Returns False when the case is already resolved the same way (a retry)."""
        _check_text("resolution", self.case_id, resolution)
        if self.resolution == resolution:
            return False
        self.check_not_resolved("resolve it again")
        self._emit(self.Resolved, at, actor, resolution=resolution)
        return True

    class Reopened(Event):
        reason: str

        def apply(self, case: SupportCase) -> None:
            case.resolution = None
            case.reopen_reason = self.reason
            # The issue came back: a new escalation is a new hand-over, not a retry.
            case.escalation = None

    def reopen(self, reason: str, *, at: datetime, actor: str) -> bool:
        """Returns False when the open case was last reopened for the same reason (a retry)."""
        _check_text("reason for reopening", self.case_id, reason)
        if not self.resolved:
            if self.reopen_reason == reason:
                return False
            raise CaseNotResolved(self.case_id)
        self._emit(self.Reopened, at, actor, reason=reason)
        return True

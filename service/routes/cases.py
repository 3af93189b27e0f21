"""Support cases: open, note, escalate to the vendor, resolve, reopen, show."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from pydantic import BaseModel, Field

from domain.roles import Permission
from domain.support import Category
from service.auth import Acting, acting, context, endpoint
from service.routes import new_router
from service.values import Changed, Command
from service.versions import tag

router = new_router("cases")
WORK = Permission.WORK_SUPPORT_CASES


class OpenCase(Command):
    case_id: str = Field(description="the case's own id (e.g. CASE-1A2B3C4D); retrying with it changes nothing")
    customer_id: str
    category: Category
    subject: str
    about: list[str] = Field(default_factory=list, description="invoice numbers (INV-...) and payment ids")


class CaseNote(Command):
    note: str = Field(description="a retry of your latest note on the case changes nothing")


class Escalation(Command):
    vendor_ticket: str | None = None


class Resolution(Command):
    resolution: str


class Reopening(Command):
    reason: str


class CaseChange(Changed):
    case_id: str


class Note(BaseModel):
    at: str
    by: str
    note: str


class Case(BaseModel):
    case_id: str
    customer_id: str
    category: Category
    subject: str
    about: list[str]
    status: str
    escalated_to: str | None
    support_plan: str | None
    vendor_ticket: str | None
    resolution: str | None
    notes: list[Note]
    opened_at: str
    last_changed_at: str


def case_view(case) -> dict:
    """A case as the API shows it."""
    destination, plan, ticket = case.escalation or (None, None, None)
    return {
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "category": case.category.value,
        "subject": case.subject,
        "about": list(case.about),
        "status": "resolved" if case.resolved else "open",
        "escalated_to": destination,
        "support_plan": plan,
        "vendor_ticket": ticket,
        "resolution": case.resolution,
        "notes": [{"at": at.isoformat(), "by": actor, "note": note} for at, actor, note in case.notes],
        "opened_at": case.created_on.isoformat(),
        "last_changed_at": case.modified_on.isoformat(),
    }


@endpoint(router, "POST", "/cases", needs=WORK, response_model=CaseChange, summary="open a support case")
def open_case(body: OpenCase, by: Acting = Depends(acting)) -> CaseChange:
    opened = by.ledger.open_case(body.case_id, body.customer_id, body.category.value, body.subject, body.about,
                                 **by.at(body.at))
    return CaseChange(case_id=body.case_id, changed=opened)


def _work(by: Acting, method: str, case_id: str, text: str, at) -> CaseChange:
    return CaseChange(case_id=case_id, changed=getattr(by.ledger, method)(case_id, text, **by.at(at)))


@endpoint(router, "POST", "/cases/{case_id}/notes", needs=WORK, response_model=CaseChange, summary="add a note to a case")
def add_note(case_id: str, body: CaseNote, by: Acting = Depends(acting)) -> CaseChange:
    return _work(by, "add_case_note", case_id, body.note, body.at)


@endpoint(router, "POST", "/cases/{case_id}/resolution", needs=WORK, response_model=CaseChange, summary="resolve a case")
def resolve(case_id: str, body: Resolution, by: Acting = Depends(acting)) -> CaseChange:
    return _work(by, "resolve_case", case_id, body.resolution, body.at)


@endpoint(router, "POST", "/cases/{case_id}/reopening", needs=WORK, response_model=CaseChange,
          summary="reopen a resolved case")
def reopen(case_id: str, body: Reopening, by: Acting = Depends(acting)) -> CaseChange:
    return _work(by, "reopen_case", case_id, body.reason, body.at)


@endpoint(router, "POST", "/cases/{case_id}/escalation", needs=WORK, response_model=CaseChange,
          summary="hand a case to the vendor's support (the plan: LEDGER_PARTNER_SUPPORT_PLAN)")
def escalate_case(case_id: str, body: Escalation, by: Acting = Depends(acting)) -> CaseChange:
    escalated = by.ledger.escalate_case(case_id, partner_support_plan=by.settings.partner_support_plan,
                                        vendor_ticket=body.vendor_ticket, **by.at(body.at))
    return CaseChange(case_id=case_id, changed=escalated)


@endpoint(router, "GET", "/cases/{case_id}", needs=Permission.READ_SUPPORT_VIEW, response_model=Case,
          summary="a case and its notes, as the event store holds it now")
def show_case(case_id: str, request: Request, response: Response) -> Case:
    case = context(request).ledger.get_case(case_id)
    tag(response, case)
    return Case(**case_view(case))

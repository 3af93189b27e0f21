"""The dead letters: usage the ingest refused, with each reason's meaning, and their redrive
to the usage topic once the cause is fixed (the API's own endpoints, service/routes/
dead_letters.py); and the records the projector could not read off the ledger topic, shown
with their reasons but never redriven (a record that is no ledger event has no place in the
read models: docs/replay-and-projections.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from consumers.dead_letters import REASONS, read_dead_letters
from service.auth import context
from service.console import session
from service.console.actions import listed, posted
from service.console.web import done, needs, page, signed_in
from service.errors import ServiceError
from service.routes import dead_letters

router = APIRouter(include_in_schema=False)
SHOWN = 500  # the API's largest page


def _page(request: Request, staff: session.Staff, status_code: int = 200, error: str | None = None,
          chosen: list[str] = ()) -> HTMLResponse:
    settings = context(request).settings
    usage = dead_letters.list_dead_letters(request, reason=[], customer_id=None, limit=SHOWN, starting_after=None)
    ledger = [letter.row() for letter in read_dead_letters(settings, settings.ledger_dlq_topic)][:SHOWN]
    return page(request, "dead_letters.html", staff, status_code, usage=usage, ledger=ledger, meaning=REASONS,
                usage_topic=settings.usage_topic, ledger_topic=settings.ledger_topic, error=error,
                chosen=set(chosen), reasons=sorted({letter.reason for letter in usage.data}))


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters_page(request: Request) -> HTMLResponse:
    staff = signed_in(request)
    staff.require(needs(dead_letters.list_dead_letters))
    return _page(request, staff)


@router.post("/dead-letters/redrive")
async def redrive(request: Request):
    return await posted(request, _redrive)


def _redrive(request: Request, staff: session.Staff, form: dict):
    staff.require(needs(dead_letters.redrive_dead_letters))
    ids, reasons = listed(form, "ids"), [r for r in listed(form, "reason") if r]
    try:
        body = dead_letters.Redrive(ids=ids, reasons=reasons)
        redriven = dead_letters.redrive_dead_letters(body, request).redriven
    except ServiceError as error:  # none chosen, or one no longer there: the page again, one line
        return _page(request, staff, error.status, error.detail, ids)
    return done(request, "/dead-letters", f"Redrove {redriven} dead letter{'' if redriven == 1 else 's'} to "
                f"{context(request).settings.usage_topic}; the ingest records each usage id once.")

"""Dead letters: the usage messages the ingest refused, with their reasons, and their redrive
to the usage topic once the cause is fixed (the ingest then records each usage id once)."""

from __future__ import annotations

from fastapi import Query, Request
from pydantic import BaseModel, Field

from consumers.dead_letters import REASONS, read_dead_letters, redrive, select
from domain.roles import Permission
from service.auth import context, endpoint
from service.errors import ServiceError
from service.routes import new_router
from service.values import Strict, paged

router = new_router("dead letters")
# Dead letters are usage the ledger did not record: who records usage by hand handles them.
HANDLE = Permission.RECORD_USAGE


class DeadLetter(BaseModel):
    id: str = Field(description="its place on the dead-letter topic, partition:offset")
    reason: str = Field(description="the reason code (see docs: dead-letter reasons)")
    source: str = Field(description="where the message was read: topic:partition@offset")
    dead_lettered_at: str
    key: str = Field(description="the message key: the customer id")
    detail: str


class DeadLetterPage(BaseModel):
    data: list[DeadLetter]
    has_more: bool
    next: str | None


class Redrive(Strict):
    ids: list[str] = Field(default_factory=list, description="dead letters by id (partition:offset)")
    reasons: list[str] = Field(default_factory=list, description="dead letters by reason code")
    all: bool = Field(False, description="every dead letter")


class Redriven(BaseModel):
    redriven: int


def _position(letter_id: str) -> tuple[int, int]:
    partition, _, offset = letter_id.partition(":")
    try:
        return int(partition), int(offset)
    except ValueError:
        raise ServiceError(400, "malformed_request", f"{letter_id!r} is not a dead letter id (partition:offset)",
                           field="starting_after") from None


def _letters(request: Request, ids=(), reasons=()):
    settings = context(request).settings
    unknown = sorted(set(reasons) - set(REASONS))
    if unknown:
        raise ServiceError(400, "malformed_request", f"{', '.join(unknown)}: not dead-letter reasons; they are "
                           f"{', '.join(sorted(REASONS))}", field="reason")
    return select(read_dead_letters(settings, settings.dlq_topic), set(ids), set(reasons))


@endpoint(router, "GET", "/dead-letters", needs=HANDLE, response_model=DeadLetterPage,
          summary="the usage messages the ingest refused, with their reasons")
def list_dead_letters(request: Request, reason: list[str] = Query(default_factory=list),
                      customer_id: str | None = None, limit: int = Query(100, ge=1, le=500),
                      starting_after: str | None = None) -> DeadLetterPage:
    letters = sorted(_letters(request, reasons=reason), key=lambda letter: (letter.partition, letter.offset))
    if customer_id is not None:
        letters = [letter for letter in letters if letter.key == customer_id.encode()]
    if starting_after is not None:
        after = _position(starting_after)
        letters = [letter for letter in letters if (letter.partition, letter.offset) > after]
    return DeadLetterPage(**paged([DeadLetter(**letter.row()) for letter in letters[: limit + 1]], limit,
                                  lambda letter: letter.id))


@endpoint(router, "POST", "/dead-letters/redrive", needs=HANDLE, response_model=Redriven,
          summary="send dead letters back to the usage topic (safe to repeat: a usage id is recorded once)")
def redrive_dead_letters(body: Redrive, request: Request) -> Redriven:
    if not (body.ids or body.reasons or body.all):
        raise ServiceError(400, "malformed_request", "say which dead letters to redrive: ids, reasons or all")
    letters = _letters(request, body.ids, body.reasons)
    missing = set(body.ids) - {letter.id for letter in letters}
    if missing:
        raise ServiceError(404, "unknown_dead_letter", f"no dead letter at {', '.join(sorted(missing))}")
    usage = context(request).usage
    settings = context(request).settings
    return Redriven(redriven=redrive(usage.producer(), settings.dlq_topic, settings.usage_topic, letters))

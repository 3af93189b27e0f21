"""Personal API tokens (a staff member's, for scripts) and service tokens (an upstream
system's, to publish usage): shown once, kept hashed, named, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from domain.bounds import ID_PATTERN
from domain.credentials import TokenKind
from service import access
from domain.roles import Permission
from service.auth import SIGNED_IN, Principal, context, current_principal, endpoint
from service.credentials import TokenRow
from service.errors import ServiceError
from service.routes import new_router
from service.routes.sessions import revoke
from service.values import Changed, Strict, UtcTime, paged

router = new_router("tokens")
MAX_DAYS = 366
NAME = Field(description="what the token is for, shown in lists", min_length=1, max_length=200)


class NewPersonalToken(Strict):
    name: str = NAME
    expires_in_days: int = Field(90, ge=1, le=MAX_DAYS)


class NewServiceToken(Strict):
    service: str = Field(description="the upstream system; the token acts as `service:<service>`",
                         pattern=ID_PATTERN.pattern, max_length=120)
    name: str = NAME
    expires_in_days: int = Field(365, ge=1, le=MAX_DAYS)


class Token(BaseModel):
    token_id: str
    kind: Literal["personal", "service", "session"]
    principal: str = Field(description="who the token acts as")
    name: str
    created_by: str
    created_at: UtcTime
    expires_at: UtcTime
    revoked_at: UtcTime | None


class CreatedToken(Token):
    secret: str | None = Field(description="the token: shown in this answer only (null in an Idempotency-Key replay)")


class TokenPage(BaseModel):
    data: list[Token]
    has_more: bool
    next: str | None = Field(description="pass as `starting_after` for the next page")


def token_out(row: TokenRow) -> dict:
    return {"token_id": row.token_id, "kind": row.kind.value, "principal": row.principal, "name": row.name,
            "created_by": row.created_by, "created_at": row.created_at, "expires_at": row.expires_at,
            "revoked_at": row.revoked_at}


def _issue(request: Request, kind: TokenKind, principal: str, name: str, days: int, actor: str) -> CreatedToken:
    ctx = context(request)
    new = access.issue_token(ctx.credentials, ctx.access, kind, principal, name, timedelta(days=days),
                             at=ctx.clock(), actor=actor)
    return CreatedToken(**token_out(new.row), secret=new.secret)


@endpoint(router, "POST", "/tokens", needs=SIGNED_IN, response_model=CreatedToken, status_code=201,
          summary="a personal API token, acting as you (safe to retry with Idempotency-Key)")
def create_personal_token(body: NewPersonalToken, request: Request,
                          who: Principal = Depends(current_principal)) -> CreatedToken:
    return _issue(request, TokenKind.PERSONAL, who.id, body.name, body.expires_in_days, who.id)


@endpoint(router, "POST", "/service-tokens", needs=Permission.MANAGE_USERS, response_model=CreatedToken,
          status_code=201, summary="a service token for an upstream system: it may publish usage, nothing else")
def create_service_token(body: NewServiceToken, request: Request,
                         who: Principal = Depends(current_principal)) -> CreatedToken:
    return _issue(request, TokenKind.SERVICE, f"service:{body.service}", body.name, body.expires_in_days, who.id)


@endpoint(router, "GET", "/tokens", needs=SIGNED_IN, response_model=TokenPage,
          summary="the personal and service tokens you created, without their secrets")
def list_tokens(request: Request, who: Principal = Depends(current_principal),
                limit: int = Query(100, ge=1, le=500), starting_after: str | None = None) -> TokenPage:
    rows = context(request).credentials.tokens_created_by(who.id, after=starting_after, limit=limit + 1)
    page = paged([Token(**token_out(r)) for r in rows], limit, lambda token: token.token_id)
    return TokenPage(**page)


@endpoint(router, "DELETE", "/tokens/{token_id}", needs=SIGNED_IN, response_model=Changed,
          summary="revoke a token you created or that acts as you (another's: needs 'grant and revoke roles')")
def revoke_token(token_id: str, request: Request, who: Principal = Depends(current_principal)) -> Changed:
    ctx = context(request)
    row = ctx.credentials.token(token_id)
    if row is None:
        raise ServiceError(404, "unknown_token", f"there is no token {token_id!r}", token_id=token_id)
    if who.id not in (row.created_by, row.principal):
        ctx.ledger.authorize(who.id, Permission.MANAGE_USERS)
    return Changed(changed=revoke(request, token_id, who.id))

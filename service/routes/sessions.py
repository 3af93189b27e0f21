"""Signing in with a password (a session token) and signing out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from domain.credentials import TokenKind
from service import access
from service.auth import NOBODY, SIGNED_IN_ONE_TIME, Principal, context, current_principal, endpoint
from service.errors import ServiceError, not_signed_in
from service.routes import new_router
from service.values import Changed, Strict, UtcTime

router = new_router("sessions")
SESSION_LIFETIME = timedelta(hours=12)


class SignIn(Strict):
    user: str = Field(description="the staff user id", max_length=128)
    password: str = Field(max_length=1024)


class Session(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once, kept only hashed")
    token_id: str
    user: str
    expires_at: UtcTime
    must_change_password: bool = Field(description="true after a one-time password: choose a new one first")


@endpoint(router, "POST", "/sessions", needs=NOBODY, response_model=Session, status_code=201,
          summary="sign in with a password: a session token for 12 hours")
def sign_in(body: SignIn, request: Request) -> Session:
    ctx = context(request)
    check_password(request, body.user, body.password, "wrong user or password")
    ctx.throttle.succeeded(body.user)
    new = access.issue_token(ctx.credentials, ctx.access, TokenKind.SESSION, body.user, "sign-in", SESSION_LIFETIME,
                             at=ctx.clock(), actor=body.user)
    must_change = ctx.credentials.token_by_secret(new.secret).must_change_password
    return Session(token=new.secret, token_id=new.row.token_id, user=body.user, expires_at=new.row.expires_at,
                   must_change_password=must_change)


@endpoint(router, "DELETE", "/sessions/current", needs=SIGNED_IN_ONE_TIME, response_model=Changed,
          summary="sign out: the token of this request is revoked")
def sign_out(request: Request, who: Principal = Depends(current_principal)) -> Changed:
    return Changed(changed=revoke(request, who.token_id, who.id))


class CurrentSession(BaseModel):
    user: str = Field(description="who the token acts as")
    token_id: str
    kind: str = Field(description="session, personal or service")
    expires_at: UtcTime
    must_change_password: bool


@endpoint(router, "GET", "/sessions/current", needs=SIGNED_IN_ONE_TIME, response_model=CurrentSession,
          summary="who the token of this request acts as, and until when (`ledger whoami`, `ledger login --token-stdin`)")
def current_session(request: Request, who: Principal = Depends(current_principal)) -> CurrentSession:
    row = context(request).credentials.token_by_secret(request.headers["authorization"].partition(" ")[2].strip())
    return CurrentSession(user=who.id, token_id=who.token_id, kind=who.kind.value, expires_at=row.expires_at,
                          must_change_password=who.must_change_password)


def check_password(request: Request, user: str, password: str, refusal: str) -> None:
    """A password check, throttled per user and per address (service/throttle.py)."""
    ctx = context(request)
    address = request.client.host if request.client else "unknown"
    wait = ctx.throttle.retry_after(user, address)
    if wait:
        raise ServiceError(429, "too_many_sign_ins", f"too many failed sign-ins; try again in {wait} s",
                           {"Retry-After": str(wait)})
    if not ctx.credentials.verify_password(user, password):
        ctx.throttle.failed(user, address)
        raise not_signed_in(refusal)


def revoke(request: Request, token_id: str, actor: str) -> bool:
    ctx = context(request)
    return access.revoke_token(ctx.credentials, ctx.access, token_id, at=ctx.clock(), actor=actor)

"""Who is calling, and may they: a bearer token names the principal; the role matrix
(domain/roles.py) decides, before anything is read or changed.

The principal is the actor of every command: it comes from the token and from nothing
else (no field, header or parameter of a request can name another actor).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, wraps
from typing import Any

from fastapi import APIRouter, Depends, Request

from domain.credentials import TokenKind
from domain.errors import PermissionDenied
from domain.kept import ASK
from domain.roles import DIRECTORY_ID, Permission
from service.errors import ERROR_RESPONSES, not_signed_in
from service.threads import in_thread

# What an endpoint needs, when it is not a permission of the role matrix.
SIGNED_IN = "signed in as staff"
SIGNED_IN_ONE_TIME = "signed in as staff, also with a one-time password"
NOBODY = "none (this is how one signs in)"
# An upstream system's service token may do this and nothing else.
SERVICE_PERMISSIONS = frozenset({Permission.PUBLISH_USAGE})


@dataclass(frozen=True)
class Principal:
    id: str  # a staff user id, or `service:<name>` for an upstream system
    kind: TokenKind
    token_id: str
    must_change_password: bool = False
    # The staff directory's stored version, asked with the token in this request's one round
    # trip (ASK: not asked; `authorize` asks). Never carried to another request.
    directory_version: object = field(default=ASK, compare=False, repr=False)


def context(request: Request):
    return request.app.state.context


def principal_of(request: Request) -> Principal:
    """The principal of the request's bearer token; 401 when there is none that is valid.
    Looked up once per request (the permission check does it first, in its thread)."""
    known = getattr(request.state, "principal", None)
    if known is None:
        known = request.state.principal = _authenticate(request)
    return known


async def current_principal(request: Request) -> Principal:
    # Usually known already: then no thread is taken from the pool to say so.
    known = getattr(request.state, "principal", None)
    return known if known is not None else await in_thread(principal_of, request)


def _authenticate(request: Request) -> Principal:
    return authenticate(context(request), request.headers.get("authorization", ""))


def authenticate(ctx, header: str) -> Principal:
    """The principal of an `Authorization` header's bearer token, looked up in the store on
    every request (a token revoked or expired is refused at once, by every process); with the
    staff directory's version, which its roles are checked against, in the same query."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise not_signed_in("sign in (POST /v1/sessions) and send `Authorization: Bearer <token>`")
    row, directory_version = ctx.credentials.token_and(token.strip(), ctx.ledger.recorder.version_subquery, DIRECTORY_ID)
    if row is None:
        raise not_signed_in("the token is not known")
    if row.revoked_at is not None:
        raise not_signed_in(f"token {row.token_id} was revoked", token_id=row.token_id)
    if row.expires_at <= ctx.clock():
        raise not_signed_in(f"token {row.token_id} expired at {row.expires_at.isoformat()}", token_id=row.token_id)
    return Principal(row.principal, row.kind, row.token_id, row.must_change_password, directory_version)


async def staff_principal(who: Principal = Depends(current_principal)) -> Principal:
    """Staff, whatever their roles; a one-time password allows only choosing a new one."""
    return _staff(who)


async def ready_staff(who: Principal = Depends(staff_principal)) -> Principal:
    return _ready(who)


def _staff(who: Principal) -> Principal:
    if who.kind is TokenKind.SERVICE:
        raise PermissionDenied(who.id, SIGNED_IN, ["a service token"])
    return who


def _ready(who: Principal) -> Principal:
    if who.must_change_password:
        raise PermissionDenied(who.id, "act before choosing a new password (PUT /v1/staff/{user}/password)",
                               ["a one-time password"])
    return who


@cache
def allowed_to(permission: Permission) -> Callable[..., Principal]:
    """The dependency that refuses a principal whose roles do not allow `permission`."""

    def check_now(request: Request) -> Principal:
        return authorize(context(request), principal_of(request), permission)

    async def check(request: Request) -> Principal:
        # One thread for who and whether they may: the token, then the kept staff directory
        # (a blocking dependency would take one of anyio's: service/threads.py says why not).
        return await in_thread(check_now, request)

    check.__name__ = f"allowed_to_{permission.name.lower()}"
    return check


def authorize(ctx, who: Principal, permission: Permission, *, roles_checked_by_the_command: bool = False) -> Principal:
    """`who`, if their roles (the kept staff directory) allow `permission`; else PermissionDenied.
    A command of the ledger that checks the actor's roles itself, first, before it reads or
    changes anything, needs only the rest here (its refusal is the same PermissionDenied):
    the directory's version is then asked once per request, not twice."""
    if who.kind is TokenKind.SERVICE:
        if permission not in SERVICE_PERMISSIONS:
            raise PermissionDenied(who.id, permission.value, ["a service token"])
        return who
    _ready(who)
    if not roles_checked_by_the_command:
        ctx.ledger.authorize(who.id, permission, directory_version=who.directory_version)
    return who


def endpoint(router: APIRouter, method: str, path: str, *, needs: Permission | str, response_model: Any,
             summary: str, status_code: int = 200, **options: Any):
    """Declare an endpoint with what it needs: checked on every call and published in the
    OpenAPI document as `x-permission` (tests/test_api_openapi.py refuses an endpoint without)."""
    gates = {SIGNED_IN: [Depends(ready_staff)], SIGNED_IN_ONE_TIME: [Depends(staff_principal)], NOBODY: []}
    dependencies = [Depends(allowed_to(needs))] if isinstance(needs, Permission) else gates[needs]
    declare = router.api_route(
        path, methods=[method], response_model=response_model, summary=summary, status_code=status_code,
        dependencies=dependencies, responses=ERROR_RESPONSES,
        openapi_extra={"x-permission": needs.value if isinstance(needs, Permission) else needs}, **options,
    )

    def register(function: Callable) -> Callable:
        declare(in_one_thread(function))
        return function  # as written: the console calls some endpoints' functions itself

    return register


def in_one_thread(function: Callable) -> Callable:
    """A blocking endpoint, run in a thread of the pool and its answer checked against its
    model on the event loop: FastAPI would take a second thread to check the answer of a
    plain `def` endpoint (each thread taken is a wake-up to wait for on a busy machine)."""
    if inspect.iscoroutinefunction(function):
        return function

    @wraps(function)  # FastAPI reads the signature, and its annotations' module, through it
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await in_thread(function, *args, **kwargs)

    return run


def now_of(request: Request) -> datetime:
    return context(request).clock()


@dataclass(frozen=True)
class Acting:
    """A command's who and when: the signed-in principal, and the business time the request
    gave within the bounds (service/values.business_time) or the server's now. The one place
    a command's `actor` comes from."""

    ledger: Any
    actor: str
    clock: Callable[[], datetime]
    settings: Any  # the installation's (e.g. its partner support plan)

    @classmethod
    def of(cls, ctx, actor: str) -> Acting:
        """`actor` (who authenticated) acting on this server's ledger, clock and settings."""
        return cls(ctx.ledger, actor, ctx.clock, ctx.settings)

    def at(self, given: datetime | None) -> dict[str, Any]:
        from service.values import business_time

        return {"at": business_time(given, self.clock()), "actor": self.actor}


async def acting(request: Request, who: Principal = Depends(current_principal)) -> Acting:
    from service.versions import check_if_match

    ctx = context(request)
    if "if-match" in request.headers:  # before anything changes: a stale decision is refused
        await in_thread(check_if_match, request, ctx.ledger)
    return Acting.of(ctx, who.id)

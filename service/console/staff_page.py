"""Staff and roles, for global admins and user management admins: users and their roles,
the tokens they created (create a service token, revoke), and the latest sign-ins. Each
action is the API's own (service/routes/staff.py, tokens.py) with the same checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from domain.credentials import AccessToken, TokenKind
from domain.errors import LedgerError
from domain.roles import Permission, Role
from service.auth import context
from service.console import session
from service.console.actions import form_of
from service.console.web import done, page, principal_of, signed_in
from service.errors import ServiceError
from service.routes import staff as staff_routes
from service.routes import tokens

router = APIRouter(include_in_schema=False)
SIGN_INS_SHOWN = 50
SIGN_IN_NAMES = ("sign-in", "console sign-in")  # the names service/routes/sessions.py and session.py give


def sign_ins(request: Request) -> list:
    """The latest sign-ins, newest first, from the access log's events."""
    access = context(request).access
    last = access.recorder.max_notification_id() or 0
    events = (access.mapper.to_domain_event(n)
              for n in access.recorder.select_notifications(max(1, last - 20 * SIGN_INS_SHOWN), 20 * SIGN_INS_SHOWN))
    issued = [e for e in events if isinstance(e, AccessToken.Issued) and e.kind == TokenKind.SESSION.value
              and e.name in SIGN_IN_NAMES]
    return list(reversed(issued))[:SIGN_INS_SHOWN]


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, secret: str = "") -> HTMLResponse:
    staff = signed_in(request)
    staff.require(Permission.MANAGE_USERS)
    users = staff_routes.list_staff(request, limit=500, starting_after=None).data
    own_tokens = tokens.list_tokens(request, principal_of(staff), limit=500, starting_after=None).data
    return page(request, "staff.html", staff, users=users, roles=list(Role), tokens=own_tokens,
                sign_ins=sign_ins(request))


@router.post("/staff/roles")
async def change_role(request: Request):
    staff = session.staff_of(request)
    form = await form_of(request, staff)
    staff.require(Permission.MANAGE_USERS)
    ctx = context(request)
    user, role, grant = str(form.get("user", "")).strip(), str(form.get("role", "")), form.get("change") == "grant"
    try:
        method = ctx.ledger.grant_role if grant else ctx.ledger.revoke_role
        changed = method(user, Role(role), at=ctx.clock(), actor=staff.user)
    except (LedgerError, ValueError) as error:
        return done(request, "/staff", f"Refused: {error}")
    verb = "granted to" if grant else "revoked from"
    return done(request, "/staff", f"{role} {verb} {user}." if changed else "Nothing to change.")


@router.post("/staff/service-tokens")
async def create_service_token(request: Request):
    staff = session.staff_of(request)
    form = await form_of(request, staff)
    staff.require(Permission.MANAGE_USERS)
    try:
        body = tokens.NewServiceToken(service=str(form.get("service", "")), name=str(form.get("name", "")))
        created = tokens.create_service_token(body, request, principal_of(staff))
    except ValueError as error:  # pydantic's ValidationError is one
        return done(request, "/staff", f"Refused: {str(error).splitlines()[0]}")
    # The secret is shown once, on this answer only: never in a cookie or a URL.
    return page(request, "staff_token.html", staff, created=created)


@router.post("/staff/tokens/{token_id}/revocation")
async def revoke_token(request: Request, token_id: str):
    staff = session.staff_of(request)
    await form_of(request, staff)
    try:
        changed = tokens.revoke_token(token_id, request, principal_of(staff)).changed
    except (ServiceError, LedgerError) as error:
        return done(request, "/staff", f"Refused: {getattr(error, 'detail', error)}")
    return done(request, "/staff", f"Token {token_id} revoked." if changed else f"Token {token_id} was revoked before.")


@router.get("/password", response_class=HTMLResponse)
def password_form(request: Request, error: str = "") -> HTMLResponse:
    staff = session.staff_of(request, one_time_password=True)
    return page(request, "password.html", staff, error=error)


@router.post("/password")
async def choose_password(request: Request):
    """One's own password (after a one-time one, the only thing allowed): the API's own
    change, which keeps this session and ends the others."""
    staff = session.staff_of(request, one_time_password=True)
    form = await form_of(request, staff)
    try:
        body = staff_routes.NewPassword(password=str(form.get("password", "")),
                                        current_password=str(form.get("current_password", "")))
        staff_routes.set_password(staff.user, body, request, principal_of(staff))
    except (ServiceError, LedgerError, ValueError) as error:
        detail = getattr(error, "detail", None) or str(error).splitlines()[0]
        return page(request, "password.html", staff, 422, error=detail)
    return done(request, "/", "Your new password is set; your other sessions were ended.")

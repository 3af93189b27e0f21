"""Console sessions: the API's session tokens carried in a cookie.

A sign-in issues the same session token as `POST /v1/sessions` (service/access.py: its row
kept hashed, its issue an event); the cookie holds the token, HttpOnly, SameSite=Strict,
Secure when served over TLS. The console adds what a browser needs:

- idle expiry: a session unused for IDLE is revoked (an event, like a sign-out) at its next use;
- CSRF: every form carries a token derived from the session's secret (a page of another site
  can neither read the cookie nor compute it); a POST without it is refused (403).
  Before sign-in, the form's token is the double of a random cookie.
- a time zone per staff member, for the dates on their pages.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response

from domain.credentials import TokenKind
from domain.errors import PermissionDenied
from domain.roles import Permission
from service import access
from service.auth import context
from service.credentials import SCHEMA
from service.routes.sessions import SESSION_LIFETIME, check_password

COOKIE = "ledger_console"
SIGN_IN_COOKIE = "ledger_console_sign_in"
IDLE = timedelta(minutes=30)
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often: a page view is not a write

TABLES = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.console_sessions (
    token_id text PRIMARY KEY,
    last_used_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.console_preferences (
    user_id text PRIMARY KEY,
    time_zone text NOT NULL
);
"""


class SignedOut(Exception):
    """No valid session: the browser goes to the sign-in page, told why."""

    def __init__(self, why: str = ""):
        super().__init__(why)
        self.why = why


class MustChoosePassword(Exception):
    """Signed in with a one-time password: nothing but choosing one's own until then."""


class CsrfRefused(Exception):
    pass


class Refused(Exception):
    """A refusal shown as a page: 403 for a role that may not, 422 for the ledger's no."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Staff:
    user: str
    token_id: str
    csrf: str
    time_zone: str
    ledger: object
    must_change_password: bool = False

    def may(self, permission: Permission) -> bool:
        """What the page shows: the same role check as the server's refusal."""
        try:
            self.ledger.authorize(self.user, permission)
        except PermissionDenied:
            return False
        return True

    def require(self, permission: Permission) -> None:
        """The server's refusal of what the page does not show."""
        try:
            self.ledger.authorize(self.user, permission)
        except PermissionDenied as error:
            raise Refused(403, str(error)) from None


def create_tables(ctx) -> None:
    from eventstore.postgres import setup_lock

    with setup_lock(ctx.settings.database_url), ctx.credentials.pool.connection() as conn:  # workers start at once
        conn.execute(TABLES)


def csrf_of(secret: str) -> str:
    return hmac.new(secret.encode(), b"console csrf", hashlib.sha256).hexdigest()


def sign_in(request: Request, user: str, password: str) -> str:
    """Check the password (throttled as the API's sign-in) and issue a session token."""
    ctx = context(request)
    check_password(request, user, password, "wrong user or password")
    ctx.throttle.succeeded(user)
    new = access.issue_token(ctx.credentials, ctx.access, TokenKind.SESSION, user, "console sign-in",
                             SESSION_LIFETIME, at=ctx.clock(), actor=user)
    with ctx.credentials.pool.connection() as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.console_sessions (token_id, last_used_at) VALUES (%s, %s)",
                     (new.row.token_id, ctx.clock()))
    return new.secret


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def staff_of(request: Request, one_time_password: bool = False) -> Staff:
    """The signed-in staff member of this browser, or SignedOut; after a one-time password,
    MustChoosePassword unless the page is the one that chooses it."""
    ctx = context(request)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise SignedOut()
    row = ctx.credentials.token_by_secret(secret)
    now = ctx.clock()
    if row is None or row.kind is not TokenKind.SESSION or row.revoked_at is not None:
        raise SignedOut("you were signed out")
    if row.expires_at <= now:
        raise SignedOut("your session ended; sign in again")
    with ctx.credentials.pool.connection() as conn:
        used = conn.execute(f"SELECT last_used_at FROM {SCHEMA}.console_sessions WHERE token_id = %s",
                            (row.token_id,)).fetchone()
        if used is None:  # an API session token put in the cookie: not a console session
            raise SignedOut()
        if now - used["last_used_at"] > IDLE:
            access.revoke_token(ctx.credentials, ctx.access, row.token_id, at=now, actor=row.principal)
            raise SignedOut(f"signed out after {int(IDLE.total_seconds() // 60)} minutes without use")
        if now - used["last_used_at"] > TOUCH_EVERY:
            conn.execute(f"UPDATE {SCHEMA}.console_sessions SET last_used_at = %s WHERE token_id = %s",
                         (now, row.token_id))
        zone = conn.execute(f"SELECT time_zone FROM {SCHEMA}.console_preferences WHERE user_id = %s",
                            (row.principal,)).fetchone()
    if row.must_change_password and not one_time_password:
        raise MustChoosePassword()
    return Staff(row.principal, row.token_id, csrf_of(secret), zone["time_zone"] if zone else "UTC", ctx.ledger,
                 row.must_change_password)


def check_csrf(request: Request, form, staff: Staff | None) -> None:
    expected = staff.csrf if staff else request.cookies.get(SIGN_IN_COOKIE)
    given = form.get("csrf") or ""
    if not expected or not hmac.compare_digest(str(given), expected):
        raise CsrfRefused()


def sign_out(request: Request, staff: Staff) -> None:
    ctx = context(request)
    access.revoke_token(ctx.credentials, ctx.access, staff.token_id, at=ctx.clock(), actor=staff.user)


def set_time_zone(request: Request, staff: Staff, time_zone: str) -> None:
    with context(request).credentials.pool.connection() as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.console_preferences (user_id, time_zone) VALUES (%s, %s) "
                     "ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone", (staff.user, time_zone))


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)

"""What every console page and form shares: the signed-in staff member, templates, a
one-line message after an action, and the answer to a refusal."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
import uuid
from typing import Any
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from domain.credentials import TokenKind
from domain.money import format_minor_units
from domain.roles import Permission
from service.auth import Principal, context
from service.console import HERE, explanations
from service.console.session import COOKIE, CsrfRefused, MustChoosePassword, Refused, SignedOut, Staff, set_cookie, staff_of

templates = Jinja2Templates(directory=HERE / "templates")
FLASH = "ledger_console_flash"


def today_of(request: Request) -> date:
    return context(request).clock().date()


def new_id(prefix: str) -> str:
    """An id for a command, made when its form is shown: posting the same form twice (a
    double click, a retry after a timeout) is the same command, done once."""
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def money(amount: int | None, currency: str | None) -> str:
    return "" if amount is None or not currency else format_minor_units(amount, currency)


def page(request: Request, template: str, staff: Staff | None, status_code: int = 200, **values: Any) -> HTMLResponse:
    today = today_of(request)
    flash = unquote(request.cookies.get(FLASH) or "")
    response = templates.TemplateResponse(request, template, {
        "staff": staff, "P": Permission, "money": money, "new_id": new_id, "today": today, "flash": flash,
        "day": lambda d: explanations.day(d, today) if d else "",
        "moment": lambda t: explanations.moment(t, staff.time_zone if staff else "UTC") if t else "",
        **values,
    }, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH, path="/")
    return response


def done(request: Request, to: str, message: str) -> RedirectResponse:
    """After an action: back to the page, with a one-line confirmation."""
    response = RedirectResponse(to, status_code=303)
    set_cookie(request, response, FLASH, quote(message[:300]), max_age=60)
    return response


def principal_of(staff: Staff) -> Principal:
    """The signed-in staff member as the API's endpoints take their caller."""
    return Principal(staff.user, TokenKind.SESSION, staff.token_id, staff.must_change_password)


@cache
def needs(handler: Callable) -> Permission:
    """The permission the API declares for the endpoint `handler`: the console asks the same."""
    from service.routes import accounts, billing, cases, collections, dead_letters, staff, tokens

    for module in (accounts, billing, cases, collections, dead_letters, staff, tokens):
        for route in module.router.routes:
            if inspect.unwrap(getattr(route, "endpoint", None)) is handler:  # registered in_one_thread
                return Permission(route.openapi_extra["x-permission"])
    raise LookupError(f"{handler.__name__} is not an API endpoint with a permission")


def install(app: FastAPI) -> None:
    @app.exception_handler(SignedOut)
    async def _signed_out(request: Request, error: SignedOut):
        response = RedirectResponse("/sign-in" + (f"?why={quote(error.why)}" if error.why else ""), status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(MustChoosePassword)
    async def _one_time(request: Request, error: MustChoosePassword):
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, error: CsrfRefused):
        return HTMLResponse("<!doctype html><title>Refused</title><p>This form is not from this console "
                            "(its CSRF token is missing or wrong): reload the page and try again.</p>", status_code=403)


    @app.exception_handler(Refused)
    async def _refused(request: Request, error: Refused):
        return page(request, "message.html", None, error.status, message=error.message)


def signed_in(request: Request) -> Staff:
    return staff_of(request)


def local_time(staff: Staff, moment: datetime) -> str:
    return explanations.moment(moment, staff.time_zone)

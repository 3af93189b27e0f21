"""Opening accounts and adding subscriptions (seats or metered) from the console: the API's
own endpoints (service/routes/accounts.py) with the signed-in staff member as the actor.

What is typed is read here into the API's request bodies; a field that cannot be what it
asks for (a price that is not a number) is refused in one line naming the field, before the
ledger is asked. The ledger's own refusals (an unknown currency, a subscription id taken)
come back as its one line. Refused, the form shows again with what was typed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from domain.errors import LedgerError, PermissionDenied
from service.console import session
from service.console.actions import Typed, acting_as, on_customer, one_line, posted
from service.console.web import done, needs, page, signed_in
from service.routes import accounts

router = APIRouter(include_in_schema=False)


def decimal_of(form: dict, name: str, what: str, example: str) -> str:
    # No comma is taken as a thousands separator here: "0,0416" typed for a unit price must
    # be refused, not read as 416.
    text = str(form.get(name, "")).strip()
    try:
        if not Decimal(text).is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise Typed(f"{what}: {form.get(name, '')!r} is not a number (write it as {example})") from None
    return text


def whole_number_of(form: dict, name: str, what: str) -> int:
    text = str(form.get(name, "")).strip()
    if not text.isdigit():
        raise Typed(f"{what}: {form.get(name, '')!r} is not a whole number of 0 or more")
    return int(text)


def day_of(form: dict, name: str, what: str) -> date:
    try:
        return date.fromisoformat(str(form.get(name, "")))
    except ValueError:
        raise Typed(f"{what}: {form.get(name, '')!r} is not a day (YYYY-MM-DD)") from None


def text_of(form: dict, name: str) -> str:
    return str(form.get(name, "")).strip()


# --- a new account ------------------------------------------------------------------------

@router.get("/accounts/new", response_class=HTMLResponse)
def new_account_form(request: Request) -> HTMLResponse:
    staff = signed_in(request)
    staff.require(needs(accounts.open_account))
    return page(request, "new_account.html", staff, form={}, error=None)


def opening_of(form: dict) -> accounts.OpenAccount:
    return accounts.OpenAccount(
        customer_id=text_of(form, "customer_id"), name=text_of(form, "name"),
        currency=text_of(form, "currency").upper(),
        payment_terms_days=whole_number_of(form, "payment_terms_days", "payment terms"),
        tax_rate=decimal_of(form, "tax_rate", "tax rate", "20 or 7.7"),
    )


@router.post("/accounts")
async def open_account(request: Request):
    return await posted(request, _open_account)


def _open_account(request: Request, staff: session.Staff, form: dict):
    staff.require(needs(accounts.open_account))
    try:
        body = opening_of(form)
        opened = accounts.open_account(body, acting_as(request, staff)).changed
    except (Typed, ValidationError, LedgerError) as error:
        message = one_line(error) if isinstance(error, ValidationError) else str(error)
        status = 403 if isinstance(error, PermissionDenied) else 422
        return page(request, "new_account.html", staff, status, form=form, error=message)
    return done(request, f"/customers/{body.customer_id}",
                f"Account {body.customer_id} opened." if opened else
                f"Account {body.customer_id} was opened before with these terms; nothing changed.")


# --- a new subscription -------------------------------------------------------------------

def subscription_of(form: dict) -> accounts.MeteredSubscription | accounts.SeatSubscription:
    common = {"subscription_id": text_of(form, "subscription_id"), "product": text_of(form, "product")}
    if form.get("kind") == "seats":
        return accounts.SeatSubscription(
            kind="seats", **common, seats=whole_number_of(form, "seats", "seats"),
            price_per_seat=decimal_of(form, "price_per_seat", "price per seat", "33.00"),
            starts_on=day_of(form, "starts_on", "starts on"))
    if form.get("kind") == "metered":
        return accounts.MeteredSubscription(
            kind="metered", **common, meter=text_of(form, "meter"), unit=text_of(form, "unit"),
            unit_price=decimal_of(form, "unit_price", "unit price", "0.0416"),
            markup_percent=decimal_of(form, "markup_percent", "markup", "10 or -5") if text_of(form, "markup_percent") else "0")
    raise Typed(f"kind: {form.get('kind')!r} is not a kind of subscription (seats or metered)")


@router.post("/customers/{customer_id}/subscriptions")
async def add_subscription(request: Request, customer_id: str):
    def call(f, by, currency):
        f["changed"] = accounts.add_subscription(customer_id, subscription_of(f), by).changed

    return await on_customer(
        request, customer_id, accounts.add_subscription, call,
        lambda f: (f"Subscription {text_of(f, 'subscription_id')} added." if f["changed"] else
                   f"Subscription {text_of(f, 'subscription_id')} was added before; nothing changed."))

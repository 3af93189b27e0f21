"""The console's forms (POST): each calls the API's own endpoint function with the signed-in
staff member as its actor, after the same permission check the API makes (web.needs reads
it from the endpoint). A success goes back to the page with a one-line confirmation; a
refusal shows the page again with the one-line error and what was typed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from domain.errors import InvalidCommand, LedgerError, PermissionDenied, UnknownCustomer
from domain.money import minor_units_exactly
from service.auth import Acting, context
from service.console import explanations as say
from service.console import session
from service.console.support_page import customer_page
from service.console.web import done, needs, new_id, page, principal_of, today_of
from service.errors import ServiceError
from service.routes import billing, cases, collections
from service.threads import in_thread
from service.values import Money

router = APIRouter(include_in_schema=False)


class Typed(Exception):
    """What was typed cannot be a command (an amount that is not one, say)."""


async def form_of(request: Request, staff: session.Staff | None) -> dict[str, Any]:
    form = await request.form()
    session.check_csrf(request, form, staff)
    return {k: (v if len(form.getlist(k)) == 1 else form.getlist(k)) for k, v in form.items()}


def _amount(text: str, currency: str) -> Money:
    try:
        return Money(amount=minor_units_exactly(Decimal(text.replace(",", "").strip()), currency), currency=currency)
    except (InvalidOperation, ValueError):
        raise Typed(f"{text!r} is not an amount (write it as 74.80)") from None


def one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'form'}: {first['msg']}"


def acting_as(request: Request, staff: session.Staff) -> Acting:
    ctx = context(request)
    return Acting.of(ctx, staff.user)


async def posted(request: Request, work: Callable[..., Any], *args: Any):
    """A form posted by the signed-in staff member, its CSRF token checked, then
    `work(request, staff, form, *args)`. Only reading the form is async: the ledger's work
    runs in the thread pool, as the API's (sync) endpoints do, so that one slow command does
    not hold up every other page."""
    staff = await in_thread(session.staff_of, request)
    form = await form_of(request, staff)
    return await in_thread(work, request, staff, form, *args)


async def on_customer(request: Request, customer_id: str, handler: Callable, call: Callable[[dict, Acting, str], Any],
                      confirmation: Callable[[dict], str], explain: Callable[[dict, LedgerError, Any], str] | None = None):
    """One form about one customer: checked, run, confirmed or refused with what was typed."""
    return await posted(request, _on_customer, customer_id, handler, call, confirmation, explain)


def _on_customer(request: Request, staff: session.Staff, form: dict, customer_id: str, handler: Callable,
                 call: Callable, confirmation: Callable, explain: Callable | None):
    staff.require(needs(handler))
    try:
        account = context(request).ledger.get_account(customer_id)
    except UnknownCustomer as unknown:
        raise session.Refused(404, str(unknown)) from None
    try:
        call(form, acting_as(request, staff), account.currency)
    except Typed as error:
        return customer_page(request, staff, customer_id, 422, str(error), form)
    except ValidationError as error:
        return customer_page(request, staff, customer_id, 422, one_line(error), form)
    except LedgerError as error:
        message = (explain and explain(form, error, account)) or str(error)
        return customer_page(request, staff, customer_id, 403 if isinstance(error, PermissionDenied) else 422, message, form)
    return done(request, f"/customers/{customer_id}", confirmation(form))


@router.post("/customers/{customer_id}/payments")
async def record_payment(request: Request, customer_id: str):
    def call(f, by, currency):
        body = billing.ReceivePayment(payment_id=f.get("payment_id") or new_id("PAY"), amount=_amount(f.get("amount", ""), currency),
                                      method=f.get("method") or "transfer", reference=f.get("reference", ""),
                                      invoice_number=f.get("invoice_number") or None)
        billing.receive_payment(request.path_params["customer_id"], body, by)
    return await on_customer(request, customer_id, billing.receive_payment, call,
                             lambda f: f"Payment of {f['amount']} recorded.")


@router.post("/customers/{customer_id}/payments/{payment_id}/reversal")
async def reverse_payment(request: Request, customer_id: str, payment_id: str):
    return await on_customer(
        request, customer_id, billing.reverse_payment,
        lambda f, by, c: billing.reverse_payment(customer_id, payment_id, billing.ReversePayment(reason=f.get("reason", "")), by),
        lambda f: f"Payment {payment_id} reversed.")


@router.post("/customers/{customer_id}/refunds")
async def refund(request: Request, customer_id: str):
    def call(f, by, currency):
        f["refund_id"] = f.get("refund_id") or new_id("REF")  # the form's own, else new
        billing.refund(customer_id, billing.Refund(refund_id=f["refund_id"],
                                                   amount=_amount(f.get("refund_amount", ""), currency)), by)
    return await on_customer(request, customer_id, billing.refund, call,
                             lambda f: f"Refund of {f['refund_amount']} recorded.", _refund_in_money)


def _refund_in_money(form: dict, error: LedgerError, account) -> str | None:
    if not isinstance(error, InvalidCommand):
        return None
    amount = _amount(form.get("refund_amount", ""), account.currency).amount  # it was an amount: the ledger refused it
    if amount > account.credit_balance:
        return say.refund_exceeds_credit(form["refund_id"], amount, account.credit_balance, account.currency)
    return None


def _credit_note_in_money(form: dict, error: LedgerError, account) -> str | None:
    invoice = account.invoices.get(form.get("invoice_number", ""))
    if not isinstance(error, InvalidCommand) or invoice is None:
        return None
    try:
        amount = _amount(form.get("credit_amount", ""), account.currency).amount
    except Typed:
        return None
    if amount > invoice.open_amount:
        return say.credit_note_exceeds_open(form.get("credit_note_id") or "", amount, invoice.number,
                                            invoice.open_amount, account.currency)
    return None


@router.post("/customers/{customer_id}/credit-notes")
async def credit_note(request: Request, customer_id: str):
    def call(f, by, currency):
        f["credit_note_id"] = f.get("credit_note_id") or new_id("CN")  # the form's own, else new
        billing.issue_credit_note(customer_id, billing.IssueCreditNote(
            credit_note_id=f["credit_note_id"], invoice_number=f.get("invoice_number", ""),
            amount=_amount(f.get("credit_amount", ""), currency), reason=f.get("credit_reason", "")), by)
    return await on_customer(request, customer_id, billing.issue_credit_note, call,
                             lambda f: f"Credit note of {f['credit_amount']} issued on {f['invoice_number']}.",
                             _credit_note_in_money)


@router.post("/customers/{customer_id}/hold")
async def place_hold(request: Request, customer_id: str):
    def call(f, by, currency):
        try:
            until = date.fromisoformat(f.get("hold_until", ""))
        except ValueError:
            raise Typed(f"until: {f.get('hold_until')!r} is not a day (YYYY-MM-DD)") from None
        collections.place_hold(customer_id, collections.PlaceHold(kind=f.get("hold_kind"), until=until,
                                                                  reason=f.get("hold_reason", "")), by)
    return await on_customer(request, customer_id, collections.place_hold, call,
                             lambda f: f"Collections on hold until {f['hold_until']}.")


@router.post("/customers/{customer_id}/hold/release")
async def release_hold(request: Request, customer_id: str):
    return await on_customer(
        request, customer_id, collections.release_hold,
        lambda f, by, c: collections.release_hold(customer_id, collections.ReleaseHold(reason=f.get("reason", "")), by),
        lambda f: "Hold released.")


def listed(form: dict, name: str) -> list[str]:
    """A field a form may give several times (checkboxes): always a list."""
    value = form.get(name) or []
    return [value] if isinstance(value, str) else value


async def by_hand(request: Request, customer_id: str, handler: Callable, confirmation: str):
    """Suspension or reinstatement by hand: all subscriptions, or those ticked, with a reason."""
    return await on_customer(
        request, customer_id, handler,
        lambda f, by, c: handler(customer_id, collections.BySubscription(
            subscription_ids=listed(f, "subscription_ids") or None, reason=f.get("reason", "")), by),
        lambda f: confirmation)


@router.post("/customers/{customer_id}/suspension")
async def suspend(request: Request, customer_id: str):
    return await by_hand(request, customer_id, collections.suspend, "Suspended.")


@router.post("/customers/{customer_id}/reinstatement")
async def reinstate(request: Request, customer_id: str):
    return await by_hand(request, customer_id, collections.reinstate, "Reinstated.")


# --- support cases ------------------------------------------------------------------------

@router.post("/customers/{customer_id}/cases")
async def open_case(request: Request, customer_id: str):
    def call(f, by, currency):
        cases.open_case(cases.OpenCase(case_id=f.get("case_id") or new_id("CASE"), customer_id=customer_id, category=f.get("category"),
                                       subject=f.get("subject", ""), about=listed(f, "about")), by)
    return await on_customer(request, customer_id, cases.open_case, call, lambda f: "Case opened.")


CASE_WORK = {
    "notes": (cases.add_note, lambda f: cases.CaseNote(note=f.get("note", "")), "Note added."),
    "escalation": (cases.escalate_case, lambda f: cases.Escalation(vendor_ticket=f.get("vendor_ticket") or None),
                   "Escalated to the vendor's support."),
    "resolution": (cases.resolve, lambda f: cases.Resolution(resolution=f.get("resolution", "")), "Case resolved."),
    "reopening": (cases.reopen, lambda f: cases.Reopening(reason=f.get("reason", "")), "Case reopened."),
}


@router.post("/customers/{customer_id}/cases/{case_id}/{work}")
async def work_on_case(request: Request, customer_id: str, case_id: str, work: str):
    if work not in CASE_WORK:
        return page(request, "message.html", None, 404, message=f"no such work on a case: {work}")
    handler, body, confirmation = CASE_WORK[work]
    return await on_customer(request, customer_id, handler, lambda f, by, c: handler(case_id, body(f), by),
                             lambda f: f"{case_id}: {confirmation}")


# --- collections run, sign-in, preferences ---------------------------------------------------

@router.post("/collections/runs")
async def run_collections(request: Request):
    return await posted(request, _run_collections)


def _run_collections(request: Request, staff: session.Staff, form: dict):
    """Today's collections run, started as the API starts it (a job of the server: 202 and
    its id there); its page follows the progress and shows the summary at the end."""
    staff.require(needs(collections.run_collections))
    try:
        started = collections.run_collections(collections.CollectionsRun(as_of=today_of(request)), request, Response(),
                                              principal_of(staff))
    except (LedgerError, ServiceError) as error:
        return done(request, "/collections", f"the collections run was not started: {_detail(error)}")
    return RedirectResponse(f"/collections/runs/{started.run_id}", status_code=303)


def _detail(error: Exception) -> str:
    return str(error.detail if isinstance(error, ServiceError) else error)


@router.post("/sign-in")
async def sign_in(request: Request):
    form = await form_of(request, None)
    user = str(form.get("user", ""))[:128]
    try:
        secret = session.sign_in(request, user, str(form.get("password", ""))[:1024])
    except ServiceError as error:  # a wrong password, or throttled: the form again, one line
        detail = error.detail
        token = session.new_sign_in_token()
        response = page(request, "sign_in.html", None, 401, csrf=token, why=detail, user=user)
        session.set_cookie(request, response, session.SIGN_IN_COOKIE, token, max_age=3600)
        return response
    response = RedirectResponse("/", status_code=303)
    session.set_cookie(request, response, session.COOKIE, secret)
    response.delete_cookie(session.SIGN_IN_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request):
    staff = session.staff_of(request, one_time_password=True)
    await form_of(request, staff)
    session.sign_out(request, staff)
    response = RedirectResponse("/sign-in?why=signed+out", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


@router.post("/preferences/time-zone")
async def time_zone(request: Request):
    from zoneinfo import available_timezones

    staff = session.staff_of(request)
    form = await form_of(request, staff)
    zone = str(form.get("time_zone", ""))
    if zone not in available_timezones():
        return done(request, "/", f"{zone!r} is not a time zone (e.g. Europe/Berlin)")
    session.set_time_zone(request, staff, zone)
    return done(request, "/", f"Dates are shown in {zone}.")

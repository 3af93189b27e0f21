"""The console's pages (GET): sign-in, customer search, the support view of one customer,
an invoice to print, the collections preview and the ageing chart."""

from __future__ import annotations

import os
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from domain.roles import Permission
from ledger.runs import COLLECTIONS_RUN
from projections.collections import COLLECTIONS_VIEW
from service import values
from service.auth import context
from service.console import charts, preview, reads
from service.console.session import SIGN_IN_COOKIE, new_sign_in_token, set_cookie
from service.console.support_page import customer_page
from service.console.web import page, signed_in, today_of

router = APIRouter(include_in_schema=False)
PREVIEW_PAGE = 50  # accounts previewed per page: each is the domain's run on the account, loaded from the store


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, why: str = "", user: str = "") -> HTMLResponse:
    token = new_sign_in_token()
    response = page(request, "sign_in.html", None, csrf=token, why=why, user=user)
    set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, customer: str = "") -> HTMLResponse:
    staff = signed_in(request)
    if not staff.may(Permission.READ_BILLING_VIEWS) and staff.may(Permission.MANAGE_USERS):
        return RedirectResponse("/staff", status_code=303)  # a user management admin's page
    staff.require(Permission.READ_BILLING_VIEWS)
    found = reads.search(request, customer.strip(), today_of(request)) if customer.strip() else []
    return page(request, "search.html", staff, customer=customer, found=found)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(request: Request, customer_id: str) -> HTMLResponse:
    return customer_page(request, signed_in(request), customer_id)


@router.get("/customers/{customer_id}/invoices/{number}", response_class=HTMLResponse)
def invoice(request: Request, customer_id: str, number: str) -> HTMLResponse:
    staff = signed_in(request)
    ctx = context(request)
    staff.require(Permission.READ_BILLING_VIEWS)
    rows = [r for r in reads.invoices(request, customer_id, today_of(request)) if r["invoice_number"] == number]
    account = ctx.ledger.get_account(customer_id)
    if not rows:
        return page(request, "message.html", staff, 404, message=f"no invoice {number} of {customer_id} is projected yet")
    return page(request, "invoice.html", staff, invoice=rows[0], account=account,
                reseller=reseller(),
                credit_notes=[(cn, amount) for cn, (n, amount) in account.credit_notes.items() if n == number])


def reseller() -> str:
    """Who sends the invoice: set as the partner's support plan is, in the environment."""
    return os.environ.get("LEDGER_RESELLER_DETAILS") or "(set LEDGER_RESELLER_DETAILS: the reseller's name and address)"


@router.get("/collections", response_class=HTMLResponse)
def collections(request: Request, on: date | None = None, after: str = "") -> HTMLResponse:
    staff = signed_in(request)
    staff.require(Permission.RUN_COLLECTIONS)
    day = on or today_of(request)
    accounts = reads.collections_candidates(request, day, after, PREVIEW_PAGE + 1)
    shown, more = accounts[:PREVIEW_PAGE], len(accounts) > PREVIEW_PAGE
    plan = preview.run_plan(context(request).ledger, day, staff.user, shown)
    return page(request, "collections.html", staff, plan=plan, on=day, after=after,
                next_after=shown[-1] if more else None, first=shown[0] if shown else None,
                last=shown[-1] if shown else None)


@router.get("/collections/runs/{run_id}", response_class=HTMLResponse)
def collections_run(request: Request, run_id: str) -> HTMLResponse:
    """A collections run started from the console: its progress while it runs (the page
    polls itself), its summary at the end; the same report as GET /v1/collections/runs/{id}."""
    staff = signed_in(request)
    staff.require(Permission.RUN_COLLECTIONS)
    run = context(request).runs.report(run_id, COLLECTIONS_RUN)
    if run is None:
        return page(request, "message.html", staff, 404, message=f"no collections run {run_id}")
    return page(request, "collections_run.html", staff, run=run, as_of=date.fromisoformat(run["parameters"]["as_of"]),
                actions=preview.actions_in_words(run["summary"]["actions"]))


@router.get("/ageing", response_class=HTMLResponse)
def ageing(request: Request, bucket: str = "", currency: str = "", after: str = "") -> HTMLResponse:
    staff = signed_in(request)
    staff.require(Permission.READ_BILLING_VIEWS)
    by_currency = reads.ageing(request, today_of(request))
    charts_ = {c: charts.ageing_svg(c, bars) for c, bars in by_currency.items()}
    chosen = next((b for b in by_currency.get(currency, []) if b.bucket == bucket), None)
    behind = reads.customers_in_bucket(request, today_of(request), currency, bucket, after, reads.PAGE + 1) \
        if chosen and chosen.customers else []
    return page(request, "ageing.html", staff, by_currency=by_currency, charts=charts_, chosen=chosen, currency=currency,
                **paged(behind, after))


@router.get("/collection-statuses", response_class=HTMLResponse)
def collection_statuses(request: Request, status: str = "", after: str = "") -> HTMLResponse:
    staff = signed_in(request)
    staff.require(COLLECTIONS_VIEW.permission)
    bars = reads.collection_statuses(request, today_of(request))
    chosen = next((b for b in bars if b.bucket == status), None)
    behind = reads.customers_in_status(request, today_of(request), status, after, reads.PAGE + 1) \
        if chosen and chosen.customers else []
    return page(request, "collection_statuses.html", staff, bars=bars, chart=charts.statuses_svg(bars), chosen=chosen,
                **paged(behind, after))


def paged(rows: list[dict], after: str) -> dict:
    """A page of the customers behind a bar (one more was read: there is a next page)."""
    page_of = values.paged(rows, reads.PAGE, lambda row: row["customer_id"])
    return {"behind": page_of["data"], "after": after, "next_after": page_of["next"]}

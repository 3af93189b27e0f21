"""The collections run, and holds on an account."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Literal

from fastapi import Depends, Request, Response
from pydantic import Field

from domain.bounds import check_business_time
from domain.roles import Permission
from service.auth import Acting, Principal, acting, context, current_principal, endpoint
from ledger.runs import COLLECTIONS_RUN, RunSpec
from service.routes import new_router, runs
from service.values import Changed, Command, Strict

router = new_router("collections")


class CollectionsRun(Strict):
    as_of: date = Field(description="the day the policy is applied for (its business time: the day's start, UTC)")
    workers: int | None = runs.WORKERS


class PlaceHold(Command):
    kind: Literal["promise-to-pay", "dispute"]
    until: date
    reason: str


class ReleaseHold(Command):
    reason: str


class CollectionsChange(Changed):
    customer_id: str


@endpoint(router, "POST", "/collections/runs", needs=Permission.RUN_COLLECTIONS, response_model=runs.RunStarted,
          status_code=202, summary="start the collections run over every account (a job: follow its url; run again "
          "the same day, it emits nothing more)")
def run_collections(body: CollectionsRun, request: Request, response: Response,
                    who: Principal = Depends(current_principal)) -> runs.RunStarted:
    ctx = context(request)
    at = check_business_time(datetime.combine(body.as_of, time(), timezone.utc), "as_of", now=ctx.clock())
    spec = RunSpec(COLLECTIONS_RUN, who.id, at)
    return runs.start(request, response, spec, {"as_of": body.as_of.isoformat()}, body.workers, "/collections/runs")


runs.run_endpoints(router, COLLECTIONS_RUN, "/collections/runs", Permission.RUN_COLLECTIONS)


@endpoint(router, "PUT", "/customers/{customer_id}/hold", needs=Permission.RUN_COLLECTIONS, response_model=CollectionsChange,
          summary="pause reminders and suspension until a day (the same hold again changes nothing)")
def place_hold(customer_id: str, body: PlaceHold, by: Acting = Depends(acting)) -> CollectionsChange:
    placed = by.ledger.place_hold(customer_id, body.kind, body.until, body.reason, **by.at(body.at))
    return CollectionsChange(customer_id=customer_id, changed=placed)


@endpoint(router, "POST", "/customers/{customer_id}/hold/release", needs=Permission.RUN_COLLECTIONS,
          response_model=CollectionsChange, summary="end the account's hold (none: nothing changes)")
def release_hold(customer_id: str, body: ReleaseHold, by: Acting = Depends(acting)) -> CollectionsChange:
    released = by.ledger.release_hold(customer_id, body.reason, **by.at(body.at))
    return CollectionsChange(customer_id=customer_id, changed=released)


class WriteOff(Command):
    reason: str


class WriteOffChange(Changed):
    customer_id: str
    invoice_number: str


class BySubscription(Command):
    subscription_ids: list[str] | None = Field(None, description="none: all (suspend) or all suspended (reinstate)")
    reason: str


@endpoint(router, "POST", "/customers/{customer_id}/invoices/{invoice_number}/write-off",
          needs=Permission.RUN_COLLECTIONS, response_model=WriteOffChange,
          summary="write off what an invoice holds open (again: nothing changes)")
def write_off(customer_id: str, invoice_number: str, body: WriteOff, by: Acting = Depends(acting)) -> WriteOffChange:
    written_off = by.ledger.write_off(customer_id, invoice_number, body.reason, **by.at(body.at))
    return WriteOffChange(customer_id=customer_id, invoice_number=invoice_number, changed=written_off)


@endpoint(router, "POST", "/customers/{customer_id}/suspension", needs=Permission.SUSPEND_AND_REINSTATE,
          response_model=CollectionsChange, summary="suspend subscriptions by hand (all, or those named)")
def suspend(customer_id: str, body: BySubscription, by: Acting = Depends(acting)) -> CollectionsChange:
    suspended = by.ledger.suspend(customer_id, body.subscription_ids or None, body.reason, **by.at(body.at))
    return CollectionsChange(customer_id=customer_id, changed=suspended)


@endpoint(router, "POST", "/customers/{customer_id}/reinstatement", needs=Permission.SUSPEND_AND_REINSTATE,
          response_model=CollectionsChange, summary="reinstate subscriptions by hand (all suspended, or those named)")
def reinstate(customer_id: str, body: BySubscription, by: Acting = Depends(acting)) -> CollectionsChange:
    reinstated = by.ledger.reinstate(customer_id, body.subscription_ids or None, body.reason, **by.at(body.at))
    return CollectionsChange(customer_id=customer_id, changed=reinstated)

"""The collections run, and holds on an account."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from domain.bounds import check_business_time
from domain.roles import Permission
from service.auth import Principal, context, current_principal, endpoint
from service.routes import new_router
from service.values import Changed, Command, Strict, business_time

router = new_router("collections")


class CollectionsRun(Strict):
    as_of: date = Field(description="the day the policy is applied for (its business time: the day's start, UTC)")


class AccountActions(BaseModel):
    customer_id: str
    events: list[str] = Field(description="what the account got: ReminderSent, SubscriptionsSuspended...")


class CollectionsRunResult(BaseModel):
    as_of: date
    accounts: list[AccountActions] = Field(description="the accounts that had something due")


class PlaceHold(Command):
    kind: Literal["promise-to-pay", "dispute"]
    until: date
    reason: str


class ReleaseHold(Command):
    reason: str


class HoldChange(Changed):
    customer_id: str


@endpoint(router, "POST", "/collections/runs", needs=Permission.RUN_COLLECTIONS, response_model=CollectionsRunResult,
          summary="run the collections policy over every account (safe to retry with Idempotency-Key)")
def run_collections(body: CollectionsRun, request: Request,
                    who: Principal = Depends(current_principal)) -> CollectionsRunResult:
    ctx = context(request)
    at = check_business_time(datetime.combine(body.as_of, time(), timezone.utc), "as_of", now=ctx.clock())
    done = ctx.ledger.collect(at=at, actor=who.id)
    return CollectionsRunResult(as_of=body.as_of, accounts=[AccountActions(customer_id=c, events=e) for c, e in done.items()])


@endpoint(router, "PUT", "/customers/{customer_id}/hold", needs=Permission.RUN_COLLECTIONS, response_model=HoldChange,
          summary="pause reminders and suspension until a day (the same hold again changes nothing)")
def place_hold(customer_id: str, body: PlaceHold, request: Request,
               who: Principal = Depends(current_principal)) -> HoldChange:
    ctx = context(request)
    placed = ctx.ledger.place_hold(customer_id, body.kind, body.until, body.reason,
                                   at=business_time(body.at, ctx.clock()), actor=who.id)
    return HoldChange(customer_id=customer_id, changed=placed)


@endpoint(router, "POST", "/customers/{customer_id}/hold/release", needs=Permission.RUN_COLLECTIONS,
          response_model=HoldChange, summary="end the account's hold (none: nothing changes)")
def release_hold(customer_id: str, body: ReleaseHold, request: Request,
                 who: Principal = Depends(current_principal)) -> HoldChange:
    ctx = context(request)
    released = ctx.ledger.release_hold(customer_id, body.reason, at=business_time(body.at, ctx.clock()), actor=who.id)
    return HoldChange(customer_id=customer_id, changed=released)

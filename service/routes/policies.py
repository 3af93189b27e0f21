"""The published collections policies: read one, publish one."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from domain.errors import InvalidCommand
from domain.policy import CollectionsPolicy
from domain.roles import Permission
from service.auth import Acting, acting, context, endpoint
from service.errors import ServiceError
from service.routes import new_router
from service.values import Changed, Command, DecimalString

router = new_router("policies")


class Policy(BaseModel):
    name: str
    grace_days: int = Field(description="days after the due date before an invoice counts as overdue")
    reminder_days: list[int] = Field(description="days past due of each reminder step")
    suspend_after_days: int = Field(description="days past due at which access is suspended...")
    suspend_min_overdue: DecimalString = Field(description="...if at least this much (major units) is overdue")
    scope: Literal["subscription", "account"]
    vendor_deprovision_days: int
    warn_days_before_deprovision: int
    write_off_after_days: int
    resuspend_on_reversal: bool


class PolicyTerms(Command):
    """The terms to change; those not given stay as published (a new policy starts from the defaults)."""

    grace_days: int | None = None
    reminder_days: list[int] | None = None
    suspend_after_days: int | None = None
    suspend_min_overdue: DecimalString | None = None
    scope: Literal["subscription", "account"] | None = None
    vendor_deprovision_days: int | None = None
    warn_days_before_deprovision: int | None = None
    write_off_after_days: int | None = None
    resuspend_on_reversal: bool | None = None


class PolicyChange(Changed):
    name: str


def policy_out(policy: CollectionsPolicy) -> Policy:
    return Policy(**{**policy.as_terms(), "suspend_min_overdue": str(policy.suspend_min_overdue)})


@endpoint(router, "GET", "/policies/{name}", needs=Permission.READ_BILLING_VIEWS, response_model=Policy,
          summary="a collections policy's terms")
def show_policy(name: str, request: Request) -> Policy:
    try:
        return policy_out(context(request).ledger.policy_book().policy(name))
    except InvalidCommand:
        raise ServiceError(404, "unknown_policy", f"there is no collections policy {name!r}", name=name) from None


@endpoint(router, "PUT", "/policies/{name}", needs=Permission.CHANGE_COLLECTIONS_POLICY, response_model=PolicyChange,
          summary="publish a collections policy with the terms given (the same terms again change nothing)")
def publish_policy(name: str, body: PolicyTerms, by: Acting = Depends(acting)) -> PolicyChange:
    try:
        current = by.ledger.policy_book().policy(name)
    except InvalidCommand:
        current = CollectionsPolicy(name=name)
    changes = body.model_dump(exclude_none=True, exclude={"at"})
    if "reminder_days" in changes:
        changes["reminder_days"] = tuple(changes["reminder_days"])
    if "suspend_min_overdue" in changes:
        changes["suspend_min_overdue"] = Decimal(changes["suspend_min_overdue"])
    published = by.ledger.publish_policy(dataclasses.replace(current, **changes), **by.at(body.at))
    return PolicyChange(name=name, changed=published)

"""Staff users, their roles and their passwords."""

from __future__ import annotations

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from domain.errors import PermissionDenied
from domain.roles import Permission, Role
from service import access
from service.auth import SIGNED_IN_ONE_TIME, Acting, Principal, acting, context, current_principal, endpoint
from service.credentials import check_staff_id
from service.errors import ServiceError
from service.routes import new_router
from service.routes.sessions import check_password
from service.values import Changed, Command, Strict, paged

router = new_router("staff")


class StaffUser(BaseModel):
    user: str
    roles: list[Role]


class StaffPage(BaseModel):
    data: list[StaffUser]
    has_more: bool
    next: str | None


class RoleChange(Command):
    pass


class NewPassword(Strict):
    password: str = Field(description="12 to 256 characters", max_length=1024)
    current_password: str | None = Field(None, max_length=1024, description="required to change your own")


@endpoint(router, "GET", "/staff", needs=Permission.MANAGE_USERS, response_model=StaffPage,
          summary="staff users and their roles")
def list_staff(request: Request, limit: int = Query(100, ge=1, le=500), starting_after: str | None = None) -> StaffPage:
    directory = context(request).ledger.staff_directory()
    users = sorted(u for u in directory.roles if starting_after is None or u > starting_after)[: limit + 1]
    return StaffPage(**paged([StaffUser(user=u, roles=sorted(directory.roles_of(u))) for u in users], limit,
                             lambda staff: staff.user))


def _role_change(method: str):
    def change(user: str, role: Role, body: RoleChange | None = None, by: Acting = Depends(acting)) -> Changed:
        return Changed(changed=getattr(by.ledger, method)(user, role, **by.at(body.at if body else None)))

    return change


endpoint(router, "PUT", "/staff/{user}/roles/{role}", needs=Permission.MANAGE_USERS, response_model=Changed,
         summary="grant a role (global-admin only by a global admin)")(_role_change("grant_role"))
endpoint(router, "DELETE", "/staff/{user}/roles/{role}", needs=Permission.MANAGE_USERS, response_model=Changed,
         summary="revoke a role (never the last global admin)")(_role_change("revoke_role"))


@endpoint(router, "PUT", "/staff/{user}/password", needs=SIGNED_IN_ONE_TIME, response_model=Changed,
          summary="set a password: your own (with the current one), or another's as a one-time password "
          "(needs 'grant and revoke roles')")
def set_password(user: str, body: NewPassword, request: Request, who: Principal = Depends(current_principal)) -> Changed:
    ctx = context(request)
    own = user == who.id
    if own:
        if body.current_password is None:
            raise ServiceError(400, "malformed_request", "give current_password to change your own password",
                               field="current_password")
        check_password(request, who.id, body.current_password, "the current password is wrong")
    else:
        ctx.ledger.authorize(who.id, Permission.MANAGE_USERS)
        if who.must_change_password:
            raise PermissionDenied(who.id, "set another's password before choosing your own", ["a one-time password"])
    access.set_password(ctx.credentials, ctx.access, check_staff_id(user), body.password, one_time=not own,
                        at=ctx.clock(), actor=who.id, keep_session=who.token_id if own else None)
    return Changed(changed=True)

"""Staff roles as a partner centre knows them, what each may do, and who holds which.

The permission matrix is data: the README prints it from here (`ledger roles`).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.errors import InvalidCommand, PermissionDenied, choice_of


class Role(str, Enum):
    GLOBAL_ADMIN = "global-admin"
    USER_MANAGEMENT_ADMIN = "user-management-admin"
    HELPDESK_AGENT = "helpdesk-agent"
    BILLING_ADMIN = "billing-admin"
    SALES_AGENT = "sales-agent"


class Permission(str, Enum):
    OPEN_ACCOUNTS = "open accounts"
    CHANGE_ACCOUNTS = "change billing profiles, close accounts"
    CHANGE_SUBSCRIPTIONS = "add and change subscriptions"
    RECORD_USAGE = "record usage by hand"
    ISSUE_INVOICES = "close billing periods (issue invoices)"
    RECORD_PAYMENTS = "record, reverse and refund payments"
    ISSUE_CREDIT_NOTES = "issue credit notes"
    RUN_COLLECTIONS = "run collections, place holds, write off"
    SUSPEND_AND_REINSTATE = "suspend and reinstate by hand"
    CHANGE_COLLECTIONS_POLICY = "change the collections policy"
    WORK_SUPPORT_CASES = "open, note, escalate and resolve support cases"
    MANAGE_USERS = "grant and revoke roles"
    READ_BILLING_VIEWS = "read balances, invoices and collection status"
    READ_SUPPORT_VIEW = "read the support view"
    PUBLISH_USAGE = "publish usage over HTTP (what service tokens may do)"


_GA, _UMA, _HA, _BA, _SA = Role
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.OPEN_ACCOUNTS: frozenset({_GA, _BA, _SA}),
    Permission.CHANGE_ACCOUNTS: frozenset({_GA, _BA}),
    Permission.CHANGE_SUBSCRIPTIONS: frozenset({_GA, _BA, _SA}),
    Permission.RECORD_USAGE: frozenset({_GA, _BA}),
    Permission.ISSUE_INVOICES: frozenset({_GA, _BA}),
    Permission.RECORD_PAYMENTS: frozenset({_GA, _BA}),
    Permission.ISSUE_CREDIT_NOTES: frozenset({_GA, _BA}),
    Permission.RUN_COLLECTIONS: frozenset({_GA, _BA}),
    Permission.SUSPEND_AND_REINSTATE: frozenset({_GA, _BA}),
    Permission.CHANGE_COLLECTIONS_POLICY: frozenset({_GA, _BA}),
    Permission.WORK_SUPPORT_CASES: frozenset({_GA, _HA, _BA}),
    Permission.MANAGE_USERS: frozenset({_GA, _UMA}),
    Permission.READ_BILLING_VIEWS: frozenset({_GA, _HA, _BA, _SA}),
    Permission.READ_SUPPORT_VIEW: frozenset({_GA, _HA, _BA}),
    Permission.PUBLISH_USAGE: frozenset({_GA, _BA}),
}

# Processes that act on their own (the usage ingest) are actors too, with fixed rights.
SYSTEM_ACTORS: dict[str, frozenset[Permission]] = {
    "system:ingest": frozenset({Permission.RECORD_USAGE}),
}

DIRECTORY_ID = uuid5(NAMESPACE_URL, "billing-ledger:staff-directory")


def parse_role(text: str) -> Role:
    return choice_of(Role, text, "a role", "roles")


class StaffDirectory(Aggregate):
    """Who holds which roles. One directory: role changes are rare and read on every command."""

    class Event(Aggregate.Event):
        actor: str

    class Created(Event, Aggregate.Created):
        pass

    def __init__(self, actor: str):
        self.roles: dict[str, set[Role]] = {}

    @classmethod
    def create(cls, *, at: datetime, actor: str) -> StaffDirectory:
        return cls._create(cls.Created, id=DIRECTORY_ID, timestamp=at, actor=actor)

    def roles_of(self, user_id: str) -> frozenset[Role]:
        return frozenset(self.roles.get(user_id, ()))

    def check_allowed(self, actor: str, permission: Permission) -> None:
        if permission in SYSTEM_ACTORS.get(actor, ()):
            return
        if not self.roles_of(actor) & PERMISSIONS[permission]:
            raise PermissionDenied(actor, permission.value, sorted(r.value for r in self.roles_of(actor)))

    class RoleGranted(Event):
        user_id: str
        role: Role

        def apply(self, directory: StaffDirectory) -> None:
            directory.roles.setdefault(self.user_id, set()).add(Role(self.role))

    class RoleRevoked(Event):
        user_id: str
        role: Role

        def apply(self, directory: StaffDirectory) -> None:
            directory.roles.get(self.user_id, set()).discard(Role(self.role))

    def bootstrap(self, user_id: str, *, at: datetime, actor: str) -> bool:
        """The first global admin, granted by the operator who installs the ledger."""
        self._check_user_id(user_id)
        bounds.check_id(actor, "operator")
        bounds.check_business_time(at, f"staff user {user_id!r}: business time")
        if any(self.roles.values()):
            if Role.GLOBAL_ADMIN in self.roles_of(user_id):
                return False
            raise InvalidCommand("the staff directory already has users; a global admin grants roles")
        self.trigger_event(self.RoleGranted, timestamp=at, actor=actor, user_id=user_id, role=Role.GLOBAL_ADMIN)
        return True

    def grant(self, user_id: str, role: Role, *, at: datetime, actor: str) -> bool:
        self.check_allowed(actor, Permission.MANAGE_USERS)
        self._check_user_id(user_id)
        bounds.check_business_time(at, f"staff user {user_id!r}: business time")
        if role in self.roles_of(user_id):
            return False
        if role is Role.GLOBAL_ADMIN and Role.GLOBAL_ADMIN not in self.roles_of(actor):
            raise PermissionDenied(actor, "grant the global admin role", sorted(r.value for r in self.roles_of(actor)))
        self.trigger_event(self.RoleGranted, timestamp=at, actor=actor, user_id=user_id, role=role)
        return True

    def revoke(self, user_id: str, role: Role, *, at: datetime, actor: str) -> bool:
        self.check_allowed(actor, Permission.MANAGE_USERS)
        bounds.check_business_time(at, f"staff user {user_id!r}: business time")
        if role not in self.roles_of(user_id):
            return False
        if role is Role.GLOBAL_ADMIN:
            if Role.GLOBAL_ADMIN not in self.roles_of(actor):
                raise PermissionDenied(actor, "revoke the global admin role", sorted(r.value for r in self.roles_of(actor)))
            if sum(Role.GLOBAL_ADMIN in roles for roles in self.roles.values()) == 1:
                raise InvalidCommand(f"{user_id!r} is the last global admin; grant another first")
        self.trigger_event(self.RoleRevoked, timestamp=at, actor=actor, user_id=user_id, role=role)
        return True

    @staticmethod
    def _check_user_id(user_id: str) -> None:
        bounds.check_id(user_id, "staff user id")
        if user_id.startswith("system:"):
            raise InvalidCommand(f"{user_id!r} is not a staff user id: system: names a process")

"""Who got access to the ledger, and when: sign-ins, tokens issued and revoked, passwords set.

These events are the audit trail of access, never the secrets themselves: a token's secret
and a password's hash live in the service's own tables (service/credentials.py), where they
can be replaced and erased; the events say who, when and which token id. They are stored
in the event store beside the ledger's, in a log of their own (`access_events`): access is
not a billing fact, so the relay does not publish it to the ledger topic.

One aggregate per token (its id follows from the token id), so that two sign-ins of one
user never contend for an aggregate version; one per user for password changes.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommand

TOKEN_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:access-token")
PASSWORD_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:staff-password")


class TokenKind(str, Enum):
    SESSION = "session"  # made by signing in with a password; ends at sign-out
    PERSONAL = "personal"  # a staff member's API token, for scripts
    SERVICE = "service"  # an upstream system's token: it may publish usage and nothing else


def access_token_id(token_id: str) -> UUID:
    return uuid5(TOKEN_NAMESPACE, token_id)


def staff_password_id(user_id: str) -> UUID:
    return uuid5(PASSWORD_NAMESPACE, user_id)


class AccessToken(Aggregate):
    """A token's life: issued to a principal with an expiry, possibly revoked before it."""

    class Event(Aggregate.Event):
        actor: str
        token_id: str

    class Issued(Event, Aggregate.Created):
        principal: str  # the user (or service) the token authenticates
        kind: str
        name: str
        expires_at: datetime

    def __init__(self, actor: str, token_id: str, principal: str, kind: str, name: str, expires_at: datetime):
        self.token_id = token_id
        self.principal = principal
        self.kind = TokenKind(kind)
        self.name = name
        self.expires_at = expires_at
        self.revoked_at: datetime | None = None

    @classmethod
    def issue(cls, token_id: str, principal: str, kind: TokenKind, name: str, expires_at: datetime,
              *, at: datetime, actor: str) -> AccessToken:
        if expires_at <= at:
            raise InvalidCommand(f"token {token_id!r} would expire ({expires_at.isoformat()}) before it is issued")
        return cls._create(
            cls.Issued, id=access_token_id(token_id), timestamp=at, actor=actor, token_id=token_id,
            principal=principal, kind=kind.value, name=name, expires_at=expires_at,
        )

    class Revoked(Event):
        def apply(self, token: AccessToken) -> None:
            token.revoked_at = self.timestamp

    def revoke(self, *, at: datetime, actor: str) -> bool:
        """Returns False when it was revoked before (a retry)."""
        if self.revoked_at is not None:
            return False
        self.trigger_event(self.Revoked, timestamp=at, actor=actor, token_id=self.token_id)
        return True


class StaffPassword(Aggregate):
    """That a user's password was set, and by whom: the hash itself is not an event."""

    class Event(Aggregate.Event):
        actor: str
        user_id: str

    class Created(Event, Aggregate.Created):
        pass

    def __init__(self, actor: str, user_id: str):
        self.user_id = user_id

    class PasswordSet(Event):
        one_time: bool  # set by someone else (an admin, the bootstrap): the user must change it

    def record_set(self, *, one_time: bool, at: datetime, actor: str) -> None:
        self.trigger_event(self.PasswordSet, timestamp=at, actor=actor, user_id=self.user_id, one_time=one_time)


class AccessLog(Application):
    """The access events, in the event store's schema, in a log (`access_events`) of their own."""

    name = "access"

    def issue_token(self, token_id: str, principal: str, kind: TokenKind, name: str, expires_at: datetime,
                    *, at: datetime, actor: str) -> None:
        self.save(AccessToken.issue(token_id, principal, kind, name, expires_at, at=at, actor=actor))

    def revoke_token(self, token_id: str, *, at: datetime, actor: str) -> bool:
        token: AccessToken = self.repository.get(access_token_id(token_id))
        revoked = token.revoke(at=at, actor=actor)
        self.save(token)
        return revoked

    def record_password_set(self, user_id: str, *, one_time: bool, at: datetime, actor: str) -> None:
        try:
            record: StaffPassword = self.repository.get(staff_password_id(user_id))
        except AggregateNotFoundError:
            record = StaffPassword._create(
                StaffPassword.Created, id=staff_password_id(user_id), timestamp=at, actor=actor, user_id=user_id
            )
        record.record_set(one_time=one_time, at=at, actor=actor)
        self.save(record)

    def token(self, token_id: str) -> AccessToken:
        return self.repository.get(access_token_id(token_id))

"""Each change of access in two places at once: the credential row (service/credentials.py)
and the event that records it (domain/credentials.py). The event is stored inside the row's
transaction: no token is usable, and no password set, that the event store does not show.
(A failure between the event and the row's commit leaves an event for a token no one can
use: the safe side.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.credentials import AccessLog, TokenKind
from service.credentials import CredentialStore, NewToken


def issue_token(credentials: CredentialStore, access: AccessLog, kind: TokenKind, principal: str, name: str,
                lifetime: timedelta, *, at: datetime, actor: str) -> NewToken:
    return credentials.create_token(
        kind, principal, name, actor, at=at, expires_at=at + lifetime,
        transaction=lambda row: access.issue_token(row.token_id, principal, kind, name, row.expires_at, at=at, actor=actor),
    )


def revoke_token(credentials: CredentialStore, access: AccessLog, token_id: str, *, at: datetime, actor: str) -> bool:
    return credentials.revoke_token(token_id, at=at, transaction=lambda: access.revoke_token(token_id, at=at, actor=actor))


def set_password(credentials: CredentialStore, access: AccessLog, user_id: str, password: str, *, one_time: bool,
                 at: datetime, actor: str, keep_session: str | None = None) -> None:
    """Set a password and end the user's sessions (but `keep_session`, the one that changed
    it): whoever signed in with the old password is signed out. Personal tokens stay."""
    credentials.set_password(
        user_id, password, must_change=one_time, at=at,
        transaction=lambda: access.record_password_set(user_id, one_time=one_time, at=at, actor=actor),
    )
    for token_id in credentials.live_sessions(user_id, now=at):
        if token_id != keep_session:
            revoke_token(credentials, access, token_id, at=at, actor=actor)

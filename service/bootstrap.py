"""The first global admin's password, set by the operator (`ledger staff bootstrap USER`)."""

from __future__ import annotations

from datetime import datetime

from ledger.config import Settings
from service.access import set_password
from eventstore.postgres import open_access_log
from service.credentials import CredentialStore, new_password


def first_password(settings: Settings, user_id: str, *, at: datetime, actor: str) -> str | None:
    """A one-time password for a user who has none yet (else None: nothing changes)."""
    store = CredentialStore.open(settings.database_url, pool_size=1)
    access = open_access_log(settings)
    try:
        if store.has_password(user_id):
            return None
        password = new_password()
        set_password(store, access, user_id, password, one_time=True, at=at, actor=actor)
        return password
    finally:
        access.close()
        store.close()

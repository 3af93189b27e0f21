"""Failed sign-ins, counted per user and per address, in PostgreSQL.

After `limit` failures within `window`, further attempts are refused (429, Retry-After)
until the oldest failure leaves the window; a successful sign-in clears the user's count
(not the address's: one address guessing many users stays throttled). The counts are rows
of the credentials schema: every `ledger serve` process (`--workers N`, or several hosts on
one database) counts the same failures, and a restart forgets none.

Only failures are written, and each costs the guesser an Argon2id check first; rows older
than the window are deleted as new ones come, so names sprayed by a guesser do not pile up,
and asking about a name writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from psycopg_pool import ConnectionPool

from readside.roles import CREDENTIALS_SCHEMA

TABLE = f"{CREDENTIALS_SCHEMA}.sign_in_failures"  # made with the credentials' tables (service/credentials.py)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class FailureCounter:
    pool: ConnectionPool  # autocommit connections to the credentials' database
    kind: str  # what the keys are: `user` or `address`
    limit: int
    window: timedelta
    clock: Callable[[], datetime] = utc_now

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        now = self.clock()
        with self.pool.connection() as conn:
            recent = conn.execute(
                f"SELECT count(*) AS failures, min(failed_at) AS oldest FROM {TABLE} WHERE key = %s AND failed_at > %s",
                (self._key(key), now - self.window), prepare=True,
            ).fetchone()
        if recent["failures"] < self.limit:
            return 0
        return max(1, math.ceil((recent["oldest"] + self.window - now).total_seconds()))

    def fail(self, key: str) -> None:
        now = self.clock()
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {TABLE} WHERE failed_at <= %s", (now - self.window,))
            conn.execute(f"INSERT INTO {TABLE} (key, failed_at) VALUES (%s, %s)", (self._key(key), now))

    def clear(self, key: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE key = %s", (self._key(key),))

    def _key(self, key: str) -> str:
        return f"{self.kind}:{key}"


@dataclass
class SignInThrottle:
    per_user: FailureCounter
    per_address: FailureCounter

    @classmethod
    def on(cls, pool: ConnectionPool, clock: Callable[[], datetime] = utc_now) -> SignInThrottle:
        """Five failures per user, twenty per address, within 15 minutes."""
        window = timedelta(minutes=15)
        return cls(FailureCounter(pool, "user", 5, window, clock), FailureCounter(pool, "address", 20, window, clock))

    def retry_after(self, user_id: str, address: str) -> int:
        return max(self.per_user.retry_after(user_id), self.per_address.retry_after(address))

    def failed(self, user_id: str, address: str) -> None:
        self.per_user.fail(user_id)
        self.per_address.fail(address)

    def succeeded(self, user_id: str) -> None:
        self.per_user.clear(user_id)


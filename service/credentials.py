"""Passwords and tokens, in tables of the service's own (schema `ledger_auth`).

Not in the event store: a password hash must be replaceable and erasable, and a token's
row must say "revoked" the moment it is. The event store records that a token was issued
or revoked and that a password was set (domain/credentials.py), never a secret or a hash.

- Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second choice:
  3 passes over 64 MiB); a hash made with older parameters is replaced at the next sign-in.
- A token is `<token id>.<secret>` with 256 random bits of secret; only its SHA-256 is
  kept (a slow hash buys nothing against a secret that cannot be guessed), so a stolen
  table gives no usable token. The token id is not secret: it names the token in lists,
  in the events and in a revocation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.bounds import check_id
from domain.credentials import TokenKind
from domain.errors import InvalidCommand
from readside.roles import CREDENTIALS_SCHEMA

SCHEMA = CREDENTIALS_SCHEMA
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
RESERVED_PREFIXES = ("system:", "service:")  # processes and upstream systems, never staff

TABLES = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.staff_passwords (
    user_id text PRIMARY KEY,
    password_hash text NOT NULL,
    must_change boolean NOT NULL,  -- set by someone else: usable only to choose a new one
    changed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.tokens (
    token_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('session', 'personal', 'service')),
    principal text NOT NULL,
    name text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS tokens_by_creator ON {SCHEMA}.tokens (created_by, token_id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.sign_in_failures (  -- service/throttle.py
    key text NOT NULL,  -- `user:<id>` or `address:<ip>`
    failed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_by_key ON {SCHEMA}.sign_in_failures (key, failed_at);
CREATE INDEX IF NOT EXISTS sign_in_failures_by_age ON {SCHEMA}.sign_in_failures (failed_at);
CREATE TABLE IF NOT EXISTS {SCHEMA}.idempotency_keys (
    scope bytea NOT NULL,  -- SHA-256 of the credential the request came with
    key text NOT NULL,
    fingerprint bytea NOT NULL,  -- SHA-256 of method, path, query and body
    status integer,  -- null while the first request runs
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (  -- bill and collections runs (service/run_jobs.py)
    run_id text PRIMARY KEY,
    kind text NOT NULL,
    actor text NOT NULL,
    parameters jsonb NOT NULL,
    state text NOT NULL,  -- running, done, stopped, failed
    accounts_total integer,
    accounts_done integer NOT NULL DEFAULT 0,
    summary jsonb NOT NULL,
    error text,
    stop_requested boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
"""

_hasher = PasswordHasher()  # Argon2id


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_password() -> str:
    """A one-time password: 144 random bits, typeable."""
    return secrets.token_urlsafe(18)


def check_staff_id(user_id: str) -> str:
    check_id(user_id, "staff user")
    if user_id.startswith(RESERVED_PREFIXES):
        raise InvalidCommand(f"{user_id!r} is not a staff user id: {' and '.join(RESERVED_PREFIXES)} are reserved")
    return user_id


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidCommand(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters; this one has {len(password)}"
        )
    return password


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    kind: TokenKind
    principal: str
    name: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    must_change_password: bool = False

    @classmethod
    def from_row(cls, row: dict) -> TokenRow:
        return cls(**{**row, "kind": TokenKind(row["kind"])})


@dataclass(frozen=True)
class NewToken:
    row: TokenRow
    secret: str  # `<token id>.<secret>`: shown once, kept nowhere


_TOKEN_COLUMNS = "t.token_id, t.kind, t.principal, t.name, t.created_by, t.created_at, t.expires_at, t.revoked_at"


class CredentialStore:
    def __init__(self, database_url: str, pool_size: int = 4):
        self.pool = ConnectionPool(database_url, min_size=1, max_size=pool_size, open=True,
                                   kwargs={"row_factory": dict_row, "autocommit": True})

    @classmethod
    def open(cls, database_url: str, pool_size: int = 4) -> CredentialStore:
        from eventstore.postgres import setup_lock

        with setup_lock(database_url), psycopg.connect(database_url, autocommit=True) as conn:
            # A role without CREATE on the database (the app's, after `ledger db roles create`,
            # which makes the schema) is refused even `CREATE SCHEMA IF NOT EXISTS`.
            if conn.execute("SELECT to_regnamespace(%s)", (SCHEMA,)).fetchone()[0] is None:
                conn.execute(f"CREATE SCHEMA {SCHEMA}")
            conn.execute(TABLES)
        return cls(database_url, pool_size)

    def close(self) -> None:
        self.pool.close()

    # --- passwords -----------------------------------------------------------------------

    def has_password(self, user_id: str) -> bool:
        with self.pool.connection() as conn:
            return conn.execute(f"SELECT 1 FROM {SCHEMA}.staff_passwords WHERE user_id = %s", (user_id,)).fetchone() is not None

    def set_password(self, user_id: str, password: str, *, must_change: bool, at: datetime, transaction=None) -> None:
        hashed = _hasher.hash(check_password(password))
        statement = (
            f"INSERT INTO {SCHEMA}.staff_passwords (user_id, password_hash, must_change, changed_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, "
            "must_change = excluded.must_change, changed_at = excluded.changed_at"
        )
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(statement, (check_staff_id(user_id), hashed, must_change, at))
            if transaction is not None:
                transaction()  # the event that says so: no password changes unrecorded

    def verify_password(self, user_id: str, password: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT password_hash FROM {SCHEMA}.staff_passwords WHERE user_id = %s", (user_id,)
            ).fetchone()
        if row is None:
            # One Argon2id run all the same, with the parameters of a new hash, so that a
            # wrong user name takes as long as a wrong password (no way to learn which users
            # exist from the time an answer takes). Hashing what was typed costs what verifying
            # it would, and needs no dummy hash made at import (an Argon2id run in every
            # process that imports this module: `ledger serve`'s workers, `staff bootstrap`).
            _hasher.hash(password)
            return False
        stored = row["password_hash"]
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(stored):
            with self.pool.connection() as conn:
                conn.execute(f"UPDATE {SCHEMA}.staff_passwords SET password_hash = %s WHERE user_id = %s AND password_hash = %s",
                             (_hasher.hash(password), user_id, stored))
        return True

    # --- tokens --------------------------------------------------------------------------

    def create_token(self, kind: TokenKind, principal: str, name: str, created_by: str, *, at: datetime,
                     expires_at: datetime, transaction=None) -> NewToken:
        """A new token; `transaction` (recording the event) runs before the row commits, so
        that no token is usable whose issue is not in the event store."""
        token_id = "tok_" + secrets.token_hex(8)
        secret = f"{token_id}.{secrets.token_urlsafe(32)}"
        row = TokenRow(token_id, kind, principal, name, created_by, at, expires_at, None)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                f"INSERT INTO {SCHEMA}.tokens (token_id, secret_sha256, kind, principal, name, created_by, created_at, "
                "expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (token_id, digest(secret), kind.value, principal, name, created_by, at, expires_at),
            )
            if transaction is not None:
                transaction(row)
        return NewToken(row, secret)

    def token_by_secret(self, secret: str) -> TokenRow | None:
        """Asked on every request, and never kept: a token revoked, or a password set, by any
        `ledger serve` process is refused by all at the next request (one indexed query)."""
        return self.token_and(secret, "NULL")[0]

    def token_and(self, secret: str, scalar: str, *params: Any) -> tuple[TokenRow | None, Any]:
        """The token, and the value of a scalar subquery (`scalar`, with `params`) of the same
        database, asked in the same round trip; (None, None) for a token that is not known."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS}, coalesce(p.must_change, false) AS must_change_password, {scalar} AS also "
                f"FROM {SCHEMA}.tokens t LEFT JOIN {SCHEMA}.staff_passwords p ON p.user_id = t.principal "
                "WHERE t.secret_sha256 = %s",
                (*params, digest(secret)), prepare=True,
            ).fetchone()
        if row is None:
            return None, None
        also = row.pop("also")
        return TokenRow.from_row(row), also

    def token(self, token_id: str) -> TokenRow | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {_TOKEN_COLUMNS} FROM {SCHEMA}.tokens t WHERE token_id = %s", (token_id,)).fetchone()
        return None if row is None else TokenRow.from_row(row)

    def tokens_created_by(self, user_id: str, *, after: str | None, limit: int) -> list[TokenRow]:
        """Personal and service tokens (not sign-in sessions), by token id."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM {SCHEMA}.tokens t WHERE created_by = %s AND kind <> 'session' "
                "AND token_id > %s ORDER BY token_id LIMIT %s",
                (user_id, after or "", limit),
            ).fetchall()
        return [TokenRow.from_row(r) for r in rows]

    def live_sessions(self, user_id: str, *, now: datetime) -> list[str]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT token_id FROM {SCHEMA}.tokens WHERE principal = %s AND kind = 'session' "
                "AND revoked_at IS NULL AND expires_at > %s ORDER BY token_id", (user_id, now),
            ).fetchall()
        return [r["token_id"] for r in rows]

    def revoke_token(self, token_id: str, *, at: datetime, transaction=None) -> bool:
        """Returns False when it was revoked before."""
        with self.pool.connection() as conn, conn.transaction():
            revoked = conn.execute(
                f"UPDATE {SCHEMA}.tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",
                (at, token_id),
            ).rowcount == 1
            if revoked and transaction is not None:
                transaction()
        return revoked

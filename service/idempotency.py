"""`Idempotency-Key`: a command without an id of its own is safe to retry with this header.

The first request with a key (per credential: the SHA-256 of its bearer token) claims it;
its successful answer is kept 24 hours and is what every retry with the same key and the
same request gets back (with `Idempotent-Replayed: true`). The same key with another
method, path, query or body is a 409; so is a retry while the first request still runs
(a claim left by a request that died with its process is dropped after a minute).
A refused request releases its key: the retry is decided again. A secret in an answer (a
new token's) is not kept: its replay says `"secret": null`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute

from service.credentials import SCHEMA
from service.errors import ServiceError
from service.threads import in_thread

HEADER = "Idempotency-Key"
KEPT = "24 hours"
ABANDONED = "1 minute"  # a claim this old without an answer: its request died with its process
MAX_KEY_LENGTH = 255
COMMAND_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class IdempotencyStore:
    def __init__(self, pool):
        self.pool = pool

    def claim(self, scope: bytes, key: str, fingerprint: bytes) -> tuple[int, bytes] | None:
        """None when this request claimed the key; else the kept answer of the first."""
        with self.pool.connection() as conn, conn.transaction():
            # Kept answers expire; so does a claim whose request never finished (its process died).
            conn.execute(f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s AND (created_at < "
                         f"now() - interval '{KEPT}' OR status IS NULL AND created_at < now() - interval '{ABANDONED}')",
                         (scope, key))
            claimed = conn.execute(
                f"INSERT INTO {SCHEMA}.idempotency_keys (scope, key, fingerprint) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING", (scope, key, fingerprint),
            ).rowcount == 1
            if claimed:
                return None
            row = conn.execute(f"SELECT fingerprint, status, body FROM {SCHEMA}.idempotency_keys "
                               "WHERE scope = %s AND key = %s", (scope, key)).fetchone()
        if row["fingerprint"] != fingerprint:
            raise ServiceError(409, "idempotency_key_reused",
                               f"{HEADER} {key!r} was used for another request; use a new key", idempotency_key=key)
        if row["status"] is None:
            raise ServiceError(409, "idempotency_key_in_use",
                               f"the request with {HEADER} {key!r} is still running; retry later",
                               {"Retry-After": "1"}, idempotency_key=key)
        return row["status"], bytes(row["body"])

    def keep(self, scope: bytes, key: str, status: int, body: bytes) -> None:
        with self.pool.connection() as conn:
            conn.execute(f"UPDATE {SCHEMA}.idempotency_keys SET status = %s, body = %s WHERE scope = %s AND key = %s",
                         (status, body, scope, key))

    def release(self, scope: bytes, key: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s AND status IS NULL",
                         (scope, key))


def _without_secret(body: bytes) -> bytes:
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict) and "secret" in value:
        value["secret"] = None
        return json.dumps(value).encode()
    return body


class IdempotentRoute(APIRoute):
    """A route whose commands honour `Idempotency-Key` (every route of the API)."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def idempotent(request: Request) -> Response:
            key = request.headers.get(HEADER)
            credential = request.headers.get("authorization")
            # Without a credential (signing in) there is nothing to scope a key to, and the
            # answer (a session token) must not be kept.
            if key is None or credential is None or request.method not in COMMAND_METHODS:
                return await handle(request)
            if not 0 < len(key) <= MAX_KEY_LENGTH:
                raise ServiceError(400, "malformed_request", f"{HEADER} has 1 to {MAX_KEY_LENGTH} characters")
            store: IdempotencyStore = request.app.state.context.idempotency
            scope = hashlib.sha256(credential.encode()).digest()
            body = await request.body()
            fingerprint = hashlib.sha256(
                b"\0".join([request.method.encode(), request.url.path.encode(), request.url.query.encode(), body])
            ).digest()
            kept = await in_thread(store.claim, scope, key, fingerprint)
            if kept is not None:
                status, content = kept
                return Response(content, status_code=status, media_type="application/json",
                                headers={"Idempotent-Replayed": "true", "Cache-Control": "no-store"})
            try:
                response = await handle(request)
            except BaseException:
                await in_thread(store.release, scope, key)
                raise
            if 200 <= response.status_code < 300:
                await in_thread(store.keep, scope, key, response.status_code, _without_secret(response.body))
            else:
                await in_thread(store.release, scope, key)
            return response

        return idempotent

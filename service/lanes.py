"""Lanes: the API's most frequent requests answered before FastAPI routes them.

A support desk reads the support view on every screen, and payments arrive by the hundred;
for both, FastAPI's route search, dependency solving, and checking of the answer against its
model cost the server several times the ledger's own work (docs/performance.md). A lane
answers such a request in one thread of the pool with the same parts the declared endpoint
uses: `authenticate`, `authorize`, the endpoint's own function or answer, the same errors and
ETags. It takes only the plain form of the request (no query; no Idempotency-Key or If-Match);
anything else, and any body its model refuses, goes on to the declared endpoint, which
answers it as it always has (tests/e2e/test_api_lanes.py holds both to the same answers).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from domain.errors import LedgerError
from domain.roles import Permission
from service.auth import Principal, authenticate, authorize
from service.errors import ServiceError, refusal
from service.threads import in_thread


class Lane:
    """One endpoint's plain requests: `METHOD prefix{key}suffix`, without a query."""

    method = "GET"
    prefix = ""
    suffix = ""
    needs: Permission
    declined_headers: frozenset[bytes] = frozenset()  # present: the declared endpoint answers
    roles_checked_by_the_command = False  # see service.auth.authorize

    def __init__(self, app):
        self.app = app

    def key_of(self, scope) -> str | None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or scope["method"] != self.method or scope["query_string"]
                or not path.startswith(self.prefix) or not path.endswith(self.suffix)):
            return None
        key = path[len(self.prefix):len(path) - len(self.suffix)]
        return key if key and "/" not in key else None

    async def __call__(self, scope, receive, send) -> None:
        key = self.key_of(scope)
        headers = dict(scope["headers"]) if key is not None else {}
        if key is None or any(name in headers for name in self.declined_headers):
            return await self.app(scope, receive, send)
        body = await _body(receive) if self.method != "GET" else b""
        response = await in_thread(self._answer, scope["app"].state.context, headers, key, body)
        if response is None:  # not plain after all: the declared endpoint answers, from the same body
            return await self.app(scope, _replay(body, receive), send)
        await response(scope, receive, send)

    def _answer(self, ctx, headers: dict[bytes, bytes], key: str, body: bytes) -> Response | None:
        try:
            who = authorize(ctx, authenticate(ctx, _text(headers.get(b"authorization"))), self.needs,
                            roles_checked_by_the_command=self.roles_checked_by_the_command)
            return self.answer(ctx, who, headers, key, body)
        except (LedgerError, ServiceError) as error:
            return refusal(error)

    def answer(self, ctx, who: Principal, headers: dict[bytes, bytes], key: str, body: bytes) -> Response | None:
        """The answer; None to leave the request to the declared endpoint."""
        raise NotImplementedError


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("latin-1")


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then):
    """A `receive` that gives the body already read, then whatever the connection says next."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def header_text(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else _text(value)

"""ETags and If-Match: a read of an account or a case answers its version (the aggregate's
version in the event store) as its ETag; a command on it may send that ETag back in
`If-Match`, and is refused (409 stale_version, nothing recorded) when the account or case
changed since: a decision taken on what was read is not applied to what is there now.

A view's answer has no aggregate version (a support view is built from several tables and
depends on the day it is read as of): its ETag is a digest of the answer itself, and a read
that sends it back in `If-None-Match` gets 304 Not Modified, without the body, while the
answer is the same."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi import Request, Response

from service.errors import ServiceError


def etag(version: int) -> str:
    return f'"{version}"'


def content_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _listed(header: str) -> list[str]:
    # A weak tag compares as its strong one: both name the same bytes here.
    return [part.strip().removeprefix("W/") for part in header.split(",")]


def tag(response: Response, aggregate) -> None:
    response.headers["ETag"] = etag(aggregate.version)


def current_version(ledger, path: dict) -> tuple[str, int]:
    """What a command's path names, and its version now: the case, else the account."""
    if "case_id" in path:
        return f"case {path['case_id']!r}", ledger.get_case(path["case_id"]).version
    if "customer_id" in path:
        return f"customer {path['customer_id']!r}", ledger.get_account(path["customer_id"]).version
    raise ServiceError(400, "malformed_request", "If-Match applies to a command on an account or a case "
                       "(the ETag of GET /v1/customers/{customer_id} or /v1/cases/{case_id})", field="If-Match")


def check_if_match(request: Request, ledger) -> None:
    expected = request.headers.get("if-match")
    if expected is None or expected.strip() == "*":
        return
    what, version = current_version(ledger, request.path_params)
    if etag(version) not in _listed(expected):
        raise ServiceError(409, "stale_version", f"{what} changed since it was read (If-Match {expected}, now "
                           f"{etag(version)}): read it again and decide on what it holds now", version=etag(version))


class TaggedAnswers:
    """A mixin for a route class whose GET answers are tagged with their digest and answer
    304 to an If-None-Match that names it (RFC 9110: `*` matches any current answer)."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def tagged(request: Request) -> Response:
            response = await handle(request)
            if request.method != "GET" or response.status_code != 200:
                return response
            return tag_answer(response, request.headers.get("if-none-match"))

        return tagged


def tag_answer(response: Response, unless: str | None) -> Response:
    """A read's answer tagged with its digest; 304 without the body when `unless` (the
    request's If-None-Match) names it."""
    current = response.headers["ETag"] = content_etag(response.body)
    if unless is not None and (unless.strip() == "*" or current in _listed(unless)):
        return Response(status_code=304, headers={"ETag": current})
    return response

"""ETags and If-Match: a read of an account or a case answers its version (the aggregate's
version in the event store) as its ETag; a command on it may send that ETag back in
`If-Match`, and is refused (409 stale_version, nothing recorded) when the account or case
changed since: a decision taken on what was read is not applied to what is there now."""

from __future__ import annotations

from fastapi import Request, Response

from service.errors import ServiceError


def etag(version: int) -> str:
    return f'"{version}"'


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
    given = [part.strip().removeprefix("W/") for part in expected.split(",")]
    if etag(version) not in given:
        raise ServiceError(409, "stale_version", f"{what} changed since it was read (If-Match {expected}, now "
                           f"{etag(version)}): read it again and decide on what it holds now", version=etag(version))

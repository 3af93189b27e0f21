"""One error shape for every refusal: RFC 9457 problem details, with the domain's stable code.

`type` is a relative URI per code (`/errors/<code>`), `title` the code in words, `detail`
one line a person can act on, `status` the HTTP status, `code` the stable code, plus the ids
involved. An unexpected error is logged as one line with a correlation id, and the answer
carries that id: never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from domain import errors as domain

log = logging.getLogger("ledger.serve")
PROBLEM = "application/problem+json"
RETRY_AFTER_UNAVAILABLE = 5  # seconds: a database or broker restart


class Problem(BaseModel):
    """An error (RFC 9457); ids involved (customer_id, payment_id, permission...) are added."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str


class ServiceError(Exception):
    """A refusal of the service itself (not signed in, throttled, a malformed request...)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **ids: Any):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.ids = status, code, detail, headers or {}, ids


def not_signed_in(detail: str, **ids: Any) -> ServiceError:
    return ServiceError(401, "not_signed_in", detail, {"WWW-Authenticate": 'Bearer realm="ledger"'}, **ids)


# The domain's errors by kind; any other LedgerError is a refusal of the command (422).
_STATUS_OF: list[tuple[type, int]] = [
    (domain.PermissionDenied, 403),
    (domain.UnknownCustomer, 404),
    (domain.UnknownSubscription, 404),
    (domain.UnknownInvoice, 404),
    (domain.UnknownPayment, 404),
    (domain.UnknownCase, 404),
    (domain.AlreadyExists, 409),
]


def status_of(error: domain.LedgerError) -> int:
    return next((status for kind, status in _STATUS_OF if isinstance(error, kind)), 422)


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None, **ids: Any) -> JSONResponse:
    body = Problem(type=f"/errors/{code.replace('_', '-')}", title=code.replace("_", " ").capitalize(),
                   status=status, detail=detail, code=code, **{k: v for k, v in ids.items() if v is not None})
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _ids_of(error: domain.LedgerError) -> dict[str, Any]:
    ids = {k: v for k, v in vars(error).items() if isinstance(v, str) and not k.startswith("_")}
    if isinstance(error, domain.PermissionDenied):
        ids["permission"] = ids.pop("action")
    return ids


def refusal(error: domain.LedgerError | ServiceError) -> JSONResponse:
    """The problem a refusal of the ledger or of the service answers."""
    if isinstance(error, ServiceError):
        return problem(error.status, error.code, error.detail, error.headers, **error.ids)
    return problem(status_of(error), error.code, str(error), **_ids_of(error))


async def _refused(request: Request, error: domain.LedgerError | ServiceError) -> JSONResponse:
    return refusal(error)


async def _malformed(request: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "malformed request"}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return problem(400, "malformed_request", f"{where}: {first.get('msg')}" if where else str(first.get("msg")),
                   field=where or None)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return problem(error.status_code, code, str(error.detail), getattr(error, "headers", None))


def unavailable_errors() -> tuple[type, ...]:
    import psycopg
    import psycopg_pool
    from eventsourcing.persistence import OperationalError, PersistenceError
    from kafka.errors import KafkaError

    return (psycopg.OperationalError, psycopg_pool.PoolTimeout, OperationalError, PersistenceError, KafkaError,
            ConnectionError)


def unexpected(error: Exception) -> JSONResponse:
    """The last word: a dependency down is a 503; anything else one logged line and a 500."""
    from eventsourcing.persistence import IntegrityError

    correlation_id = uuid4().hex
    if isinstance(error, IntegrityError):  # another writer changed the same aggregate meanwhile
        log.info("concurrent change [%s]: %s", correlation_id, error)
        return problem(409, "concurrent_change", "another command changed the same record meanwhile; "
                       "retry (with the same ids, nothing is done twice)", {"Retry-After": "1"},
                       correlation_id=correlation_id)
    if isinstance(error, unavailable_errors()):
        log.warning("unavailable [%s]: %s: %s", correlation_id, type(error).__name__, error)
        return problem(503, "unavailable", "a service the ledger needs is unavailable; try again shortly",
                       {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}, correlation_id=correlation_id)
    log.error("unexpected [%s]: %s: %s", correlation_id, type(error).__name__, error)
    return problem(500, "internal_error", f"an unexpected error; quote {correlation_id} to the operator",
                   correlation_id=correlation_id)


def install(app: FastAPI) -> None:
    app.add_exception_handler(domain.LedgerError, _refused)
    app.add_exception_handler(ServiceError, _refused)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(HTTPException, _http_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text,
             "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, text in [
        (400, "malformed request"), (401, "not signed in, or the token expired or was revoked"),
        (403, "signed in, but the role does not allow it (names the permission)"),
        (404, "unknown resource"), (409, "a conflicting retry or a concurrent change"),
        (422, "the ledger refused the command"), (429, "throttled (see Retry-After)"),
        (503, "a dependency is down (see Retry-After)"),
    ]
}


def problems_only(document: dict) -> dict:
    """FastAPI files an error response's model under application/json too; errors are only
    ever application/problem+json."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45" and PROBLEM in response.get("content", {}):
                    response["content"].pop("application/json", None)
    return document

"""The application factory: the service's context (the ledger, the access log, the
credentials, the views' connections) and the FastAPI app over it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from fastapi import APIRouter, FastAPI
from starlette.datastructures import MutableHeaders
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.application import BillingLedger
from domain.credentials import AccessLog
from eventstore.postgres import open_access_log
from ledger.config import Settings
from service import console, errors
from service.credentials import CredentialStore
from service.idempotency import IdempotencyStore
from service.run_jobs import RunJobs
from service.routes import accounts, billing, cases, collections, dead_letters, history, policies, sessions, staff, tokens, usage, views
from service.throttle import SignInThrottle

log = logging.getLogger("ledger.serve")
MAX_BODY = 4 * 1024 * 1024  # bytes: a usage batch of 1,000 events is well under 1 MiB


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ServiceContext:
    settings: Settings
    ledger: BillingLedger
    access: AccessLog
    credentials: CredentialStore
    views_pool: ConnectionPool
    usage: usage.UsageDoor
    clock: Callable[[], datetime] = utc_now  # the server's clock: business time is bounded by it

    @property
    def throttle(self) -> SignInThrottle:
        # In the database: every `ledger serve` process on it counts the same failures.
        return SignInThrottle.on(self.credentials.pool, self.clock)

    @property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.credentials.pool)

    @property
    def runs(self) -> RunJobs:
        return RunJobs(self.settings, self.credentials.pool)

    @classmethod
    def open(cls, settings: Settings) -> ServiceContext:
        """On resolved settings (a database URL and a broker)."""
        return cls(settings, open_ledger(settings), open_access_log(settings), CredentialStore.open(settings.database_url),
                   # autocommit: a read is one round trip (no BEGIN, no ROLLBACK when the connection returns)
                   ConnectionPool(settings.database_url, min_size=1, max_size=4, open=True,
                                  kwargs={"row_factory": dict_row, "autocommit": True}),
                   usage.UsageDoor(settings))

    def close(self) -> None:
        self.usage.close()
        self.views_pool.close()
        self.credentials.close()
        self.access.close()
        self.ledger.close()


def open_ledger(settings: Settings) -> BillingLedger:
    from eventstore.postgres import open_application

    return open_application(settings)


def from_environment() -> FastAPI:
    """The app of one worker of `ledger serve --workers N`: each worker a process with its
    own context, on the services the parent resolved and put in the environment."""
    from service.server import settled

    ctx = ServiceContext.open(Settings.from_env())
    app = create_app(ctx)
    app.router.on_shutdown.append(ctx.close)
    settled()
    return app


class LastWord:
    """Every answer's last word, as plain ASGI (no per-request task and queue of Starlette's
    BaseHTTPMiddleware): a body too large is refused before it is read; an unexpected error is
    one logged line and a problem, never a traceback; customer data is never kept by a browser
    or a proxy (Cache-Control: no-store unless an endpoint says otherwise)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return await errors.problem(413, "too_large", f"a request body has at most {MAX_BODY:,} bytes")(
                scope, receive, send)
        started = False

        async def send_no_store(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_no_store)
        except Exception as error:  # noqa: BLE001 - never a traceback to the caller
            if started:
                raise
            await errors.unexpected(error)(scope, receive, send)


def include_flat(app: FastAPI, router: APIRouter) -> None:
    """The router's routes as the app's own. `include_router` keeps an included router as one
    route that matches by trying each of its routes, in a scope of its own, twice per request
    (to match, then to handle): in a profile of support-view reads, finding the route took
    more of the server's time than the endpoint. The routes already carry their full path
    (the router's prefix) and their route class; the routers declare nothing else."""
    assert not router.dependencies and not router.callbacks, "a router's own dependencies would be lost"
    app.router.routes.extend(router.routes)


def create_app(ctx: ServiceContext) -> FastAPI:
    app = FastAPI(
        title="billing-ledger",
        version="1",
        description="The billing ledger's HTTP API: sign in (POST /v1/sessions), then send "
        "`Authorization: Bearer <token>`. Every endpoint names the permission it needs (`x-permission`).",
        # No OpenTelemetry: otherwise FastAPI asks the environment for its providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.context = ctx
    errors.install(app)

    for lane in (views.SupportViewLane, billing.PaymentLane):
        app.add_middleware(lane)
    app.add_middleware(LastWord)  # added last, so outermost: the lane's answers get its last word too

    for module in (sessions, tokens, staff, accounts, billing, collections, cases, policies, views, history, dead_letters, usage):
        include_flat(app, module.router)
    console.install(app)  # the staff console's pages at `/`, over the same endpoints and role checks
    generate = app.openapi
    app.openapi = lambda: errors.problems_only(generate())  # generated once, then kept by FastAPI
    return app

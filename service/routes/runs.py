"""What the bill run and the collections run share on the API: a run is a job (service/run_jobs.py).
`POST <runs>` starts it (202 and its id), `GET <runs>/{run_id}` reports its progress and
summary, `POST <runs>/{run_id}/stop` ends it after the batches under way. Each kind keeps
its own permission for all three."""

from __future__ import annotations

import os
from fastapi import Request, Response
from pydantic import BaseModel, Field

from domain.money import format_minor_units
from domain.roles import Permission
from ledger.runs import RunSpec
from service.auth import context, endpoint
from service.errors import ServiceError
from service.run_jobs import MAX_WORKERS
from service.values import UtcTime

WORKERS = Field(None, ge=1, le=MAX_WORKERS,
                description="worker processes the run's batches are spread over (default: one per core)")


class RunStarted(BaseModel):
    run_id: str
    kind: str = Field(description="bill or collections")
    state: str = Field(description="running, done, stopped, failed; interrupted: its server stopped, start it again")
    url: str = Field(description="where its progress and summary are reported")


class RunSummary(BaseModel):
    accounts: int = Field(description="accounts done")
    invoices: int = Field(description="bill run: invoices issued")
    totals: dict[str, int] = Field(description="bill run: invoiced per currency, integer minor units")
    totals_formatted: dict[str, str] = Field(description="the same in each currency's format")
    skipped: dict[str, int] = Field(description="bill run: accounts given no invoice, per reason")
    refusals: list[list[str]] = Field(description="bill run: the first accounts the ledger refused an invoice, with why")
    renumbered: int = Field(description="bill run: batches numbered again because another writer took the number series first")
    accounts_with_actions: int = Field(description="collections run: accounts that had something due")
    actions: dict[str, int] = Field(description="collections run: events emitted, per type (ReminderSent...)")


class RunReport(BaseModel):
    run_id: str
    kind: str
    actor: str = Field(description="who started it: the actor of every event it emits")
    state: str
    parameters: dict
    accounts_total: int | None = Field(description="null until the run has listed the accounts")
    accounts_done: int
    accounts_per_second: float
    seconds_left: float | None
    started_at: UtcTime
    finished_at: UtcTime | None
    error: str | None
    summary: RunSummary


def start(request: Request, response: Response, spec: RunSpec, parameters: dict, workers: int | None,
          path: str) -> RunStarted:
    run_id = context(request).runs.start(spec, parameters, workers or os.cpu_count() or 1)
    url = f"/v1{path}/{run_id}"
    response.headers["Location"] = url
    return RunStarted(run_id=run_id, kind=spec.kind, state="running", url=url)


def run_endpoints(router, kind: str, path: str, needs: Permission) -> None:
    """GET and stop of a kind's runs."""

    def report(run: dict | None, run_id: str) -> RunReport:
        if run is None:
            raise ServiceError(404, "unknown_run", f"no {kind} run {run_id!r}", run_id=run_id)
        summary = run["summary"]
        formatted = {currency: format_minor_units(total, currency) for currency, total in summary["totals"].items()}
        return RunReport(**{**run, "summary": RunSummary(**summary, totals_formatted=formatted)})

    @endpoint(router, "GET", f"{path}/{{run_id}}", needs=needs, response_model=RunReport,
              summary=f"a {kind} run's progress and, once over, its summary", name=f"show_{kind}_run")
    def show(run_id: str, request: Request) -> RunReport:
        return report(context(request).runs.report(run_id, kind), run_id)

    @endpoint(router, "POST", f"{path}/{{run_id}}/stop", needs=needs, response_model=RunReport,
              summary=f"stop a {kind} run after the batches under way (start it again to finish it)",
              name=f"stop_{kind}_run")
    def stop(run_id: str, request: Request) -> RunReport:
        return report(context(request).runs.ask_to_stop(run_id, kind), run_id)

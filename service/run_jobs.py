"""Runs over every account as jobs of the service: `POST .../runs` starts one and answers at
once (202, with the run's id); the run goes on in a thread of the server, its batches in
worker processes (ledger/runs); `GET .../runs/{id}` reports its progress and, once over,
its summary. A run's row (ledger_auth.runs) is how every `ledger serve` process knows it:
any of them answers for it, and any of them passes a stop on to the one running it (the
runner reads the flag as it records its progress, after each batch).

A run whose server died stays `running` in its row with nothing more done: reported as
`interrupted` once it has not moved for INTERRUPTED_AFTER. Started again, a run skips what
was done (ledger/runs), so "interrupted" only means: start it again.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import timedelta

from psycopg_pool import PoolClosed

from ledger.runs import RunSpec, RunSummary, execute
from service.credentials import SCHEMA

INTERRUPTED_AFTER = timedelta(minutes=2)  # far beyond any batch
MAX_WORKERS = 2 * (os.cpu_count() or 1)


class RunJobs:
    def __init__(self, settings, pool):
        self.settings = settings
        self.pool = pool  # autocommit connections of the credentials store

    def start(self, spec: RunSpec, parameters: dict, workers: int) -> str:
        run_id = f"run_{uuid.uuid4().hex[:16]}"
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.runs (run_id, kind, actor, parameters, state, summary) "
                "VALUES (%s, %s, %s, %s, 'running', %s)",
                (run_id, spec.kind, spec.actor, json.dumps(parameters), json.dumps(RunSummary().to_json())),
            )
        threading.Thread(target=self._run, args=(run_id, spec, workers), name=f"ledger-{run_id}", daemon=True).start()
        return run_id

    def _run(self, run_id: str, spec: RunSpec, workers: int) -> None:
        try:
            self._go(run_id, spec, workers)
        except PoolClosed:
            pass  # the server is stopping: the run's row stays as it was, reported interrupted

    def _go(self, run_id: str, spec: RunSpec, workers: int) -> None:
        stop = threading.Event()

        def progress(summary: RunSummary, total: int) -> None:
            # after every batch (a batch is hundreds of accounts: one small update each)
            if self._record(run_id, summary, total):
                stop.set()

        try:
            summary = execute(self.settings, spec, workers=workers, progress=progress, stop=stop)
        except PoolClosed:
            raise
        except Exception as error:  # reported on the run, in one line: the server goes on
            self._finish(run_id, "failed", None, f"{type(error).__name__}: {error}".splitlines()[0])
            return
        self._finish(run_id, "stopped" if stop.is_set() else "done", summary, None)

    def _record(self, run_id: str, summary: RunSummary, total: int) -> bool:
        """Write the progress; True when someone asked the run to stop."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"UPDATE {SCHEMA}.runs SET accounts_total = %s, accounts_done = %s, summary = %s, updated_at = now() "
                "WHERE run_id = %s RETURNING stop_requested",
                (total, summary.accounts, json.dumps(summary.to_json()), run_id),
            ).fetchone()
        return bool(row and row["stop_requested"])

    def _finish(self, run_id: str, state: str, summary: RunSummary | None, error: str | None) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                f"UPDATE {SCHEMA}.runs SET state = %s, error = %s, summary = coalesce(%s, summary), "
                "accounts_done = coalesce(%s, accounts_done), updated_at = now(), finished_at = now() WHERE run_id = %s",
                (state, error, summary and json.dumps(summary.to_json()), summary and summary.accounts, run_id),
            )

    def report(self, run_id: str, kind: str) -> dict | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT *, now() AS now FROM {SCHEMA}.runs WHERE run_id = %s AND kind = %s",
                               (run_id, kind)).fetchone()
        return None if row is None else _reported(row)

    def ask_to_stop(self, run_id: str, kind: str) -> dict | None:
        with self.pool.connection() as conn:
            conn.execute(f"UPDATE {SCHEMA}.runs SET stop_requested = true WHERE run_id = %s AND kind = %s AND state = 'running'",
                         (run_id, kind))
        return self.report(run_id, kind)


def _reported(row: dict) -> dict:
    state = row["state"]
    if state == "running" and row["now"] - row["updated_at"] > INTERRUPTED_AFTER:
        state = "interrupted"
    end = row["finished_at"] or row["updated_at"]
    seconds = max((end - row["started_at"]).total_seconds(), 1e-3)
    done, total = row["accounts_done"], row["accounts_total"]
    per_second = done / seconds if done else 0.0
    left = (total - done) / per_second if state == "running" and per_second and total is not None else None
    return {
        "run_id": row["run_id"], "kind": row["kind"], "actor": row["actor"], "state": state,
        "parameters": row["parameters"], "accounts_total": total, "accounts_done": done,
        "accounts_per_second": round(per_second, 1), "seconds_left": None if left is None else round(left, 1),
        "started_at": row["started_at"], "finished_at": row["finished_at"], "error": row["error"],
        "summary": row["summary"],
    }

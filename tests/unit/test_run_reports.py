"""How a run's row reads on the API: its pace and time left while it goes, and a run whose
server died (its row left `running`, not moving) reported as interrupted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledger.commands.runs import progress_text
from ledger.runs import RunSummary
from service.run_jobs import INTERRUPTED_AFTER, _reported

STARTED = datetime(2026, 2, 1, 6, tzinfo=timezone.utc)


def row(**changes) -> dict:
    return {
        "run_id": "run_1", "kind": "bill", "actor": "bea@reseller.example", "state": "running",
        "parameters": {"period": "2026-01"}, "accounts_total": 100_000, "accounts_done": 25_000,
        "summary": RunSummary().to_json(), "error": None, "started_at": STARTED,
        "updated_at": STARTED + timedelta(seconds=50), "finished_at": None, "now": STARTED + timedelta(seconds=51),
    } | changes


def test_a_running_run_reports_its_pace_and_the_time_left_at_that_pace():
    report = _reported(row())
    assert (report["state"], report["accounts_per_second"], report["seconds_left"]) == ("running", 500.0, 150.0)
    assert progress_text(25_000, 100_000, 500.0, 150.0) == "25,000/100,000 accounts, 500/s, 2m30s left"


def test_a_run_that_stopped_moving_with_its_server_is_reported_interrupted():
    stale = row(now=STARTED + timedelta(seconds=50) + INTERRUPTED_AFTER + timedelta(seconds=1))
    assert (_reported(stale)["state"], _reported(stale)["seconds_left"]) == ("interrupted", None)
    assert _reported(row(now=STARTED + INTERRUPTED_AFTER))["state"] == "running"


def test_a_finished_run_is_timed_to_its_end():
    done = _reported(row(state="done", accounts_done=100_000, finished_at=STARTED + timedelta(seconds=125),
                         now=STARTED + timedelta(hours=5)))
    assert (done["state"], done["accounts_per_second"], done["seconds_left"]) == ("done", 800.0, None)

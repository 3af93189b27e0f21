"""`ledger replay` stopped by a signal: it finishes the batch in hand, commits it with its
position, says how to resume, and exits 130; the same command then finishes the rebuild."""

from __future__ import annotations

import signal
import subprocess
import sys

import psycopg

from tests.conftest import wait_for
from tests.read_side_helpers import customers_projected, live_balances, waiting_on
from tests.cli_helpers import ledger


def test_a_signal_stops_a_replay_that_the_same_command_then_resumes(settings, app, cli_env):
    live = customers_projected(settings, app)
    events = f"{settings.store_schema}.ledger_events"

    with psycopg.connect(settings.database_url) as blocker:
        # Hold the rebuild before it reads the log, so that the signal surely comes while it runs.
        blocker.execute(f"LOCK TABLE {events} IN ACCESS EXCLUSIVE MODE")
        running = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "replay", "balances", "--source", "store"],
            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_for(lambda: waiting_on(settings, events), what="the replay to wait for the event store")
        running.send_signal(signal.SIGINT)
        blocker.rollback()
        out, err = running.communicate(timeout=60)

    assert running.returncode == 130, err
    assert "interrupted at notification" in err and "run the same command again to resume" in err
    assert "Traceback" not in err and out == ""
    resumed = ledger(cli_env, "replay", "balances", "--source", "store")
    assert resumed.returncode == 0 and "swapped in" in resumed.stdout, resumed.stderr
    assert live_balances(settings) == live


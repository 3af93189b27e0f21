"""A run `--until-idle` takes every partition itself, without joining the group: beside a live
member of the group it reads partitions the member reads too, and nothing is applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg

from tests.conftest import wait_for
from tests.factories import open_customer
from tests.read_side_helpers import live_balances, record_usage, relay_all

CUSTOMERS = [f"SIDE-{n}" for n in range(60)]
LINES = 500


def test_a_projector_run_until_idle_beside_a_group_member_applies_nothing_twice(settings, app, cli_env, tmp_path):
    for customer in CUSTOMERS:
        open_customer(app, customer, unit_price="0.25")
        record_usage(app, customer, LINES, quantity="4")
    relay_all(settings, app)
    table = f"{settings.read_schema}.customer_balances"

    member = ledger_process(cli_env, tmp_path / "member.err", "project")
    try:
        with psycopg.connect(settings.database_url) as blocker:
            wait_for(lambda: projected_usage_lines(settings) > 0, timeout=60, what="the member's first batches")
            # The member is held inside a batch; the run until idle starts from the positions
            # recorded before it, so both have read the same records when the lock goes.
            blocker.execute(f"LOCK TABLE {table} IN SHARE MODE")
            wait_for(lambda: waiting_sessions(settings) >= 1, timeout=30, what="the member to wait inside a batch")
            beside = ledger_process(cli_env, tmp_path / "beside.err", "project", "--until-idle")
            wait_for(lambda: waiting_sessions(settings) >= 2, timeout=60, what="the run until idle to wait too")
            assert projected_usage_lines(settings) < len(CUSTOMERS) * LINES, "both start before the end"
            blocker.rollback()
        assert beside.wait(timeout=120) == 0, (tmp_path / "beside.err").read_text()
        wait_for(lambda: projected_usage_lines(settings) >= len(CUSTOMERS) * LINES, timeout=60, what="everything")
    finally:
        for process in (member, locals().get("beside")):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    rows = live_balances(settings)
    assert [r["customer_id"] for r in rows] == sorted(CUSTOMERS)
    assert {(r["usage_lines"], r["unbilled_usage"]) for r in rows} == {(LINES, Decimal(LINES))}
    with psycopg.connect(settings.database_url) as conn:
        (dead_letters,) = conn.execute(f"SELECT sum(dead_letters) FROM {settings.read_schema}.projector_offsets").fetchone()
    assert dead_letters == 0


def ledger_process(env, stderr: Path, *args) -> subprocess.Popen:
    with stderr.open("w") as sink:  # a file, not a pipe: nobody reads it while the process runs
        return subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", *args], env=env,
            stdout=subprocess.DEVNULL, stderr=sink, start_new_session=True,
        )


def waiting_sessions(settings) -> int:
    """Sessions of the test's database waiting for a lock (the table's or a partition's)."""
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def projected_usage_lines(settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f"{settings.read_schema}.customer_balances",)).fetchone()[0] is None:
            return 0
        return conn.execute(f"SELECT coalesce(sum(usage_lines), 0) FROM {settings.read_schema}.customer_balances").fetchone()[0]

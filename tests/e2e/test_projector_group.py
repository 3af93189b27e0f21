"""The projector on the real broker and database: instances sharing a group, a crash in the
middle of a batch, events published twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal

import psycopg

from tests.conftest import wait_for
from tests.factories import open_customer
from tests.read_side_helpers import live_balances, record_usage, relay_all, relay_and_project, waiting_on

CUSTOMERS = [f"CUST-{n}" for n in range(1, 9)]


def test_two_projectors_in_one_group_share_the_partitions_and_double_nothing(settings, app):
    for customer in CUSTOMERS:
        open_customer(app, customer, unit_price="0.5")
        record_usage(app, customer, 40, quantity="3")

    one, two = relay_and_project(settings, app, projectors=2)

    assert one.assigned and two.assigned and not one.assigned & two.assigned, "they shared the partitions"
    # 8 customers x (open + subscription + 40 usage lines), each applied exactly once
    assert one.projector.applied + two.projector.applied == len(CUSTOMERS) * 42
    rows = live_balances(settings)
    assert [r["customer_id"] for r in rows] == sorted(CUSTOMERS)
    assert {(r["usage_lines"], r["unbilled_usage"], r["metered_subscriptions"]) for r in rows} == {(40, Decimal("60"), 1)}


def test_events_published_again_change_nothing(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 25)
    relay_and_project(settings, app)
    before = live_balances(settings)

    # The relay lost its position (or a new topic incarnation): everything is published again.
    from ledger.processes import relay_process

    relay = relay_process(settings, app)
    relay.relay.restart_from_beginning()
    relay.close()
    (projector,) = relay_and_project(settings, app)

    assert projector.projector.applied == 0
    assert live_balances(settings) == before


def test_a_projector_killed_in_the_middle_of_a_batch_resumes_and_applies_nothing_twice(settings, app, cli_env):
    customers = [f"BIG-{n}" for n in range(60)]
    for customer in customers:
        open_customer(app, customer, unit_price="0.25")
        record_usage(app, customer, 500, quantity="4")  # 30,000 usage events: many batches
    relay_all(settings, app)
    table = f"{settings.read_schema}.customer_balances"

    project = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "project"], env=cli_env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    with psycopg.connect(settings.database_url) as blocker:
        try:
            wait_for(lambda: projected_usage_lines(settings) > 0, timeout=60, what="the first batches")
            # Hold the projector's next write: its batch is then open, half done, when killed.
            blocker.execute(f"LOCK TABLE {table} IN SHARE MODE")
            wait_for(lambda: waiting_on(settings, table), timeout=30, what="the projector to wait inside a batch")
        finally:
            os.killpg(project.pid, signal.SIGKILL)
            project.wait()
        assert projected_usage_lines(settings) < 30_000, "killed before the end"
        blocker.rollback()

    resumed = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "project", "--until-idle"], env=cli_env,
        capture_output=True, text=True, timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    rows = live_balances(settings)
    assert len(rows) == 60
    assert {(r["usage_lines"], r["unbilled_usage"]) for r in rows} == {(500, Decimal("500"))}


def projected_usage_lines(settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f"{settings.read_schema}.customer_balances",)).fetchone()[0] is None:
            return 0
        return conn.execute(f"SELECT coalesce(sum(usage_lines), 0) FROM {settings.read_schema}.customer_balances").fetchone()[0]


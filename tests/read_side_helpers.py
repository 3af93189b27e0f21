"""What the read-side tests share: usage recorded straight into the store, the relay and the
projector run until they have handed on everything, the live rows as they are."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from domain.usage import UsageReport
from ledger.processes import projector_process, relay_process, run


def record_usage(app, customer_id: str, count: int, quantity: str = "2", first: int = 0, day: int = 1) -> None:
    """`count` usage lines for the customer's `<customer>-vm` subscription, ids from `first` on."""
    start = datetime(2026, 9, day, tzinfo=timezone.utc)
    reports = [
        UsageReport(
            usage_id=f"{customer_id}-u{n}", source="read-side-test", customer_id=customer_id,
            subscription_id=f"{customer_id}-vm", product="Virtual Machines", meter="vcpu-hours",
            quantity=Decimal(quantity), unit="h", period_start=start, period_end=start + timedelta(days=1),
            observed_at=start + timedelta(days=1, minutes=1),
        )
        for n in range(first, first + count)
    ]
    outcome = app.record_usage(reports, actor="system:ingest")
    assert not outcome.rejected, outcome.rejected


def relay_and_project(settings, app, projectors: int = 1) -> list:
    """Relay everything stored, and project it with `projectors` members of one group;
    returns the projector processes (closed), each with the partitions it had at the end.
    One projector takes every partition itself, as `ledger project --until-idle` does: no
    group join to wait for (seconds on the embedded broker), the same events applied."""
    alone = projectors == 1
    processes = [relay_process(settings, app)] + [projector_process(settings, until_idle=alone) for _ in range(projectors)]
    try:
        run(processes, threading.Event(), until_drained=True)
    finally:
        for process in processes[1:]:
            process.assigned = {tp.partition for tp in process.member.consumer.assignment()}
        for process in processes:
            process.close()
    return processes[1:]


def customers_projected(settings, app, customers=("CUST-1", "CUST-2"), lines: int = 20) -> list[dict]:
    """Customers opened with `lines` usage lines each, relayed and projected; the live rows."""
    from tests.factories import open_customer

    for customer in customers:
        open_customer(app, customer)
        record_usage(app, customer, lines)
    relay_and_project(settings, app)
    return live_balances(settings)


def waiting_on(settings, table: str) -> bool:
    """True when some session waits for a lock on the table."""
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", (table,)
        ).fetchone()[0] > 0


def relay_all(settings, app) -> None:
    process = relay_process(settings, app)
    try:
        while process.step():
            pass
    finally:
        process.close()


def live_balances(settings) -> list[dict]:
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        return conn.execute(
            f"SELECT * FROM {settings.read_schema}.customer_balances ORDER BY customer_id"
        ).fetchall()


def execute(settings, statement: str, params=()) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(statement, params)

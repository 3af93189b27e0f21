"""The month-end bill run and the collections run over every account (ledger/runs): spread
over worker processes they issue what one process issues; killed anywhere and started again
they issue each invoice once, with invoice numbers neither lost nor doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bench.common import MONTH_END, MONTH_START, OPENED_AT, open_billable_customers
from domain.numbering import INVOICE_SERIES
from ledger.runs import BILL_RUN, COLLECTIONS_RUN, RunSpec, execute
from tests.conftest import environment_of, own_settings, wait_for
from tests.factories import ADMIN

ISSUED_AT = datetime(2026, 2, 1, 6, tzinfo=timezone.utc)
BILL = RunSpec(BILL_RUN, ADMIN, ISSUED_AT, MONTH_START, MONTH_END)
# Sixteen days past the invoices' due date (30 days after issue): reminders 1, 7 and 14 are due.
COLLECT = RunSpec(COLLECTIONS_RUN, ADMIN, ISSUED_AT + timedelta(days=46))


def invoices_of(app) -> dict[str, tuple[str, list, int]]:
    """customer -> (invoice number, lines, total) of every invoice in the store."""
    found = {}
    for notification in app.recorder.select_notifications(1, 10**7, topics=_issued_topics()):
        event = app.mapper.to_domain_event(notification)
        assert event.customer_id not in found, f"{event.customer_id} invoiced twice"
        found[event.customer_id] = (event.invoice_number, event.lines, event.total)
    return found


def _issued_topics() -> list[str]:
    from domain.accounts import CustomerAccount, stored_topics

    return stored_topics(CustomerAccount.InvoiceIssued)


def assert_numbers_gap_free(app, invoices: dict) -> None:
    count = len(invoices)
    assert sorted(number for number, _, _ in invoices.values()) == [f"INV-{n:06d}" for n in range(1, count + 1)]
    assert app.number_series(INVOICE_SERIES, at=ISSUED_AT, actor=ADMIN).last == count  # no number taken in vain


def test_the_parallel_bill_run_issues_the_invoices_and_amounts_of_the_sequential_one(services, settings, app):
    customers = open_billable_customers(app, 40, 5, currencies=("EUR", "USD"))
    with own_settings(services) as other_settings:
        from eventstore.postgres import open_application

        other = open_application(other_settings)
        other.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
        try:
            assert open_billable_customers(other, 40, 5, currencies=("EUR", "USD")) == customers
            sequential = execute(settings, BILL, workers=1, batch_accounts=7, app=app)
            parallel = execute(other_settings, BILL, workers=2, batch_accounts=7)
            alone, spread = invoices_of(app), invoices_of(other)
            assert_numbers_gap_free(other, spread)
        finally:
            other.close()
    assert_numbers_gap_free(app, alone)
    # the same summary, but for the batches two workers had to number again (racing for the series)
    assert sequential == replace(parallel, renumbered=0) and parallel.invoices == len(customers)
    assert set(parallel.totals) == {"EUR", "USD"}
    # the same lines and totals per customer; only which number went to whom follows the commit order
    assert {c: (lines, total) for c, (_, lines, total) in spread.items()} == {c: (lines, total) for c, (_, lines, total) in alone.items()}
    assert [n for n, _, _ in alone.values()] == sorted(n for n, _, _ in alone.values())  # one process: in account order


def test_a_bill_run_run_again_issues_nothing_more(settings, app):
    open_billable_customers(app, 12, 3)
    first = execute(settings, BILL, workers=2, batch_accounts=5)
    again = execute(settings, BILL, workers=2, batch_accounts=5)
    assert (first.invoices, again.invoices, again.skipped) == (12, 0, {"period closed before": 12})
    assert_numbers_gap_free(app, invoices_of(app))


CHILD = """
import sys
from dataclasses import replace
from datetime import date, datetime
from ledger.config import Settings
from ledger.runs import RunSpec, execute
kind, at, start, end, workers = sys.argv[1:]
spec = RunSpec(kind, {admin!r}, datetime.fromisoformat(at), start and date.fromisoformat(start), end and date.fromisoformat(end))
execute(Settings.from_env(), spec, workers=int(workers), batch_accounts=3)
"""


def start_child(settings, spec: RunSpec, workers: int) -> subprocess.Popen:
    """A run in a process of its own, to be killed."""
    arguments = [spec.kind, spec.at.isoformat(), str(spec.period_start or ""), str(spec.period_end or ""), str(workers)]
    return subprocess.Popen([sys.executable, "-c", CHILD.format(admin=ADMIN), *arguments],
                            env=environment_of(settings), start_new_session=True)


def kill(child: subprocess.Popen) -> None:
    """SIGKILL the run and its workers at once (its process group), as a machine going down would."""
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bill_run_killed_mid_run_and_started_again_issues_every_invoice_once(settings, app, workers):
    customers = open_billable_customers(app, 150, 2)
    child = start_child(settings, BILL, workers)
    try:
        wait_for(lambda: len(invoices_of(app)) >= 6, timeout=60, what="a few batches committed")
    finally:
        kill(child)
    interrupted = len(invoices_of(app))
    assert 0 < interrupted < len(customers), "the run was killed mid-run"
    resumed = execute(settings, BILL, workers=workers, batch_accounts=10)
    invoices = invoices_of(app)
    assert set(invoices) == set(customers)
    assert (resumed.invoices, resumed.skipped) == (len(customers) - interrupted, {"period closed before": interrupted})
    assert_numbers_gap_free(app, invoices)


def test_a_worker_killed_fails_the_run_and_the_run_started_again_finishes_it(settings, app):
    import psutil

    customers = open_billable_customers(app, 150, 2)
    child = start_child(settings, BILL, 2)
    try:
        wait_for(lambda: len(invoices_of(app)) >= 6, timeout=60, what="a few batches committed")
        (worker, *_) = [p for p in psutil.Process(child.pid).children() if "resource_tracker" not in " ".join(p.cmdline())]
        os.kill(worker.pid, signal.SIGKILL)
        assert child.wait(timeout=60) != 0  # the run says it failed (a worker died)
    finally:
        if child.poll() is None:
            kill(child)
    execute(settings, BILL, workers=2, batch_accounts=10)
    invoices = invoices_of(app)
    assert set(invoices) == set(customers)
    assert_numbers_gap_free(app, invoices)


def test_two_bill_runs_at_once_keep_the_numbers_gap_free(settings, app):
    customers = open_billable_customers(app, 60, 2)
    children = [start_child(settings, BILL, 2) for _ in range(2)]
    for child in children:
        assert child.wait(timeout=120) == 0
    invoices = invoices_of(app)
    assert set(invoices) == set(customers)
    assert_numbers_gap_free(app, invoices)


def test_workers_racing_for_the_number_series_wait_their_turn_instead_of_numbering_a_batch_again(settings, app):
    customers = open_billable_customers(app, 120, 2)
    summary = execute(settings, BILL, workers=2, batch_accounts=4)  # 30 small batches: the workers meet often
    assert summary.invoices == len(customers)
    assert summary.renumbered == 0  # each batch numbered once: none numbered in vain and undone
    assert_numbers_gap_free(app, invoices_of(app))


def reminders_of(app) -> list[tuple[str, str, int]]:
    from domain.accounts import CustomerAccount, stored_topics

    topics = stored_topics(CustomerAccount.ReminderSent)
    return [(e.customer_id, e.invoice_number, e.step) for e in
            (app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10**7, topics=topics))]


def test_a_collections_run_killed_mid_run_and_started_again_sends_each_reminder_once(settings, app):
    customers = open_billable_customers(app, 150, 1)
    execute(settings, BILL, workers=2)
    child = start_child(settings, COLLECT, 1)
    try:
        wait_for(lambda: len(reminders_of(app)) >= 6, timeout=60, what="a few batches committed")
    finally:
        kill(child)
    execute(settings, COLLECT, workers=2, batch_accounts=10)
    reminders = reminders_of(app)
    assert len(reminders) == len(set(reminders))  # no reminder sent twice
    assert {customer for customer, _, _ in reminders} == set(customers)
    assert execute(settings, COLLECT, workers=2).accounts_with_actions == 0  # the same day again: nothing more

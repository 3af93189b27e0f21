"""The month-end bill run and the collections run over every account, as a reseller's billing team waits for them.

    .venv/bin/python -m bench.bill_run [--accounts 100000] [--lines 30] [--workers 2] [--small 1000]

Two fresh ledgers, one of --small accounts and one of --accounts, each account with a seat
subscription and a metered one with --lines usage lines in January 2026 (written in batches:
accounts a thousand per transaction, usage through record_usage 20,000 reports at a time).
On each: the bill run closing January (ledger/runs, --workers processes), timed, then the
collections run on the day the first reminder is due. Printed: invoices/s, ms per invoice at
both sizes and their ratio (target <= 1.2), collections accounts/s, and one account's bill
with 100 and with 10,000 usage lines (linear: 100 times the lines cost at most 100 times
the time; the time each added line costs). Setup (--workers processes) is timed apart. Targets (issue #14): 100,000 accounts billed in under 180 s, collected in
under 60 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from bench.common import (
    ADMIN, MONTH_END, MONTH_START, Stopwatch, bench_settings, children_cpu_seconds, open_billable_customers,
    postgres_cpu_seconds, profiled, report, say,
)
from eventstore.postgres import open_application
from ledger import embedded
from ledger.config import Settings
from ledger.runs import BILL_RUN, COLLECTIONS_RUN, RunSpec, engine, execute

ISSUED_AT = datetime(2026, 2, 1, 6, tzinfo=timezone.utc)
BILL = RunSpec(BILL_RUN, ADMIN, ISSUED_AT, MONTH_START, MONTH_END)
# Invoices fall due 30 days after issue: the first reminder (1 day past due) is due on 4 March.
COLLECT = RunSpec(COLLECTIONS_RUN, ADMIN, datetime(2026, 3, 4, tzinfo=timezone.utc))


SETUP_SLICE = 5_000  # accounts a setup process writes at a time


def populate(settings, accounts: int, lines: int, processes: int) -> None:
    """The accounts and their usage, written by `processes` processes, each a slice at a time."""
    app = open_application(settings)
    open_billable_customers(app, 0, 0)  # the bench admin, before the processes
    app.close()
    slices = [(settings, first, min(SETUP_SLICE, accounts - first), lines) for first in range(0, accounts, SETUP_SLICE)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.starmap(_populate_slice, slices)


def _populate_slice(settings, first: int, count: int, lines: int) -> None:
    app = open_application(settings)
    try:
        open_billable_customers(app, count, lines, first=first)
    finally:
        app.close()


SLICES_DONE = "bench_setup_slices"  # in a kept ledger: the slices of accounts fully set up


def kept_ledger(services: Settings, name: str, accounts: int, lines: int, processes: int,
                until: float | None) -> bool:
    """Set up (or go on setting up) the ledger of `accounts` in database `name` and keep it, a
    slice at a time, none started after `until` (time.time()): True once it is whole, then
    vacuumed and analysed as autovacuum would leave a ledger in use. Each measurement bills a
    copy of it (`copied_ledger`), so that the 3 million usage events are written once."""
    settings = _database(services, name, create=True)
    app = open_application(settings)
    open_billable_customers(app, 0, 0)  # the bench admin, before the processes
    app.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SLICES_DONE} (first integer PRIMARY KEY, lines integer NOT NULL)")
        done = {row[0] for row in conn.execute(f"SELECT first FROM {SLICES_DONE} WHERE lines = %s", (lines,))}
    slices = [first for first in range(0, accounts, SETUP_SLICE) if first not in done]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        waiting = [pool.apply_async(_kept_slice, (settings, first, min(SETUP_SLICE, accounts - first), lines, until))
                   for first in slices]
        finished = sum(1 for result in waiting if result.get())
    say(f"kept ledger {name}: {len(done) + finished} of {-(-accounts // SETUP_SLICE)} slices of {SETUP_SLICE:,} accounts set up")
    if len(done) + finished < -(-accounts // SETUP_SLICE):
        return False
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return True


def _kept_slice(settings, first: int, count: int, lines: int, until: float | None) -> bool:
    if until is not None and time.time() >= until:
        return False
    _populate_slice(settings, first, count, lines)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {SLICES_DONE} VALUES (%s, %s) ON CONFLICT DO NOTHING", (first, lines))
    return True


@contextlib.contextmanager
def copied_ledger(services: Settings, name: str) -> Iterator[Settings]:
    """A copy of the kept ledger `name` (PostgreSQL copies its files: seconds), dropped after."""
    copy = f"{name}_copy"
    with psycopg.connect(_database(services, "postgres").database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        with Stopwatch() as copying:
            conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}" STRATEGY FILE_COPY')
        say(f"copied {name} in {copying.seconds:.1f}s")
        try:
            settings = _database(services, copy)
            _load_indexes(settings)
            yield settings
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _load_indexes(settings: Settings) -> None:
    """Read the copy's event-store indexes into PostgreSQL's shared buffers, where a ledger in
    use has them (ingest touches them all month); a copy starts with none cached, and each
    batch insert then read its index pages one at a time. The events themselves stay uncached:
    a month's usage is read once, at month end."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn, Stopwatch() as loading:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        indexes = conn.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = "
                               "%s::regclass", (f"{settings.store_schema}.ledger_events",)).fetchall()
        pages = sum(conn.execute("SELECT pg_prewarm(%s)", (index,)).fetchone()[0] for (index,) in indexes)
    say(f"{len(indexes)} indexes of the store ({pages * 8 // 1024:,} MiB) read into shared buffers in {loading.seconds:.1f}s")


def _database(services: Settings, name: str, create: bool = False) -> Settings:
    """The services' settings with database `name` (created if asked and missing)."""
    settings = replace(services, database_url=make_conninfo(services.database_url, dbname=name))
    if create:
        with psycopg.connect(_database(services, "postgres").database_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    return settings


def one_ledger(accounts: int, lines: int, workers: int, profile: Path | None = None) -> dict:
    """Set up a ledger of `accounts`, bill it, collect it: the figures."""
    with bench_settings() as settings:
        with Stopwatch() as setup:
            populate(settings, accounts, lines, workers)
        say(f"setup: {accounts:,} accounts x {lines} usage lines ({accounts * lines:,} usage events) "
            f"in {setup.seconds:.1f}s ({accounts * lines / setup.seconds:,.0f} usage events/s, {workers} processes)")
        return {**bill_and_collect(settings, accounts, workers, profile), "setup_s": round(setup.seconds, 1)}


def bill_and_collect(settings, accounts: int, workers: int, profile: Path | None = None) -> dict:
    """The bill run and the collections run on a ledger set up (a run interrupted before on
    it, the accounts it invoiced are skipped and counted apart)."""
    steady = SteadyRate()
    start_up, start_up_cpu = worker_start_up(settings, workers)
    with Stopwatch() as billing, CpuMeter(settings) as billing_cpu, profiled(profile):
        billed = execute(settings, BILL, workers=workers, progress=steady.progress)
    skipped = billed.skipped.get("period closed before", 0)
    assert billed.invoices + skipped == accounts, billed
    invoiced = billed.invoices
    with Stopwatch() as collecting, CpuMeter(settings) as collecting_cpu:
        collected = execute(settings, COLLECT, workers=workers)
    assert collected.accounts_with_actions == accounts, collected
    figures = {
        "accounts": accounts, "invoices": invoiced, "skipped_closed_before": skipped,
        "bill_run_s": round(billing.seconds, 2),
        "invoices_per_s": round(invoiced / billing.seconds, 1), "ms_per_invoice": round(billing.seconds * 1000 / invoiced, 3),
        "steady_ms_per_invoice": round(steady.ms_per_account(), 3), "batches_renumbered": billed.renumbered,
        "worker_start_up_s": round(start_up, 2),
        "ms_per_invoice_after_start_up": round((billing.seconds - start_up) * 1000 / invoiced, 3),
        # the CPU an invoice costs, all processes, the workers' start-up left out: robust to a busy machine
        "cpu_ms_per_invoice_after_start_up": round((billing_cpu.run - start_up_cpu + billing_cpu.server) * 1000 / invoiced, 3),
        **billing_cpu.ms_per("invoice", invoiced),
        "collections_s": round(collecting.seconds, 2), "collections_accounts_per_s": round(accounts / collecting.seconds, 1),
        **collecting_cpu.ms_per("collected_account", accounts),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    say(f"{accounts:,} accounts ({invoiced:,} invoiced, {skipped:,} closed before): bill run {billing.seconds:.1f}s = {figures['invoices_per_s']:,} invoices/s "
        f"({figures['ms_per_invoice']} ms/invoice; {figures['ms_per_invoice_after_start_up']} after the workers' "
        f"start-up of {start_up:.2f}s; {figures['steady_ms_per_invoice']} after the first batch; "
        f"{billed.renumbered} batches numbered again after a race for the series); collections {collecting.seconds:.1f}s = "
        f"{figures['collections_accounts_per_s']:,} accounts/s; load {figures['load_average']}")
    say(f"CPU ms per invoice: {figures['run_cpu_ms_per_invoice']} in the bill run's processes, "
        f"{figures['postgres_cpu_ms_per_invoice']} in PostgreSQL ({figures['cpu_ms_per_invoice_after_start_up']} in all, "
        f"the workers' start-up left out); per account collected: "
        f"{figures['run_cpu_ms_per_collected_account']} and {figures['postgres_cpu_ms_per_collected_account']}")
    return figures


class CpuMeter:
    """CPU seconds a block cost in this process and the workers it joined, and in PostgreSQL:
    costs that a machine shared with other work does not distort as it does wall-clock rates."""

    def __init__(self, settings):
        self.settings = settings

    def _now(self) -> tuple[float, float | None]:
        return time.process_time() + children_cpu_seconds(), postgres_cpu_seconds(self.settings)

    def __enter__(self) -> CpuMeter:
        self.started = self._now()
        return self

    def __exit__(self, *exc) -> None:
        (run, server), (run_before, server_before) = self._now(), self.started
        self.run = run - run_before
        self.server = None if server is None else server - server_before

    def ms_per(self, unit: str, count: int) -> dict:
        def per(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000 / max(count, 1), 3)

        return {f"run_cpu_ms_per_{unit}": per(self.run), f"postgres_cpu_ms_per_{unit}": per(self.server)}


def worker_start_up(settings, workers: int) -> tuple[float, float]:
    """Seconds to start the run's worker processes (spawned, each importing the ledger and
    opening the store, as ledger/runs does), measured apart: a fixed cost of any run, that
    would otherwise weigh on the small ledger's ms per invoice and flatter the big one's.
    Returns the seconds and the CPU seconds the workers took."""
    if workers <= 1:
        return 0.0, 0.0
    cpu_before = children_cpu_seconds()
    context = multiprocessing.get_context("spawn")
    with Stopwatch() as watch, ProcessPoolExecutor(workers, mp_context=context, initializer=engine._open_worker,
                                                  initargs=(settings, os.getpid())) as pool:
        for future in [pool.submit(time.sleep, 0.2) for _ in range(workers)]:
            future.result()  # every worker started (each sleeps, so none takes two)
    return watch.seconds - 0.2, children_cpu_seconds() - cpu_before


class SteadyRate:
    """The run's pace from its first committed batch to its end (a run's progress callback)."""

    def __init__(self):
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] = (0.0, 0)

    def progress(self, summary, total: int) -> None:
        if summary.accounts:
            now = (time.perf_counter(), summary.accounts)
            self.first = self.first or now
            self.last = now

    def ms_per_account(self) -> float:
        (start, done_then), (end, done) = self.first, self.last
        return (end - start) * 1000 / max(done - done_then, 1)


def ms_to_invoice(lines: int) -> float:
    """One account's bill with `lines` usage lines: ms of its issue_invoice (after another
    account's, so that first-call costs are not counted)."""
    with bench_settings() as settings:
        app = open_application(settings)
        open_billable_customers(app, 1, 1, prefix="WARM")
        open_billable_customers(app, 1, lines)
        app.issue_invoice("WARM-000000", MONTH_START, MONTH_END, at=ISSUED_AT, actor=ADMIN)
        with Stopwatch() as watch:
            app.issue_invoice("BILL-000000", MONTH_START, MONTH_END, at=ISSUED_AT, actor=ADMIN)
        app.close()
    say(f"one account, {lines:,} usage lines: invoiced in {watch.seconds * 1000:.1f} ms")
    return watch.seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=30, help="usage lines per account")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="bill-run processes (default: one per core)")
    parser.add_argument("--small", type=int, default=1_000, help="accounts of the small ledger the cost is compared with")
    parser.add_argument("--only", choices=("small", "big"), help="measure one ledger only (no ratio, no one-account bills)")
    parser.add_argument("--profile", type=Path, help="cProfile the big bill run's parent process to this file")
    parser.add_argument("--ledger", help="bill and collect this database (a ledger of --accounts set up before, e.g. by "
                        "an interrupted run of this benchmark, on the same PostgreSQL) instead of setting up the big ledger")
    parser.add_argument("--keep", metavar="DATABASE", help="set the big ledger up once in this database and keep it; "
                        "each run bills and collects a copy of it (a setup cut short goes on where it stopped)")
    parser.add_argument("--setup-minutes", type=float, help="with --keep: start no slice of the setup after this many "
                        "minutes (run again to go on)")
    parser.add_argument("--setup-only", action="store_true", help="with --keep: set up, measure nothing")
    options = parser.parse_args()

    small = one_ledger(options.small, options.lines, options.workers) if options.only != "big" else None
    big = None
    if options.only != "small":
        big = big_ledger(options)
        if big is None:
            return
    if small is None or big is None:
        report("bill_run_invoices_per_second", (big or small)["invoices_per_s"], "invoices/s", workers=options.workers,
               lines=options.lines, small=small, big=big, date=date.today().isoformat())
        return
    # Compared after the first batch: starting the worker processes (a second or two) would
    # otherwise weigh on the small ledger's figure and flatter the ratio.
    growth = big["ms_per_invoice_after_start_up"] / small["ms_per_invoice_after_start_up"]
    cpu_growth = big["cpu_ms_per_invoice_after_start_up"] / small["cpu_ms_per_invoice_after_start_up"]
    say(f"ms per invoice after the workers' start-up: {small['ms_per_invoice_after_start_up']} at {options.small:,} "
        f"accounts, {big['ms_per_invoice_after_start_up']} at {options.accounts:,}: x{growth:.2f} (target <= 1.2); "
        f"CPU ms per invoice (workers and PostgreSQL): {small['cpu_ms_per_invoice_after_start_up']} and "
        f"{big['cpu_ms_per_invoice_after_start_up']}: x{cpu_growth:.2f}")
    few, many = ms_to_invoice(100), ms_to_invoice(10_000)
    per_line = (many - few) / 9_900
    say(f"one account: {few:.1f} ms with 100 usage lines, {many:.1f} ms with 10,000: x{many / few:.1f} for 100x the "
        f"lines (linear: at most x100); {per_line * 1000:.1f} us per line added")
    report(
        "bill_run_invoices_per_second", big["invoices_per_s"], "invoices/s",
        workers=options.workers, lines=options.lines, small=small, big=big, ms_per_invoice_growth=round(growth, 3),
        cpu_ms_per_invoice_growth=round(cpu_growth, 3),
        collections_accounts_per_s=big["collections_accounts_per_s"],
        ms_invoice_100_lines=round(few, 2), ms_invoice_10000_lines=round(many, 2), us_per_added_line=round(per_line * 1000, 2),
        target_bill_run_s=180, target_collections_s=60, target_growth=1.2, date=date.today().isoformat(),
    )


def big_ledger(options) -> dict | None:
    """The big ledger's figures: set up fresh, given (--ledger) or a copy of a kept one (--keep;
    None while that is not set up whole)."""
    if not (options.ledger or options.keep):
        return one_ledger(options.accounts, options.lines, options.workers, options.profile)
    with embedded.services(Settings.from_env(), announce=say) as services:
        if options.ledger:
            return bill_and_collect(_database(services, options.ledger), options.accounts, options.workers, options.profile)
        until = time.time() + options.setup_minutes * 60 if options.setup_minutes else None
        with Stopwatch() as setup:
            whole = kept_ledger(services, options.keep, options.accounts, options.lines, options.workers, until)
        say(f"setup of {options.keep}: {setup.seconds:.1f}s this time")
        if not whole or options.setup_only:
            return None
        with copied_ledger(services, options.keep) as settings:
            return bill_and_collect(settings, options.accounts, options.workers, options.profile)


if __name__ == "__main__":
    main()

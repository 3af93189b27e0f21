"""The month-end bill run and the collections run over every account, as a reseller's billing team waits for them.

    .venv/bin/python -m bench.bill_run [--accounts 100000] [--lines 30] [--workers 2] [--small 1000]

Two fresh ledgers, one of --small accounts and one of --accounts, each account with a seat
subscription and a metered one with --lines usage lines in January 2026 (written in batches:
accounts a thousand per transaction, usage through record_usage 20,000 reports at a time).
On each: the bill run closing January (ledger/runs, --workers processes), timed, then the
collections run on the day the first reminder is due. Printed: invoices/s, ms per invoice at
both sizes and their ratio (target <= 1.2), collections accounts/s, and one account's bill
with 100 and with 10,000 usage lines (linear: the ratio of ms per line near 1). Setup time
is printed apart. Targets (issue #14): 100,000 accounts billed in under 180 s, collected in
under 60 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.common import (
    ADMIN, MONTH_END, MONTH_START, Stopwatch, bench_settings, open_billable_customers, profiled, report, say,
)
from eventstore.postgres import open_application
from ledger.runs import BILL_RUN, COLLECTIONS_RUN, RunSpec, execute

ISSUED_AT = datetime(2026, 2, 1, 6, tzinfo=timezone.utc)
BILL = RunSpec(BILL_RUN, ADMIN, ISSUED_AT, MONTH_START, MONTH_END)
# Invoices fall due 30 days after issue: the first reminder (1 day past due) is due on 4 March.
COLLECT = RunSpec(COLLECTIONS_RUN, ADMIN, datetime(2026, 3, 4, tzinfo=timezone.utc))


def one_ledger(accounts: int, lines: int, workers: int, profile: Path | None = None) -> dict:
    """Set up a ledger of `accounts`, bill it, collect it: the figures."""
    with bench_settings() as settings:
        app = open_application(settings)
        with Stopwatch() as setup:
            open_billable_customers(app, accounts, lines)
        say(f"setup: {accounts:,} accounts x {lines} usage lines ({accounts * lines:,} usage events) "
            f"in {setup.seconds:.1f}s ({accounts * lines / setup.seconds:,.0f} usage events/s)")
        app.close()
        with Stopwatch() as billing, profiled(profile):
            billed = execute(settings, BILL, workers=workers)
        assert billed.invoices == accounts, billed
        with Stopwatch() as collecting:
            collected = execute(settings, COLLECT, workers=workers)
        assert collected.accounts_with_actions == accounts, collected
        figures = {
            "accounts": accounts, "setup_s": round(setup.seconds, 1), "bill_run_s": round(billing.seconds, 2),
            "invoices_per_s": round(accounts / billing.seconds, 1), "ms_per_invoice": round(billing.seconds * 1000 / accounts, 3),
            "collections_s": round(collecting.seconds, 2), "collections_accounts_per_s": round(accounts / collecting.seconds, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        say(f"{accounts:,} accounts: bill run {billing.seconds:.1f}s = {figures['invoices_per_s']:,} invoices/s "
            f"({figures['ms_per_invoice']} ms/invoice); collections {collecting.seconds:.1f}s = "
            f"{figures['collections_accounts_per_s']:,} accounts/s; load {figures['load_average']}")
        return figures


def ms_per_line(lines: int) -> float:
    """One account's bill with `lines` usage lines: ms per line of its issue_invoice."""
    with bench_settings() as settings:
        app = open_application(settings)
        open_billable_customers(app, 1, lines)
        with Stopwatch() as watch:
            app.issue_invoice("BILL-000000", MONTH_START, MONTH_END, at=ISSUED_AT, actor=ADMIN)
        app.close()
    say(f"one account, {lines:,} usage lines: invoiced in {watch.seconds * 1000:.1f} ms ({watch.seconds * 1e6 / lines:.1f} us/line)")
    return watch.seconds * 1000 / lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=30, help="usage lines per account")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="bill-run processes (default: one per core)")
    parser.add_argument("--small", type=int, default=1_000, help="accounts of the small ledger the cost is compared with")
    parser.add_argument("--profile", type=Path, help="cProfile the big bill run's parent process to this file")
    options = parser.parse_args()

    small = one_ledger(options.small, options.lines, options.workers)
    big = one_ledger(options.accounts, options.lines, options.workers, options.profile)
    growth = big["ms_per_invoice"] / small["ms_per_invoice"]
    say(f"ms per invoice: {small['ms_per_invoice']} at {options.small:,} accounts, {big['ms_per_invoice']} at "
        f"{options.accounts:,}: x{growth:.2f} (target <= 1.2)")
    few, many = ms_per_line(100), ms_per_line(10_000)
    say(f"ms per usage line: {few:.3f} with 100 lines, {many:.3f} with 10,000: x{many / few:.2f} (linear: about 1)")
    report(
        "bill_run_invoices_per_second", big["invoices_per_s"], "invoices/s",
        workers=options.workers, lines=options.lines, small=small, big=big, ms_per_invoice_growth=round(growth, 3),
        collections_accounts_per_s=big["collections_accounts_per_s"],
        ms_per_line_100=round(few, 4), ms_per_line_10000=round(many, 4), line_cost_ratio=round(many / few, 3),
        target_bill_run_s=180, target_collections_s=60, target_growth=1.2, date=date.today().isoformat(),
    )


if __name__ == "__main__":
    main()

"""How long a console page takes to load, through `ledger serve`, one staff member at a time.

    .venv/bin/python -m bench.console [--customers 1000] [--loads 100]

Customers are opened with a VM's usage in January and invoiced on 1 February (due
3 March), relayed and projected; the console's day is the real one, so every invoice is
far past due. A billing admin signs in through the form, then each page is loaded
`--loads` times in turn: the support view of a customer (different customers), the
search by part of a name, the ageing chart over all customers and the customers behind
its over-90-days bar, the collection statuses chart and the customers behind its
"overdue" bar, and the collections run's preview (its first page of accounts). Issue 13 asks for
a page under 300 ms (with 100,000 customers projected; pass --customers to approach it).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import threading
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import httpx
import psycopg
from psycopg.conninfo import make_conninfo

from bench.api import free_port, serve
from bench.common import ADMIN, bench_settings, open_customers, report, say
from domain.usage import UsageReport
from ledger import embedded
from ledger.config import Settings
from ledger.processes import projector_process, relay_process, run

PASSWORD = "bench password, long enough"
INVOICED_AT = datetime(2026, 2, 1, tzinfo=timezone.utc)


def bill(ledger, customers: list[str]) -> None:
    start = datetime(2026, 1, 10, tzinfo=timezone.utc)
    reports = [UsageReport(f"bench-{c}", "bench", c, f"{c}-vm", "Virtual Machines", "vcpu-hours", Decimal(24), "h",
                           start, start + timedelta(hours=24), start + timedelta(hours=25)) for c in customers]
    ledger.record_usage(reports, actor="system:ingest")
    for customer in customers:
        ledger.issue_invoice(customer, date(2026, 1, 1), date(2026, 2, 1), at=INVOICED_AT, actor=ADMIN)


@contextlib.contextmanager
def kept_settings(name: str) -> Iterator[Settings]:
    """The services' settings with a database and topics of this name, created if missing and
    never dropped (bench/common.bench_settings drops its own)."""
    with embedded.services(Settings.from_env(), announce=say) as services:
        admin_url = make_conninfo(services.database_url, dbname="postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        yield replace(services, database_url=make_conninfo(services.database_url, dbname=name),
                      usage_topic=f"usage.{name}", ledger_topic=f"ledger.{name}", group_prefix=f"group.{name}")


CHUNK = 10_000  # customers opened, billed, relayed and projected together: a stopped fill is whole chunks


def fill(ctx, settings: Settings, total: int, until: time_of_day | None) -> list[str]:
    """Customers opened and billed, relayed and projected, chunk by chunk up to `total` (a kept
    database goes on from where it is), and no new chunk once `until` has passed."""
    customers = ctx.ledger.index.customer_ids()
    while len(customers) < total:
        if until is not None and datetime.now(timezone.utc).time() >= until:
            say(f"{until:%H:%M} passed: measuring {len(customers)} customers")
            break
        chunk = open_customers(ctx.ledger, min(CHUNK, total - len(customers)), first=len(customers))
        bill(ctx.ledger, chunk)
        processes = [relay_process(settings, ctx.ledger), projector_process(settings)]
        try:
            run(processes, threading.Event(), until_drained=True)
        finally:
            for process in processes:
                process.close()
        customers += chunk
        say(f"{datetime.now(timezone.utc):%H:%M} {len(customers)} customers opened, billed and projected")
    return customers


def timed(client: httpx.Client, paths: list[str]) -> tuple[float, float, float]:
    timings = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[18], max(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--keep", metavar="DATABASE",
                        help="fill a database of this name once and keep it; a later run with the same name only "
                             "measures (100,000 customers take an hour or more to fill on a shared machine)")
    parser.add_argument("--fill-until", type=lambda t: datetime.strptime(t, "%H:%M").time(), metavar="HH:MM",
                        help="start no new chunk of customers after this time (UTC): measure what is filled by then")
    args = parser.parse_args()

    from service.access import set_password
    from service.app import ServiceContext

    with (kept_settings(args.keep) if args.keep else bench_settings()) as settings:
        ctx = ServiceContext.open(settings)
        customers = fill(ctx, settings, args.customers, args.fill_until)
        set_password(ctx.credentials, ctx.access, ADMIN, PASSWORD, one_time=False, at=ctx.clock(), actor="bench")
        ctx.close()

        port = free_port()
        server = serve(settings, port, 1)
        figures = {}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as browser:
                form = browser.get("/sign-in")
                csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
                signed_in = browser.post("/sign-in", data={"csrf": csrf, "user": ADMIN, "password": PASSWORD})
                assert signed_in.status_code == 303, signed_in.text
                pages = {
                    "support view": [f"/customers/{customers[n % len(customers)]}" for n in range(args.loads)],
                    "search": [f"/?customer={n % 10}{n % 7}" for n in range(args.loads)],
                    "ageing": ["/ageing"] * args.loads,
                    "ageing bar": ["/ageing?currency=EUR&bucket=%3E90"] * args.loads,
                    "statuses": ["/collection-statuses"] * args.loads,
                    "status bar": ["/collection-statuses?status=overdue"] * args.loads,
                    "collections run": ["/collections"] * args.loads,
                }
                for name, paths in pages.items():
                    say(f"{name}: {args.loads} loads")
                    figures[name] = timed(browser, paths)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"{'page':16}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}   ({len(customers)} customers)")
    for name, (p50, p95, most) in figures.items():
        print(f"{name:16}{p50:10.1f}{p95:10.1f}{most:10.1f}")
    report("console", figures["support view"][0], "ms p50 support view",
           **{f"{k.replace(' ', '_')}_{m}": round(v, 1) for k, f in figures.items()
              for m, v in zip(("p50_ms", "p95_ms", "max_ms"), f)})


if __name__ == "__main__":
    main()

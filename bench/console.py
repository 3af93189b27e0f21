"""How long a console page takes to load, through `ledger serve`, one staff member at a time.

    .venv/bin/python -m bench.console [--customers 1000] [--loads 100]

Customers are opened with a seat and a metered subscription and a usage line in January
(written in big batches, bench/bill_run.py's setup), billed by the bill run on 1 February
(due 3 March), and the projections rebuilt from the store; the console's day is the real
one, so every invoice is far past due. A billing admin signs in through the form, then each page is loaded
`--loads` times in turn: the support view of a customer (different customers), the
search by part of a name, the ageing chart over all customers and the customers behind
its over-90-days bar (its first page, and a page half-way down), the collection statuses
chart and the customers behind its "overdue" bar (the same two pages), and the collections
run's preview (its first page of accounts). Issue 13 asks for
a page under 300 ms (with 100,000 customers projected; pass --customers to approach it).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import psycopg
from psycopg.conninfo import make_conninfo

from bench.api import free_port, serve
from bench.bill_run import BILL, populate
from bench.common import ADMIN, Stopwatch, bench_settings, report, say
from ledger import embedded
from ledger.config import Settings
from ledger.runs import execute

PASSWORD = "bench password, long enough"


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


def fill(settings: Settings, total: int, workers: int, rebuild_kept: bool = False) -> list[str]:
    """Customers as a month-end bill run meets them (bench/bill_run.py's setup, written through
    the application in big batches, not one command at a time), billed for January by the bill
    run (ledger/runs), then every projection rebuilt from the store (`ledger replay rebuild`):
    no relay or projector on the way, so the fill goes at the store's batch pace. A kept database
    already holding `total` customers is left as it is, or only rebuilt (`rebuild_kept`: after a
    projection changed)."""
    from eventstore.postgres import open_application

    app = open_application(settings)
    customers = app.index.customer_ids()
    app.close()
    if len(customers) < total:
        if customers:
            raise SystemExit(f"the kept database holds {len(customers):,} customers, not {total:,}: drop it or keep "
                             "another name")
        with Stopwatch() as setup:
            populate(settings, total, 1, workers)
        say(f"{total:,} customers opened with a seat and a metered subscription and a usage line in {setup.seconds:.0f} s")
        with Stopwatch() as billing:
            billed = execute(settings, BILL, workers=workers)
        say(f"bill run: {billed.invoices:,} invoices in {billing.seconds:.0f} s")
        rebuild(settings, workers)
        app = open_application(settings)
        customers = app.index.customer_ids()
        app.close()
    elif rebuild_kept:
        rebuild(settings, workers)
    return customers


def rebuild(settings: Settings, workers: int) -> None:
    """Every projection rebuilt from the event store and swapped in, as `ledger replay` does."""
    from projections.registry import names
    from readside.replay import replay

    for name in names():
        result = replay(settings, name, "store", workers=workers)
        say(f"{name} rebuilt from the store: {result.events:,} events in {result.seconds:.1f} s "
            f"({result.rate:,.0f} events/s)")


def timed(client: httpx.Client, paths: list[str]) -> tuple[float, float, float]:
    timings = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(timings), statistics.quantiles(timings, n=20, method="inclusive")[18], max(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--keep", metavar="DATABASE",
                        help="fill a database of this name once and keep it; a later run with the same name only "
                             "measures")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild every projection of a kept database before measuring (after a projection changed)")
    parser.add_argument("--workers", type=int, default=2, help="processes that fill and rebuild (default 2)")
    parser.add_argument("--fill-only", action="store_true", help="fill (or rebuild) the kept database, measure nothing")
    args = parser.parse_args()

    from service.access import set_password
    from service.app import ServiceContext

    with (kept_settings(args.keep) if args.keep else bench_settings()) as settings:
        customers = fill(settings, args.customers, args.workers, args.rebuild)
        if args.fill_only:
            return
        ctx = ServiceContext.open(settings)
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
                middle = sorted(customers)[len(customers) // 2]  # a page of a bar's customers half-way down
                pages = {
                    "support view": [f"/customers/{customers[n % len(customers)]}" for n in range(args.loads)],
                    "search": [f"/?customer={n % 10}{n % 7}" for n in range(args.loads)],
                    "ageing": ["/ageing"] * args.loads,
                    "ageing bar": ["/ageing?currency=EUR&bucket=%3E90"] * args.loads,
                    "ageing bar mid": [f"/ageing?currency=EUR&bucket=%3E90&after={middle}"] * args.loads,
                    "statuses": ["/collection-statuses"] * args.loads,
                    "status bar": ["/collection-statuses?status=overdue"] * args.loads,
                    "status bar mid": [f"/collection-statuses?status=overdue&after={middle}"] * args.loads,
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

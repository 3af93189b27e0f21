"""Reading one customer's balance and support view with 100,000 customers projected.

    .venv/bin/python -m bench.reads [--customers 100000] [--reads 2000] [--batch 2000]

One customer's real life is told to the application (seats and metered usage, three months
invoiced, a late payment, reminders, a suspension and the payment that lifts it, a support
case escalated, a credit note), and its ledger events are read from the store as the relay
converts them. Copies of those events, under other customer ids, invoice numbers and case
ids, are folded by the projections' own functions into their tables, as a replay does.
Then single-customer reads of each view, by random customer, on one open connection (as a
service keeps one), are timed: p50 and p99 per view, against a read of the same customer's
row from the balances table by its primary key (the baseline: the cost of any read).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg

from bench.common import ADMIN, bench_settings, report, say
from consumers.projector import connect_read_models, set_up_read_side
from domain.usage import UsageReport
from eventstore.postgres import open_application
from projections.balances import BALANCES_VIEW
from projections.base import LedgerEvent
from projections.collections import COLLECTIONS_VIEW
from projections.invoices import INVOICES_VIEW
from projections.registry import all_projections
from projections.support import SUPPORT_VIEW, TIMELINE_KEPT
from projections.timeline import SENTENCES
from readside.history import customer_events
from readside.queries import ViewQuery

TEMPLATE = "TEMPLATE"


def latencies(read, customers: list[str], count: int) -> list[float]:
    """Milliseconds of `count` reads of random customers, after 200 to warm up (prepared
    statements, caches)."""
    sample = random.Random(7).choices(customers, k=count + 200)
    for customer in sample[:200]:
        read(customer)
    timings = []
    for customer in sample[200:]:
        started = time.perf_counter()
        read(customer)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98]


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=timezone.utc)


def live_template_customer(app, notes: int) -> None:
    app.bootstrap_admin(ADMIN, at=on(8, 1), actor="bench")
    app.open_account(TEMPLATE, "Template Corp", "EUR", 14, Decimal(20), at=on(8, 1), actor=ADMIN)
    app.add_seat_subscription(TEMPLATE, "T-365", "Microsoft 365 E3", 10, Decimal("33.00"), date(2026, 8, 1),
                              at=on(8, 1), actor=ADMIN)
    app.add_metered_subscription(TEMPLATE, "T-vm", "Virtual Machines", "vcpu-hours", "h", Decimal("0.0416"),
                                 Decimal(10), at=on(8, 1), actor=ADMIN)
    for month in (8, 9, 10):
        start = on(month, 10)
        app.record_usage([UsageReport(f"u-{month}-{n}", "meter", TEMPLATE, "T-vm", "Virtual Machines", "vcpu-hours",
                                      Decimal(24 * n), "h", start, start, start) for n in (1, 2)], actor="system:ingest")
        app.issue_invoice(TEMPLATE, date(2026, month, 1), date(2026, month + 1, 1), at=on(month + 1, 1), actor=ADMIN)
    app.receive_payment(TEMPLATE, "PAY-1", 20000, "EUR", "transfer", "SEPA", at=on(9, 10), actor=ADMIN)
    for month, day in ((9, 16), (9, 30), (10, 15), (10, 17)):
        app.collect(at=on(month, day), actor=ADMIN)
    app.open_case("CASE", TEMPLATE, "billing", "Why suspended?", ["INV-000001"], at=on(10, 18), actor=ADMIN)
    app.escalate_case("CASE", partner_support_plan="Partner Success Advanced", vendor_ticket="MS-1",
                      at=on(10, 18), actor=ADMIN)
    for n in range(notes):  # a longer timeline
        app.add_case_note("CASE", f"called the customer back ({n})", at=on(10, 18), actor=ADMIN)
    app.issue_credit_note(TEMPLATE, "CN-1", "INV-000002", 1000, "outage", at=on(10, 19), actor=ADMIN)
    account = app.get_account(TEMPLATE)  # pays all but October, which stays open
    october = account.invoices["INV-000003"].open_amount
    app.receive_payment(TEMPLATE, "PAY-2", account.balance - october, "EUR", "card", "", at=on(10, 20), actor=ADMIN)


def renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, names) for v in value]
    return value


def copies(template: list[LedgerEvent], first: int, count: int) -> list[LedgerEvent]:
    """The template's events for customers first..first+count, in notification order."""
    own = {e["invoice_number"] for t, e in template if t == "InvoiceIssued"} | {"CASE"}
    span = max(e["notification_id"] for _, e in template)
    events = []
    for n in range(first, first + count):
        customer = f"C{n:06d}"
        names = {TEMPLATE: customer, **{name: f"{name}-{customer}" for name in own}}
        for event_type, event in template:
            copy = renamed(event, names)
            copy["notification_id"] = n * span + event["notification_id"]
            events.append((event_type, copy))
    return events


def project_copies(settings, template: list[LedgerEvent], customers: int, batch: int) -> None:
    conn = connect_read_models(settings.database_url, settings.read_schema)
    projections = all_projections()
    set_up_read_side(conn, projections, settings.views_schema)
    started = time.perf_counter()
    for first in range(0, customers, batch):
        events = copies(template, first, min(batch, customers - first))
        with conn.transaction(), conn.cursor() as cursor:
            for projection in projections:
                projection.write(cursor, projection.changes(projection.relevant(events)))
        done = first + batch
        if done % (batch * 10) == 0 or done >= customers:
            rate = min(done, customers) * len(template) / (time.perf_counter() - started)
            say(f"projected {min(done, customers):,} customers ({rate:,.0f} events/s)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2_000, help="timed reads per view")
    parser.add_argument("--batch", type=int, default=2_000, help="customers projected per transaction")
    parser.add_argument("--notes", type=int, default=0,
                        help="notes on the template's support case: each is one more timeline row (200 fill it)")
    args = parser.parse_args()

    with bench_settings() as settings:
        app = open_application(settings)
        live_template_customer(app, args.notes)
        app.close()
        template = customer_events(settings, TEMPLATE)
        say(f"template customer: {len(template)} ledger events; projecting {args.customers:,} copies...")
        project_copies(settings, template, args.customers, args.batch)

        customers = [f"C{n:06d}" for n in range(args.customers)]
        with psycopg.connect(settings.database_url, autocommit=True) as conn:  # one open connection, as a service keeps
            def view_read(view):
                return lambda customer: ViewQuery(view, key=customer).rows(conn, settings.views_schema)

            table = f"SELECT * FROM {settings.read_schema}.customer_balances WHERE customer_id = %s"
            reads = {"baseline_table_row": lambda customer: conn.execute(table, (customer,), prepare=True).fetchall()}
            reads.update({view.query_name: view_read(view)
                          for view in (BALANCES_VIEW, SUPPORT_VIEW, INVOICES_VIEW, COLLECTIONS_VIEW)})
            figures = {}
            for name, read in reads.items():
                times = latencies(read, customers, args.reads)
                figures[name] = (statistics.median(times), p99(times))
                say(f"{name}: p50 {figures[name][0]:.2f} ms, p99 {figures[name][1]:.2f} ms")
    worst = max(figures["balances"][1], figures["support"][1])
    report(
        "single_customer_read_p99", worst, "ms (the slower of balance and support view, p99)",
        ratio=round(worst / figures["baseline_table_row"][1], 1),
        **{f"{name}_p50_ms": round(median, 3) for name, (median, _) in figures.items()},
        **{f"{name}_p99_ms": round(high, 3) for name, (_, high) in figures.items()},
        customers=args.customers, events_per_customer=len(template), reads_per_view=args.reads, target_ms=5,
        timeline_rows=min(sum(event_type in SENTENCES for event_type, _ in template), TIMELINE_KEPT),
    )


if __name__ == "__main__":
    main()

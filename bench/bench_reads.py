"""Read latency: one customer's balance through its view (what `ledger query balances CUSTOMER`
and an analyst's SQL read), with 100,000 customers projected, against the same row read
straight from the read-model table by primary key, in the same run.

    .venv/bin/python -m bench.bench_reads [--customers 100000] [--reads 5000]

The read models are filled through the projection's own functions and SQL, from generated
ledger records (an account opened, a subscription, a few usage lines per customer).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import psycopg
from psycopg.sql import SQL, Identifier

from bench.common import bench_settings, report, say
from consumers.projector import connect_read_models, set_up_read_side
from ledger.queries import ViewQuery
from projections.balances import BALANCES_VIEW
from projections.registry import all_projections

AT = datetime(2026, 9, 1, tzinfo=timezone.utc)


def ledger_records(customer: str, first_id: int, usage_lines: int) -> list[tuple[str, dict]]:
    """Records as the projector gets them off the ledger topic, every field of their schema."""
    subscription = {"subscription_id": f"{customer}-vm", "product": "Virtual Machines", "meter": "vcpu-hours",
                    "unit": "h", "unit_price": Decimal("0.042"), "markup_percent": Decimal(10)}
    events = [
        ("AccountOpened", {"name": f"Customer {customer}", "currency": "EUR", "payment_terms_days": 30,
                           "tax_rate": Decimal(20)}),
        ("MeteredSubscriptionAdded", subscription),
    ]
    for n in range(usage_lines):
        start = AT + timedelta(hours=n)
        events.append(("UsageRecorded", {**subscription, "usage_id": f"{customer}-u{n}", "source": "bench",
                                         "quantity": Decimal(n + 1), "period_start": start,
                                         "period_end": start + timedelta(hours=1), "currency": "EUR",
                                         "attributes": {}}))
    return [
        (t, {**e, "event_id": str(uuid4()), "aggregate_id": str(uuid4()), "aggregate_version": 1,
             "customer_id": customer, "actor": "bench", "occurred_at": AT + timedelta(hours=i),
             "notification_id": first_id + i})
        for i, (t, e) in enumerate(events)
    ]


def project_customers(settings, customers: list[str], usage_lines: int = 3) -> None:
    conn = connect_read_models(settings.database_url, settings.read_schema)
    projections = all_projections()
    set_up_read_side(conn, projections, settings.views_schema)
    per_customer = 2 + usage_lines
    for start in range(0, len(customers), 5000):
        events = [
            e for n, c in enumerate(customers[start : start + 5000], start)
            for e in ledger_records(c, 1 + n * per_customer, usage_lines)
        ]
        with conn.transaction(), conn.cursor() as cursor:
            for projection in projections:
                relevant = projection.relevant(events)
                if relevant:
                    projection.write(cursor, projection.changes(relevant))
    conn.execute(SQL("ANALYZE {}").format(Identifier(settings.read_schema, "customer_balances")))
    conn.commit()
    conn.close()


def latencies(read, customers: list[str], count: int) -> list[float]:
    sample = random.Random(7).choices(customers, k=count + 200)
    for customer in sample[:200]:  # warm: prepared statements, caches
        read(customer)
    timings = []
    for customer in sample[200:]:
        started = time.perf_counter()
        read(customer)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args()
    customers = [f"CUST-{n:06d}" for n in range(args.customers)]
    with bench_settings() as settings:
        started = time.perf_counter()
        project_customers(settings, customers)
        say(f"projected {len(customers):,} customers in {time.perf_counter() - started:.1f}s")
        with psycopg.connect(settings.database_url, autocommit=True) as conn:  # one round trip per read
            def through_view(customer: str) -> None:
                (row,) = ViewQuery(BALANCES_VIEW, key=customer).rows(conn, settings.views_schema)

            table = SQL("SELECT * FROM {} WHERE customer_id = %s").format(Identifier(settings.read_schema, "customer_balances"))

            def from_table(customer: str) -> None:
                (row,) = conn.execute(table, (customer,), prepare=True).fetchall()

            raw = latencies(from_table, customers, args.reads)
            view = latencies(through_view, customers, args.reads)
    figures = {
        "view_p50_ms": round(statistics.median(view), 3), "view_p99_ms": round(p99(view), 3),
        "table_p50_ms": round(statistics.median(raw), 3), "table_p99_ms": round(p99(raw), 3),
    }
    ratio = p99(view) / p99(raw)
    say(f"one customer's balance through the view: p50 {figures['view_p50_ms']} ms, p99 {figures['view_p99_ms']} ms; "
        f"from the table by key: p50 {figures['table_p50_ms']} ms, p99 {figures['table_p99_ms']} ms; view / table p99 = {ratio:.2f}")
    report("balance_read_p99_ms", p99(view), "ms", customers=args.customers, reads=args.reads,
           ratio=round(ratio, 3), target=5.0, **figures)


if __name__ == "__main__":
    main()

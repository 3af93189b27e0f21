"""What the benchmarks share: real services, a database and topics of their own, figures.

Each benchmark starts the embedded PostgreSQL and broker (or uses the ones that
LEDGER_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS name), creates a fresh database and
fresh topics, and drops them afterwards, so that runs do not see each other's data.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.process_cpu import postmaster_pid, tree_cpu_seconds
from ledger import embedded
from ledger.config import Settings

OPENED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
ADMIN = "bench-admin"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def bench_settings(partitions: int = 4) -> Iterator[Settings]:
    with embedded.services(Settings.from_env(), announce=say) as services:
        name = "bench_" + uuid4().hex[:10]
        admin_url = (
            make_conninfo(services.database_url, dbname="postgres")
            if conninfo_to_dict(services.database_url).get("dbname")
            else services.database_url
        )
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield replace(
                services,
                database_url=make_conninfo(services.database_url, dbname=name),
                usage_topic=f"usage.{name}",
                ledger_topic=f"ledger.{name}",
                group_prefix=f"group.{name}",
                topic_partitions=partitions,
            )
        finally:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """cProfile the block when a path is given; print the top of it to stderr."""
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        stats = pstats.Stats(str(path), stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)


def size_options(doc: str, events_help: str, processes: bool = False) -> argparse.Namespace:
    """The options every benchmark takes: how much work, and where to put a profile; and,
    for a consumer that scales out, how many processes share its group."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if processes:
        parser.add_argument("--processes", type=int, default=os.cpu_count(), help="members of the consumer group (default: one per core)")
    parser.add_argument("--events", type=int, default=100_000, help=events_help)
    parser.add_argument("--customers", type=int, default=200, help="customers the usage is spread over")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed part to this file (slows it)")
    return parser.parse_args()


def resident_kib(pid: int | str = "self", measure: str = "VmRSS") -> int:
    """A process's resident memory now (VmRSS) or at its peak (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{measure}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {measure} for process {pid}")


def postgres_cpu_seconds(settings: Settings) -> float | None:
    """CPU seconds (user + system) the embedded PostgreSQL server has used so far: the
    postmaster's, its live processes' (backends, checkpointer, WAL writer, autovacuum), and
    those of its processes that ended (counted in the postmaster's children's times). None
    for a server this machine does not run."""
    postmaster = postmaster_pid(settings.home / "pgdata")
    if settings.database_url is None or postmaster is None:
        return None
    return tree_cpu_seconds({"postgres": postmaster})["postgres"]


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that ended (worker processes, once joined)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(name: str, value: float, unit: str, **figures) -> None:
    """The last line a benchmark prints: one JSON object."""
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit, **figures}))


def open_customers(app, count: int, first: int = 0) -> list[str]:
    """Customers with one metered subscription each (the admin granted first, where roles exist)."""
    if hasattr(app, "bootstrap_admin"):
        app.bootstrap_admin(ADMIN, at=OPENED_AT, actor="bench")
    customers = [f"BENCH-{n:05d}" for n in range(first, first + count)]
    for customer in customers:
        app.open_account(customer, f"Customer {customer}", "EUR", 30, Decimal(20), at=OPENED_AT, actor=ADMIN)
        app.add_metered_subscription(
            customer, f"{customer}-vm", "Virtual Machines", "vcpu-hours", "h", Decimal("0.042"),
            Decimal(10), at=OPENED_AT, actor=ADMIN,
        )
    return customers


def usage_records(customers: list[str], count: int, prefix: str = "bench-usage") -> list[dict]:
    """Distinct usage, spread evenly over the customers, an hour of a VM each."""
    records = []
    for n in range(count):
        customer = customers[n % len(customers)]
        start = OPENED_AT + timedelta(hours=n // len(customers))
        records.append({
            "event_id": f"{prefix}-{n:09d}",
            "source_system": "bench-metering",
            "customer_id": customer,
            "subscription_id": f"{customer}-vm",
            "product": "Virtual Machines",
            "meter": "vcpu-hours",
            "quantity": Decimal(n % 97) / 4,
            "unit": "h",
            "usage_start": start,
            "usage_end": start + timedelta(hours=1),
            "observed_at": start + timedelta(hours=1, minutes=2),
            "attributes": {"region": "westeurope"},
        })
    return records


def raw_consume_rate(settings: Settings, topic: str, count: int, work=None) -> float:
    """The baseline: kafka-python alone, with the ledger's consumer settings, outside any
    group, fetching and iterating `count` messages of `topic` from its start; messages/s
    from the first record handed over to the last. `work`, if given, is done on each
    partition's batch of records as it arrives (bench.decode_floor)."""
    from kafka import TopicPartition

    from consumers import kafka_clients

    consumer = kafka_clients.consumer(settings, None)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen, started = 0, None
    while seen < count:
        for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
            started = started or time.perf_counter()
            if work is not None:
                work(records)
            seen += sum(1 for record in records if record.value is not None)
    seconds = time.perf_counter() - started
    consumer.close()
    return seen / seconds


MONTH_START = OPENED_AT.date()  # the month a bill run closes: January 2026
MONTH_END = MONTH_START.replace(month=2)
USAGE_BATCH = 20_000  # usage reports per record_usage call (one transaction)


def open_billable_customers(app, count: int, lines: int, currencies: tuple[str, ...] = ("EUR",),
                            accounts_per_save: int = 1_000, prefix: str = "BILL", first: int = 0) -> list[str]:
    """Customers as a month-end bill run meets them: a seat subscription and a metered one
    each, and `lines` usage lines in the month. Written fast: the accounts a thousand per
    transaction, the usage through the application's record_usage in big batches (not Kafka)."""
    from domain.accounts import CustomerAccount, account_id
    from domain.usage import UsageReport

    if not any(app.staff_directory().roles.values()):  # a new ledger (a test's has its admin)
        app.bootstrap_admin(ADMIN, at=OPENED_AT, actor="bench")
    customers = [f"{prefix}-{n:06d}" for n in range(first, first + count)]
    # Accounts opened before (a setup cut short and started again) are left as they are; their
    # usage is recorded again, as duplicates of what was recorded.
    stored = app.index.current_versions([account_id(c) for c in customers])
    opened = {c for c in customers if account_id(c) in stored}
    for start in range(0, count, accounts_per_save):
        accounts = []
        for n, customer in enumerate(customers[start:start + accounts_per_save], first + start):
            if customer in opened:
                continue
            account = CustomerAccount.open(customer, f"Customer {customer}", currencies[n % len(currencies)], 30,
                                           Decimal(20), at=OPENED_AT, actor=ADMIN)
            account.add_seat_subscription(f"{customer}-m365", "Microsoft 365 E3", 1 + n % 50, Decimal("33.75"),
                                          MONTH_START, at=OPENED_AT, actor=ADMIN)
            account.add_metered_subscription(f"{customer}-vm", "Virtual Machines", "vcpu-hours", "h",
                                             Decimal("0.042"), Decimal(10), at=OPENED_AT, actor=ADMIN)
            accounts.append(account)
        if accounts:
            app.save(*accounts)
    reports = []
    for customer in customers:
        for line in range(lines):
            start = OPENED_AT + timedelta(minutes=line)
            reports.append(UsageReport(
                f"{customer}-u{line:05d}", "bench-metering", customer, f"{customer}-vm", "Virtual Machines",
                "vcpu-hours", Decimal(line % 97) / 4, "h", start, start + timedelta(minutes=1),
                start + timedelta(minutes=2),
            ))
            if len(reports) == USAGE_BATCH:
                _record(app, reports)
    _record(app, reports)
    return customers


def _record(app, reports: list) -> None:
    if reports:
        outcome = app.record_usage(reports, actor="system:bench")
        assert not outcome.rejected, outcome.rejected[:1]
        reports.clear()

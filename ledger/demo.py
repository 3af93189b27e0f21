"""`ledger demo`: a few dozen customers, three months of metered usage, through the real pipeline.

Everything is deterministic (fixed ids, a seeded generator), so a second run publishes the
same usage again: the ledger counts it as duplicates and prints the same table.
"""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from ledger import kafka
from ledger.config import Settings
from ledger.processes import ingest_process, projector_process, relay_process, run
from ledger.store import open_application
from ledger.usage_publisher import publish_usage

ACTOR = "demo:billing-admin"
FIRST_DAY = date(2026, 8, 1)
DAYS = 92
CUSTOMERS = 36

# (subscription suffix, product, meter, unit, unit price)
METERS = [
    ("vm", "Azure Virtual Machines", "vcpu-hours", "h", Decimal("0.0416")),
    ("storage", "Azure Blob Storage", "gb-days", "GB", Decimal("0.000613")),
    ("copilot", "Copilot Studio", "messages", "msg", Decimal("0.01")),
]
COMPANIES = (
    "Contoso Fabrikam Northwind Tailspin Litware Adatum Proseware Woodgrove Wingtip Alpine "
    "Relecloud Trey Lamna Humongous Coho Margie Lucerne Fourth"
).split()
CURRENCIES = ["EUR", "USD", "GBP", "EUR", "CHF", "JPY"]


def demo_customers() -> list[dict]:
    rng = random.Random(2026)
    customers = []
    for n in range(1, CUSTOMERS + 1):
        customer_id = f"CUST-{n:03d}"
        meters = rng.sample(METERS, rng.randint(1, 3))
        customers.append(
            {
                "customer_id": customer_id,
                "name": f"{COMPANIES[(n - 1) % len(COMPANIES)]} {'Ltd' if n % 2 else 'GmbH'} {n}",
                "currency": CURRENCIES[n % len(CURRENCIES)],
                "markup": Decimal(rng.choice([-5, 0, 0, 10, 15])),
                "meters": meters,
                "scale": rng.randint(1, 40),
            }
        )
    return customers


def demo_usage(customers: list[dict]) -> list[dict]:
    rng = random.Random(11)
    records = []
    for day_number in range(DAYS):
        day = FIRST_DAY + timedelta(days=day_number)
        start = datetime.combine(day, time(), timezone.utc)
        for customer in customers:
            for suffix, product, meter, unit, _price in customer["meters"]:
                quantity = Decimal(rng.randint(0, 2400 * customer["scale"])) / 100
                records.append(
                    {
                        "event_id": f"demo-{customer['customer_id']}-{suffix}-{day.isoformat()}",
                        "source_system": "demo-metering",
                        "customer_id": customer["customer_id"],
                        "subscription_id": f"{customer['customer_id']}-{suffix}",
                        "product": product,
                        "meter": meter,
                        "quantity": quantity,
                        "unit": unit,
                        "usage_start": start,
                        "usage_end": start + timedelta(days=1),
                        "observed_at": start + timedelta(days=1, minutes=5),
                        "attributes": {"region": rng.choice(["westeurope", "eastus", "uksouth"])},
                    }
                )
    return records


def open_demo_accounts(app, customers: list[dict]) -> None:
    opened_at = datetime.combine(FIRST_DAY, time(), timezone.utc)
    for customer in customers:
        app.open_account(
            customer["customer_id"],
            customer["name"],
            customer["currency"],
            30,
            Decimal("20"),
            at=opened_at,
            actor=ACTOR,
        )
        for suffix, product, meter, unit, price in customer["meters"]:
            app.add_metered_subscription(
                customer["customer_id"],
                f"{customer['customer_id']}-{suffix}",
                product,
                meter,
                unit,
                price,
                customer["markup"],
                at=opened_at,
                actor=ACTOR,
            )


def run_demo(settings: Settings, say) -> None:
    app = open_application(settings)
    if not app.staff_directory().roles:  # a new ledger: the demo's admin is its first user
        app.bootstrap_admin(ACTOR, at=datetime.combine(FIRST_DAY, time(), timezone.utc), actor="demo")
    customers = demo_customers()
    open_demo_accounts(app, customers)
    kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    published = publish_usage(producer, settings.usage_topic, demo_usage(customers))
    producer.close()
    say(f"published {published} usage events for {len(customers)} customers to {settings.usage_topic}")

    processes = [ingest_process(settings, app), relay_process(settings, app), projector_process(settings)]
    try:
        run(processes, threading.Event(), until_drained=True)
    finally:
        for process in processes:
            process.close()
    counts = processes[0].ingest.counts
    say(
        f"ingest: {counts.consumed} consumed = {counts.recorded} recorded + {counts.duplicates} duplicates"
        f" + {counts.dead_letters} dead letters; relay published {processes[1].relay.published} ledger events"
    )

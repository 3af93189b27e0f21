"""Builders of sample accounts and usage, so that tests state only what matters to them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from domain.usage import UsageReport

OPENED_AT = datetime(2026, 9, 1, tzinfo=timezone.utc)
ADMIN = "alice@reseller.example"


def open_customer(app, customer_id: str = "CUST-1", currency: str = "EUR", unit_price: str = "0.5") -> None:
    app.open_account(customer_id, f"Customer {customer_id}", currency, 30, Decimal("20"), at=OPENED_AT, actor=ADMIN)
    app.add_metered_subscription(
        customer_id, f"{customer_id}-vm", "Virtual Machines", "vcpu-hours", "h", Decimal(unit_price),
        at=OPENED_AT, actor=ADMIN,
    )


def usage_record(event_id: str, customer_id: str = "CUST-1", quantity: str = "2", day: int = 1, **changes) -> dict:
    start = datetime(2026, 9, day, tzinfo=timezone.utc)
    record = {
        "event_id": event_id,
        "source_system": "metering-test",
        "customer_id": customer_id,
        "subscription_id": f"{customer_id}-vm",
        "product": "Virtual Machines",
        "meter": "vcpu-hours",
        "quantity": Decimal(quantity),
        "unit": "h",
        "usage_start": start,
        "usage_end": start + timedelta(days=1),
        "observed_at": start + timedelta(days=1, minutes=1),
        "attributes": {},
    }
    record.update(changes)
    return record


def usage_report(event_id: str, **changes) -> UsageReport:
    """The usage_record above as the ingest hands it to the application."""
    r = usage_record(event_id, **changes)
    return UsageReport(
        usage_id=r["event_id"], source=r["source_system"], customer_id=r["customer_id"],
        subscription_id=r["subscription_id"], product=r["product"], meter=r["meter"],
        quantity=r["quantity"], unit=r["unit"], period_start=r["usage_start"],
        period_end=r["usage_end"], observed_at=r["observed_at"], attributes=r["attributes"],
    )


LEDGER_EVENT_AT = datetime(2026, 9, 2, tzinfo=timezone.utc)


def usage_recorded(notification_id: int = 7) -> dict:
    """A UsageRecorded ledger record as the relay writes it (with its rated amount)."""
    return {
        "event_id": "5f0c6f55-9a4e-4c47-9b0e-2d3c9f0e1a11", "notification_id": notification_id,
        "aggregate_id": "0b7e4a52-7c1d-4f5e-8a4b-6c2d1e0f9a22", "aggregate_version": 1,
        "customer_id": "CUST-1", "occurred_at": LEDGER_EVENT_AT, "actor": "system:ingest", "usage_id": "u-1",
        "source": "metering", "subscription_id": "CUST-1-vm", "product": "Virtual Machines", "meter": "vcpu-hours",
        "quantity": Decimal("2.5"), "unit": "h", "period_start": LEDGER_EVENT_AT, "period_end": LEDGER_EVENT_AT, "currency": "EUR",
        "unit_price": Decimal("0.5"), "markup_percent": Decimal("10"), "amount": Decimal("1.375"), "attributes": {"region": "westeurope"},
    }

"""The store's answer to "which usage of these customers is not invoiced yet" (eventstore/index.py):
the lines an invoice names are left out, the others come in the order they were recorded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bench.common import MONTH_END, MONTH_START, OPENED_AT, open_billable_customers
from domain.usage import UsageReport
from tests.factories import ADMIN

INVOICED_AT = OPENED_AT.replace(month=2, hour=6)


def late_usage(customer: str, n: int) -> UsageReport:
    start = OPENED_AT + timedelta(days=20, minutes=n)
    return UsageReport(f"{customer}-late{n}", "bench-metering", customer, f"{customer}-vm", "Virtual Machines",
                       "vcpu-hours", Decimal("1.5"), "h", start, start + timedelta(minutes=1), INVOICED_AT + timedelta(days=1))


def test_usage_an_invoice_names_is_left_out_and_usage_recorded_after_it_comes_in_order(app):
    first, second = open_billable_customers(app, 2, 3)
    app.issue_invoice(first, MONTH_START, MONTH_END, at=INVOICED_AT, actor=ADMIN)
    app.record_usage([late_usage(first, 2), late_usage(first, 1), late_usage(second, 1)], actor="system:bench")
    usage = app.index.uninvoiced_usage_of([first, second, "NOBODY"])
    assert [u.usage_id for u in usage[first]] == [f"{first}-late2", f"{first}-late1"]  # the invoiced three left out
    assert [u.usage_id for u in usage[second]] == [f"{second}-u{n:05d}" for n in range(3)] + [f"{second}-late1"]
    assert usage["NOBODY"] == []
    line = usage[first][0]
    assert (line.quantity, line.unit, line.period_start, line.amount) == (
        Decimal("1.5"), "h", (OPENED_AT + timedelta(days=20)).date(), Decimal("1.5") * Decimal("0.042") * Decimal("1.1"))

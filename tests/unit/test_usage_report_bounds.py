"""A usage report is checked against the ledger's bounds in the domain (UsageReport.check_valid),
each broken rule named by the reason code the ingest dead-letters it with; the ingest passes its
clock in, the domain has none."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from consumers.ingest import check_key, check_usage
from domain import bounds
from domain.usage import InvalidUsageReport, UsageReport
from schemas import DecodeError

START = datetime(2026, 9, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 9, 3, tzinfo=timezone.utc)
REPORT = UsageReport(
    "u-1", "metering", "CUST-1", "CUST-1-vm", "Virtual Machines", "vcpu-hours", Decimal("2.5"), "h",
    START, START + timedelta(hours=1), START + timedelta(hours=1),
)

BROKEN = [
    ({"usage_id": " "}, "blank_usage_id"),
    ({"usage_id": "u 1"}, "invalid_id"),
    ({"customer_id": "CUST-\x1b[2J"}, "invalid_id"),
    ({"subscription_id": "vm\u2066"}, "invalid_id"),
    ({"usage_id": "u" * (bounds.MAX_ID_LENGTH + 1)}, "invalid_id"),
    ({"meter": "m" * (bounds.MAX_NAME_LENGTH + 1)}, "text_too_long"),
    ({"attributes": {str(n): "" for n in range(bounds.MAX_ATTRIBUTES + 1)}}, "too_many_attributes"),
    ({"attributes": {"k" * (bounds.MAX_ATTRIBUTE_LENGTH + 1): ""}}, "attribute_too_long"),
    ({"quantity": Decimal("NaN")}, "non_finite_quantity"),
    ({"quantity": Decimal("-Infinity")}, "non_finite_quantity"),
    ({"quantity": Decimal("-0.000000001")}, "negative_quantity"),
    ({"quantity": Decimal("0.0000000001")}, "too_many_decimals"),
    ({"quantity": bounds.MAX_QUANTITY + Decimal("0.000000001")}, "out_of_range"),
    ({"quantity": Decimal("1E+30")}, "out_of_range"),
    ({"period_start": datetime(1999, 12, 31, 23, tzinfo=timezone.utc)}, "dated_too_early"),
    ({"observed_at": NOW + bounds.MAX_CLOCK_SKEW + timedelta(seconds=1)}, "dated_in_future"),
    ({"period_end": START - timedelta(seconds=1)}, "period_ends_before_start"),
]


@pytest.mark.parametrize(("changes", "reason"), BROKEN, ids=[r for _, r in BROKEN])
def test_a_report_past_a_bound_is_refused_with_its_reason(changes, reason):
    report = replace(REPORT, **changes)
    with pytest.raises(InvalidUsageReport) as refused:
        report.check_valid(NOW)
    assert refused.value.reason == reason
    with pytest.raises(DecodeError) as dead_lettered:
        check_usage(report, NOW)
    assert (dead_lettered.value.reason, dead_lettered.value.detail) == (reason, str(refused.value))
    assert "\x1b" not in str(refused.value) and "\u2066" not in str(refused.value), "never raw in a message"


def test_a_report_at_its_bounds_is_accepted():
    at_the_bounds = replace(
        REPORT, usage_id="u" * bounds.MAX_ID_LENGTH, quantity=bounds.MAX_QUANTITY, period_start=bounds.EARLIEST_BUSINESS_TIME,
        observed_at=NOW + bounds.MAX_CLOCK_SKEW, period_end=NOW + bounds.MAX_CLOCK_SKEW,
        attributes={f"k{n}": "\x1b[2J" + "v" * 200 for n in range(bounds.MAX_ATTRIBUTES)},
    )
    check_usage(at_the_bounds, NOW)


def test_without_a_clock_the_domain_does_not_judge_the_future():
    replace(REPORT, observed_at=datetime(2999, 1, 1, tzinfo=timezone.utc), period_end=datetime(2999, 1, 1, tzinfo=timezone.utc)).check_valid()


@pytest.mark.parametrize("key", [None, b"CUST-2", b"cust-1", b"CUST-1 "])
def test_the_key_must_be_the_customer_id(key):
    with pytest.raises(DecodeError) as refused:
        check_key(key, REPORT)
    assert refused.value.reason == "key_mismatch"
    check_key(b"CUST-1", REPORT)

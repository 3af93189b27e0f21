"""Usage messages as upstream systems send them, good and bad: one for each dead-letter reason
the first corpus named (tests of the ingest and its dead letters share them)."""

from __future__ import annotations

from datetime import timedelta

from schemas import encode_with, registry
from tests.factories import ADMIN, usage_record
from tests.schema_versions import V1_HEADER, retyped, usage_v2

USAGE = "billing.usage.UsageEvent"


def usage(event_id: str, **changes) -> bytes:
    return registry().encode(USAGE, usage_record(event_id, **changes))


def one_of_each_reason() -> dict[str, bytes]:
    """A message for each reason the ingest can meet (non-finite quantities cannot be
    written as an Avro decimal: see the unit test below), keyed by the reason expected."""
    start = usage_record("x")["usage_start"]
    without_attributes = usage_v2(lambda s: s["fields"].pop())
    event_id_as_long = usage_v2(retyped("event_id", "long"))
    return {
        "not_single_object": b"quantity=12.5;customer=CUST-1",
        "unknown_fingerprint": b"\xc3\x01" + b"\x00" * 8 + usage("u-fp")[10:],
        "wrong_schema": registry().encode("billing.ledger.AccountClosed", {
            "event_id": "00000000-0000-0000-0000-000000000001", "notification_id": 1,
            "aggregate_id": "00000000-0000-0000-0000-000000000002", "aggregate_version": 2,
            "customer_id": "CUST-1", "occurred_at": start, "actor": ADMIN,
        }),
        "missing_field": V1_HEADER + encode_with(without_attributes, usage_record("u-missing"))[10:],
        "wrong_type": V1_HEADER + encode_with(event_id_as_long, usage_record("u-type") | {"event_id": 7})[10:],
        "malformed_body": usage("u-cut")[:-4],
        "blank_usage_id": usage(""),
        "negative_quantity": usage("u-negative", quantity="-2"),
        "period_ends_before_start": usage("u-backwards", usage_end=start - timedelta(hours=1)),
        "unknown_customer": usage("u-nobody", customer_id="NOBODY", subscription_id="NOBODY-vm"),
        "unknown_subscription": usage("u-nosub", subscription_id="CUST-1-storage"),
        "account_closed": usage("u-closed", customer_id="CUST-CLOSED", subscription_id="CUST-CLOSED-vm"),
        "invalid_usage": usage("u-unit", unit="GB"),
    }

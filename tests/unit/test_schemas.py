"""Avro single-object encoding: fingerprints, golden bytes and the reasons a message is refused."""

from decimal import Decimal

import fastavro
import pytest

from schemas import MARKER, DecodeError, registry, schema_fingerprint
from tests.factories import usage_record

USAGE = "billing.usage.UsageEvent"


def test_fingerprint_is_the_avro_specs_crc64_in_little_endian():
    # The Java reference implementation gives 0x7275d51a3f395c8f for the schema "int".
    assert schema_fingerprint(fastavro.parse_schema("int")) == bytes.fromhex("8f5c393f1ad57572")


def test_usage_event_round_trips_through_single_object_encoding():
    record = usage_record("u-1", quantity="12.5", attributes={"region": "westeurope"})
    data = registry().encode(USAGE, record)
    assert data[:2] == MARKER
    schema, decoded = registry().decode(data, expect=USAGE)
    assert schema.name == USAGE
    assert decoded["quantity"] == Decimal("12.5")
    assert decoded["usage_start"] == record["usage_start"]
    assert decoded["attributes"] == {"region": "westeurope"}


def test_usage_event_v1_encoding_is_pinned():
    data = registry().encode(USAGE, usage_record("u-1", quantity="2"), version=1)
    assert data.hex() == GOLDEN_USAGE_V1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"plain text", "not_single_object"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown_fingerprint"),
    ],
)
def test_names_why_a_message_cannot_be_read(data, reason):
    with pytest.raises(DecodeError) as refused:
        registry().decode(data)
    assert refused.value.reason == reason


def test_a_truncated_body_is_malformed_not_a_crash():
    data = registry().encode(USAGE, usage_record("u-1"))
    with pytest.raises(DecodeError) as refused:
        registry().decode(data[:20])
    assert refused.value.reason == "malformed_body"


def test_another_schema_where_a_usage_event_is_expected_is_refused():
    ledger_event = registry().encode(
        "billing.ledger.AccountClosed",
        {
            "event_id": "00000000-0000-0000-0000-000000000001",
            "notification_id": 1,
            "aggregate_id": "00000000-0000-0000-0000-000000000002",
            "aggregate_version": 2,
            "customer_id": "CUST-1",
            "occurred_at": usage_record("x")["observed_at"],
            "actor": "alice",
        },
    )
    with pytest.raises(DecodeError) as refused:
        registry().decode(ledger_event, expect=USAGE)
    assert refused.value.reason == "wrong_schema"


# Marker C3 01, the fingerprint, then the body: "u-1" is 06 75 2d 31 (zig-zag length 3).
GOLDEN_USAGE_V1 = (
    "c301bdc2352b570938af"
    "06752d311a6d65746572696e672d746573740c435553542d3112435553542d312d766d2056697274"
    "75616c204d616368696e657314766370752d686f75727308773594000268808083999398ad068080"
    "bef6969dad06809cdaaf979dad0600"
)

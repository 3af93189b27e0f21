"""Old producers and new consumers (and the reverse) through the codec, with a temporary v2 of
UsageEvent; and how a message that does not follow its schema is named when it is refused."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from schemas import DecodeError, SchemaRegistry, SchemaVersion, encode_with, registry
from tests.factories import usage_record
from tests.schema_versions import NEW_CONSUMER, OLD_CONSUMER, USAGE, V1, V1_HEADER, V2, retyped, usage_v2


def test_a_new_consumer_reads_an_old_producers_message_with_the_new_fields_default():
    old_message = encode_with(V1, usage_record("u-1", quantity="3.5"))
    schema, record = NEW_CONSUMER.decode(old_message, expect=USAGE)
    assert schema.version == 2
    assert record["region"] is None and record["quantity"] == Decimal("3.5")


def test_an_old_consumer_reads_a_new_producers_message_without_the_new_field():
    new_message = encode_with(V2, usage_record("u-1") | {"region": "westeurope"})
    schema, record = OLD_CONSUMER.decode(new_message, expect=USAGE)
    assert schema.version == 1
    assert "region" not in record and record["event_id"] == "u-1"


def test_a_consumer_that_does_not_know_a_new_version_refuses_it_by_fingerprint():
    new_message = encode_with(V2, usage_record("u-1") | {"region": "westeurope"})
    with pytest.raises(DecodeError) as refused:
        registry().decode(new_message, expect=USAGE)
    assert refused.value.reason == "unknown_fingerprint"


def refusal(codec: SchemaRegistry, data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as refused:
        codec.decode(data, expect=USAGE)
    return refused.value


def test_a_version_whose_field_changed_type_is_refused_as_wrong_type():
    broken = usage_v2(retyped("usage_start", "string"))
    codec = SchemaRegistry([V1, broken], readers={USAGE: 1})
    error = refusal(codec, encode_with(broken, usage_record("u-1") | {"usage_start": "yesterday"}))
    assert error.reason == "wrong_type" and "string" in error.detail


def test_a_version_without_a_required_field_is_refused_as_missing_field():
    broken = usage_v2(lambda s: s["fields"].remove(next(f for f in s["fields"] if f["name"] == "unit")))
    codec = SchemaRegistry([V1, broken], readers={USAGE: 1})
    error = refusal(codec, encode_with(broken, usage_record("u-1")))
    assert error.reason == "missing_field" and "field unit" in error.detail


def stamped_v1(body_schema: SchemaVersion, record: dict) -> bytes:
    """A buggy producer: a body of one schema behind v1's fingerprint."""
    return V1_HEADER + encode_with(body_schema, record)[10:]


def test_a_body_that_stops_before_a_field_is_refused_as_missing_field():
    without_attributes = usage_v2(lambda s: s["fields"].pop())
    error = refusal(registry(), stamped_v1(without_attributes, usage_record("u-1")))
    assert error.reason == "missing_field" and "before field attributes" in error.detail


def test_a_body_with_a_field_of_another_type_is_refused_as_wrong_type():
    error = refusal(registry(), stamped_v1(usage_v2(retyped("event_id", "long")), usage_record("u-1") | {"event_id": 5}))
    assert error.reason == "wrong_type"


def test_a_body_cut_short_or_with_bytes_left_over_is_malformed():
    message = registry().encode(USAGE, usage_record("u-1"))
    assert refusal(registry(), message[:-3]).reason == "malformed_body"
    assert refusal(registry(), message + b"\x00").reason == "malformed_body"


def test_a_json_payload_is_not_single_object_encoded():
    error = refusal(registry(), b'{"event_id": "u-1", "quantity": "2"}')
    assert error.reason == "not_single_object" and "JSON" in error.detail


# --- the real second versions: UsageRecorded and UsageInvoiced v2 carry the rated amount ---

RATED_USAGE = ("billing.ledger.UsageRecorded", "billing.ledger.UsageInvoiced")


def rated_usage_record(name: str) -> dict:
    """A record of the newest version, with the widest amount the ledger's bounds allow."""
    from domain.bounds import EXACT, MAX_PRICE, MAX_QUANTITY, MAX_RATE
    from tests.golden import sample_record

    with localcontext(EXACT):
        widest = MAX_QUANTITY * MAX_PRICE * (1 + MAX_RATE / 100)
    return sample_record(registry().latest(name)) | {"amount": widest}


@pytest.mark.parametrize("name", RATED_USAGE)
def test_the_newest_usage_versions_carry_any_amount_the_bounds_allow_exactly(name):
    record = rated_usage_record(name)
    _, decoded = registry().decode(registry().encode(name, record))
    assert decoded["amount"] == record["amount"] and len(record["amount"].as_tuple().digits) == 115


@pytest.mark.parametrize("name", RATED_USAGE)
def test_a_new_consumer_reads_a_v1_usage_message_with_no_amount(name):
    old_message = registry().encode(name, rated_usage_record(name), version=1)
    schema, record = registry().decode(old_message, expect=name)
    assert (schema.version, record["amount"]) == (2, None) and record["quantity"] is not None


@pytest.mark.parametrize("name", RATED_USAGE)
def test_an_old_consumer_reads_a_v2_usage_message_without_the_amount(name):
    old_consumer = SchemaRegistry(registry().versions_of[name], readers={name: 1})
    schema, record = old_consumer.decode(registry().encode(name, rated_usage_record(name)), expect=name)
    assert schema.version == 1 and "amount" not in record and record["usage_id"]

"""A straight read (fastavro on the schema stripped of its logical types, then schemas/logical.py's
conversions) gives the very values fastavro's decode on the full schema gives: equal, of the same
type, decimals with the same exponent, datetimes with the same tzinfo; for every ledger schema
and the UsageEvent, on records fastavro encodes from raw wire values (zero, negatives, past the
precision, before 1970, out of range, nulls in unions, empty maps and arrays). Where fastavro's
decode fails, the straight read gives none, so the caller's full decode raises what it always did."""

from __future__ import annotations

import copy
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from consumers.ledger_decoder import LedgerDecoder
from schemas import HEADER_LENGTH, SchemaRegistry, SchemaVersion, encode_with, registry
from schemas.logical import straight_reader
from schemas.walk import stripped
from tests.factories import usage_recorded
from tests.unit.test_projector_decoding import as_record

SCHEMAS = sorted(registry().by_fingerprint.values(), key=lambda schema: schema.file_name)
MIN_MICROS = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z: the first instant a datetime holds
MAX_MICROS = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
MIN_DAYS, MAX_DAYS = date.min.toordinal() - 719_163, date.max.toordinal() - 719_163


def test_every_schema_of_the_ledger_and_usage_is_read_straight():
    assert [s.file_name for s in SCHEMAS if straight_reader(s.source) is None] == []


# 15 records a schema: the schemas share their common fields and their few logical types,
# and every schema is drawn on each run (the test's time is the unit layer's largest).
@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.file_name)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_straight_read_gives_what_fastavro_gives_on_the_full_schema(schema: SchemaVersion, data):
    body = data.draw(wire_records(schema))

    expected = full_decode(schema.parsed, body)
    got = straight_reader(schema.source).read(body, HEADER_LENGTH)

    if isinstance(expected, Exception):
        assert got is None, f"fastavro refuses it ({expected!r}), the straight read gave {got!r}"
    else:
        assert_same(got, expected)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.file_name)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_straight_read_keeping_uuids_as_text_gives_what_fastavro_gives_without_the_uuid_type(schema, data):
    body = data.draw(wire_records(schema))

    expected = full_decode(fastavro.parse_schema(stripped(schema.source, only={"uuid"})), body)
    got = straight_reader(schema.source, uuid_as_text=True).read(body, HEADER_LENGTH)

    if isinstance(expected, Exception):
        assert got is None
    else:
        assert_same(got, expected)


@pytest.mark.parametrize("name", ["billing.ledger.UsageRecorded", "billing.usage.UsageEvent"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_registry_decodes_and_refuses_as_fastavro_alone_did(name, data):
    body = data.draw(wire_records(registry().latest(name)))
    fastavro_alone = SchemaRegistry(list(registry().by_fingerprint.values()))
    fastavro_alone.straight = dict.fromkeys(fastavro_alone.by_fingerprint)  # no straight reader for any schema

    assert_same(outcome(registry().decode, body), outcome(fastavro_alone.decode, body))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_projectors_decoder_reads_as_fastavro_does_keeping_uuids_as_text(data):
    schema = registry().latest("billing.ledger.UsageRecorded")
    body = data.draw(wire_records(schema))
    expected = full_decode(fastavro.parse_schema(stripped(schema.source, only={"uuid"})), body)
    refused = []

    events = LedgerDecoder({"UsageRecorded"}).decode([as_record(body)], refused)

    if isinstance(expected, Exception):
        assert events == [] and len(refused) == 1
    else:
        assert_same(events, [("UsageRecorded", expected)])


@pytest.mark.parametrize("logical", [
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "fixed", "name": "Money", "size": 16, "logicalType": "decimal", "precision": 38, "scale": 2},
    {"type": "int", "logicalType": "time-millis"},
])
def test_a_schema_with_a_logical_type_it_does_not_convert_is_left_to_fastavro(logical):
    source = {"type": "record", "name": "t.Odd", "fields": [{"name": "value", "type": logical}]}
    schema = SchemaVersion.from_json("t.Odd", 1, source)
    raw = b"\x00" * 16 if logical["type"] == "fixed" else 7

    body = encode_with(schema, {"value": raw})

    assert straight_reader(source) is None
    assert SchemaRegistry([schema]).decode(body)[1] == full_decode(schema.parsed, body)


def test_a_union_whose_value_does_not_tell_its_branch_is_left_to_fastavro():
    source = {"type": "record", "name": "t.Either", "fields": [
        {"name": "value", "type": ["bytes", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}]}]}

    assert straight_reader(source) is None


def test_a_named_type_used_again_by_its_name_is_converted_there_too():
    source = {"type": "record", "name": "Window", "namespace": "t", "fields": [
        {"name": "first", "type": {"type": "record", "name": "Span", "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}},
        {"name": "then", "type": {"type": "array", "items": "Span"}},
        {"name": "maybe", "type": ["null", "t.Span"]}]}
    schema = SchemaVersion.from_json("t.Window", 1, source)
    body = encode_with(schema, {"first": {"at": -1}, "then": [{"at": 0}, {"at": 2**40}], "maybe": {"at": 5}})

    got = straight_reader(source).read(body, HEADER_LENGTH)

    assert_same(got, full_decode(schema.parsed, body))
    assert isinstance(got["then"][1]["at"], datetime) and isinstance(got["maybe"]["at"], datetime)


def test_a_recursive_type_is_left_to_fastavro():
    source = {"type": "record", "name": "t.Node", "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "next", "type": ["null", "t.Node"]}]}

    assert straight_reader(source) is None


def test_a_body_cut_short_or_too_long_is_not_read_straight_and_the_registry_names_why():
    body = registry().encode("billing.ledger.UsageRecorded", usage_recorded())
    reader = straight_reader(registry().latest("billing.ledger.UsageRecorded").source)

    assert reader.read(body, HEADER_LENGTH) is not None
    assert reader.read(body[:-3], HEADER_LENGTH) is None
    assert reader.read(body + b"\x00", HEADER_LENGTH) is None
    with pytest.raises(Exception, match="malformed_body: 1 bytes left after a billing.ledger.UsageRecorded.v2.avsc record"):
        registry().decode(body + b"\x00")


# -- what the tests compare ---------------------------------------------------------------


def full_decode(parsed: Any, body: bytes) -> Any:
    """fastavro's decode on the schema as parsed, or the exception it raises."""
    stream = io.BytesIO(body)
    stream.seek(HEADER_LENGTH)
    try:
        record = fastavro.schemaless_reader(stream, parsed, None)
    except Exception as error:  # noqa: BLE001 - the test compares failing with failing
        return error
    return record if stream.tell() == len(body) else ValueError("bytes left over")


def outcome(decode, body: bytes) -> Any:
    """What decode returns, or the text of the error it raises."""
    try:
        return decode(body)
    except Exception as error:  # noqa: BLE001 - the test compares failing with failing
        return f"{type(error).__name__}: {error}"


def assert_same(got: Any, expected: Any, where: str = "record") -> None:
    assert type(got) is type(expected), f"{where}: {got!r} is not a {type(expected).__name__} ({expected!r})"
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), where
        for key in expected:
            assert_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for n, (a, b) in enumerate(zip(got, expected)):
            assert_same(a, b, f"{where}[{n}]")
    elif isinstance(expected, Decimal):
        assert (got, got.as_tuple()) == (expected, expected.as_tuple()), where
    elif isinstance(expected, datetime):
        assert (got, got.tzinfo) == (expected, expected.tzinfo), where
    else:
        assert got == expected, where


# -- records as fastavro encodes them, from raw wire values ---------------------------------


def wire_records(schema: SchemaVersion) -> st.SearchStrategy[bytes]:
    parsed = schema.parsed
    named = parsed.get("__named_schemas", {})
    return values(parsed, named).map(lambda record: encode_with(schema, copy.deepcopy(record)))


def values(schema: Any, named: dict) -> st.SearchStrategy:
    """Values of the schema as its wire holds them: logical types given raw, so that fastavro's
    encoder writes them as they are (decimals past their precision, instants no datetime holds)."""
    if isinstance(schema, list):
        return st.one_of([values(branch, named) for branch in schema])
    if isinstance(schema, str):
        return values(named[schema], named) if schema in named else PRIMITIVES[schema]
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "decimal":
        return unscaled_bytes(schema["precision"])
    if logical == "timestamp-micros":
        return st.one_of(st.integers(MIN_MICROS, MAX_MICROS), st.sampled_from([0, -1, 1, MIN_MICROS, MAX_MICROS]),
                         st.sampled_from([MIN_MICROS - 1, MAX_MICROS + 1, -2**63, 2**63 - 1]))
    if logical == "date":
        return st.one_of(st.integers(MIN_DAYS, MAX_DAYS), st.sampled_from([0, -1, MIN_DAYS, MAX_DAYS, MAX_DAYS + 1, -2**31]))
    if logical == "uuid":
        return st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.uuids().map(lambda u: "{%s}" % u.hex),
                         st.just("not-a-uuid"))
    if kind in ("record", "error"):
        return st.fixed_dictionaries({field["name"]: values(field["type"], named) for field in schema["fields"]})
    if kind == "array":
        return st.lists(values(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=5), values(schema["values"], named), max_size=3)
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    return values(kind, named)


def unscaled_bytes(precision: int) -> st.SearchStrategy[bytes]:
    """Two's-complement big-endian unscaled integers: within the precision, at its edges, past it
    (fastavro rounds those to it), in the fewest bytes, sign-extended, or no bytes at all (zero)."""
    largest = 10**precision - 1
    integers = st.one_of(st.integers(-largest, largest), st.sampled_from([0, 1, -1, largest, -largest, largest + 1, -largest - 1]),
                         st.integers(-(10 ** (precision + 3)), 10 ** (precision + 3)))

    def encoded(n: int, padding: int) -> bytes:
        return n.to_bytes(n.bit_length() // 8 + 1 + padding, "big", signed=True)

    return st.one_of(st.builds(encoded, integers, st.integers(0, 2)), st.just(b""))


PRIMITIVES = {
    "null": st.none(), "boolean": st.booleans(), "int": st.integers(-2**31, 2**31 - 1), "long": st.integers(-2**63, 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False), "double": st.floats(allow_nan=False),
    "bytes": st.binary(max_size=8), "string": st.text(max_size=8),
}


def test_a_value_seen_again_is_given_again_and_past_the_remembered_count_as_fastavro_gives_it(monkeypatch):
    monkeypatch.setattr("schemas.logical.REMEMBERED", 3)
    schema = registry().latest("billing.usage.UsageEvent")
    reader = straight_reader(schema.source)
    sample = {"event_id": "u", "source_system": "s", "customer_id": "C", "subscription_id": "C-vm", "product": "p",
              "meter": "m", "unit": "h", "usage_start": 0, "usage_end": 3_600_000_000, "attributes": {}}
    bodies = [encode_with(schema, {**sample, "quantity": Decimal(n % 5), "observed_at": n}) for n in range(12)]

    for body in bodies + bodies:
        assert_same(reader.read(body, HEADER_LENGTH), full_decode(schema.parsed, body))
    first, again = reader.read(bodies[0], HEADER_LENGTH), reader.read(bodies[0], HEADER_LENGTH)
    assert first["usage_start"] is again["usage_start"] and first["quantity"] is again["quantity"]

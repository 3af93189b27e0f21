"""The relay writes each ledger event with its schema's logical types stripped and the values
converted first (schemas/writer.py): what it publishes must stay, byte for byte, what fastavro
writes with the full schema, for every ledger event type, and the same values must be refused.

The oracle here is the relay as it was: fastavro's schemaless_writer on the full parsed schema,
the record read off the domain event field by field, the event id the standard library's uuid5.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid5

import fastavro
import pytest
from eventsourcing.utils import get_topic
from hypothesis import example, given, settings, strategies as st

from consumers.ledger_events import COMMON_FIELDS, DERIVED_FIELDS, SCHEMA_OF_EVENT
from consumers.relay import ledger_messages
from domain.application import BillingLedger
from domain.roles import Role
from schemas import MARKER, SchemaVersion, encode_with, registry
from tests.billing_life import HELPDESK, on, whole_life
from eventstore.postgres import FastJSONTranscoder, LedgerMapper
from tests.factories import ADMIN, OPENED_AT
from tests.unit.in_memory import IN_MEMORY, MemoryLedgerIndex
from tests.unit.test_a_store_from_before_the_account_moved_still_loads import STORE, stored


def full_schema_encoding(schema: SchemaVersion, record: dict) -> bytes:
    body = io.BytesIO()
    body.write(MARKER + schema.fingerprint)
    fastavro.schemaless_writer(body, schema.parsed, record)
    return body.getvalue()


def message_as_it_was(event, notification_id: int) -> tuple[bytes, bytes, list]:
    schema = registry().latest(SCHEMA_OF_EVENT[type(event)])
    derived = DERIVED_FIELDS.get(type(event), {})
    record = {
        "event_id": str(uuid5(event.originator_id, str(event.originator_version))),
        "notification_id": notification_id,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "customer_id": getattr(event, "customer_id", ""),
        "occurred_at": event.timestamp,
    }
    for f in schema.parsed["fields"]:
        if f["name"] not in COMMON_FIELDS:
            record[f["name"]] = derived[f["name"]](event) if f["name"] in derived else getattr(event, f["name"])
    headers = [("event_type", schema.short_name.encode()), ("event_id", record["event_id"].encode())]
    return record["customer_id"].encode(), full_schema_encoding(schema, record), headers


def published_types(app) -> set[type]:
    """Assert that the relay's messages for everything in the store are the old ones; the event types seen."""
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    published = ledger_messages(notifications, app.mapper)
    for notification, event, message in zip(notifications, events, published, strict=True):
        assert message == message_as_it_was(event, notification.id), (notification.id, notification.topic)
    return {type(e) for e in events}


# The library's transcoder and mapper (the unit tests' in-memory store), and the event store's
# own (eventstore/: FastJSONTranscoder, LedgerMapper), on the in-memory backend.
MAPPERS = {
    "library": {},
    "event store": {"TRANSCODER_TOPIC": get_topic(FastJSONTranscoder), "MAPPER_TOPIC": get_topic(LedgerMapper)},
}


def in_memory(mapper: str) -> BillingLedger:
    app = BillingLedger(env={**IN_MEMORY, **MAPPERS[mapper]})
    app.index = MemoryLedgerIndex(app)
    return app


@pytest.fixture(params=sorted(MAPPERS))
def mapper(request) -> str:
    return request.param


@pytest.fixture
def life(mapper):
    """A customer's whole life, and the staff and support events it does not have."""
    app = in_memory(mapper)
    app.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    whole_life(app)
    app.revoke_role(HELPDESK, Role.HELPDESK_AGENT, at=on(12, 2), actor=ADMIN)
    app.grant_role(HELPDESK, Role.HELPDESK_AGENT, at=on(12, 2), actor=ADMIN)
    app.resolve_case("CASE-1", "the October seats were credited", at=on(12, 3), actor=HELPDESK)
    app.reopen_case("CASE-1", "asks again", at=on(12, 4), actor=HELPDESK)
    yield app
    app.close()


@pytest.fixture
def old_store(mapper):
    """Every account event as an older release stored it (InvoiceIssued v1, upcast as it loads)."""
    app = in_memory(mapper)
    app.recorder.insert_events([stored(e) for e in STORE["events"]])
    yield app
    app.close()


def test_every_ledger_event_type_is_published_with_the_bytes_of_its_full_schema(life, old_store):
    seen = published_types(life) | published_types(old_store)
    assert set(SCHEMA_OF_EVENT) <= seen, sorted(t.__qualname__ for t in set(SCHEMA_OF_EVENT) - seen)


# A record of every converted logical type, as the ledger schemas use them.
PROBE = SchemaVersion.from_json("test.Probe", 1, {
    "type": "record", "name": "Probe", "namespace": "test",
    "fields": [
        {"name": "quantity", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 9}},
        {"name": "markup", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 4}},
        {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 115, "scale": 24}]},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "lines", "type": {"type": "array", "items": {
            "type": "record", "name": "Line", "fields": [
                {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 9}},
                {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            ]}}},
        {"name": "more_lines", "type": {"type": "array", "items": "Line"}},
    ],
})


def outcome(encode, record: dict) -> bytes | str:
    try:
        return encode(PROBE, record)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as error:
        return f"refused ({type(error).__name__})"


def same_outcome(record: dict) -> None:
    old, new = outcome(full_schema_encoding, record), outcome(encode_with, record)
    assert (old if isinstance(old, bytes) else "refused") == (new if isinstance(new, bytes) else "refused")


def any_decimal(largest_exponent: int = 30):
    """Decimals of any sign, coefficient and exponent (trailing zeros kept), zero, NaN, infinities."""
    made = st.builds(
        lambda negative, coefficient, exponent: Decimal(f"{'-' if negative else ''}{coefficient}E{exponent}"),
        st.booleans(), st.one_of(st.integers(0, 10**40), st.integers(0, 10**120), st.sampled_from([0, 1, 127, 128, 255, 256])),
        st.integers(-30, largest_exponent),
    )
    return st.one_of(made, st.decimals(), st.sampled_from([Decimal("-0"), Decimal("0E-12"), Decimal("NaN"), Decimal("-Infinity")]))


def probe(**values) -> dict:
    record = {"quantity": Decimal(1), "markup": Decimal(0), "amount": None, "at": on(9, 1), "day": date(2026, 9, 1),
              "id": "5f0c6f55-9a4e-4c47-9b0e-2d3c9f0e1a11", "lines": [], "more_lines": []}
    return record | values


@settings(max_examples=400, deadline=None)
@given(quantity=any_decimal(), markup=any_decimal(), amount=st.none() | any_decimal(), price=any_decimal())
@example(quantity=Decimal("99999999999999999999999999999.999999999"), markup=Decimal("-0.0001"),
         amount=Decimal("-" + "9" * 91 + "." + "9" * 24), price=Decimal("1E+29"))
@example(quantity=Decimal("1.0000000000"), markup=Decimal("1.00000"), amount=Decimal("1E-25"), price=Decimal("-128E-9"))
def test_decimals_are_written_and_refused_as_fastavro_writes_and_refuses_them(quantity, markup, amount, price):
    same_outcome(probe(quantity=quantity, markup=markup, amount=amount, lines=[{"price": price, "day": date(2026, 1, 1)}]))


ANY_ZONE = st.one_of(st.none(), st.just(timezone.utc), st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m))))


@settings(max_examples=300, deadline=None)
@given(at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ANY_ZONE),
       day=st.one_of(st.dates(), st.datetimes()), id=st.one_of(st.uuids(), st.uuids().map(str)))
@example(at=datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc), day=date(1969, 12, 31), id="x")
@example(at=datetime(1970, 1, 1, tzinfo=timezone(timedelta(hours=-1))), day=date(1970, 1, 1), id="x")
def test_timestamps_dates_and_uuids_are_written_as_fastavro_writes_them(at, day, id):
    same_outcome(probe(at=at, day=day, id=id, more_lines=[{"price": Decimal("0.5"), "day": day}]))


def test_a_decimal_equal_to_one_written_before_but_with_more_places_than_the_scale_is_still_refused():
    encode_with(PROBE, probe(quantity=Decimal("1.5")))
    with pytest.raises(ValueError, match=r"field quantity: 1\.5000000000 has 10 decimal places; the schema's decimal carries 9"):
        encode_with(PROBE, probe(quantity=Decimal("1.5000000000")))
    assert full_schema_encoding(PROBE, probe(quantity=Decimal("1.50"))) == encode_with(PROBE, probe(quantity=Decimal("1.50")))


def test_a_refused_decimal_names_its_field_and_what_the_schema_carries():
    with pytest.raises(ValueError, match=r"field markup: 1{39} has 39 digits; the schema's decimal carries 38"):
        encode_with(PROBE, probe(markup=Decimal("1" * 39)))
    with pytest.raises(ValueError, match="field amount: NaN is not a number"):
        encode_with(PROBE, probe(amount=Decimal("NaN")))


def test_the_records_handed_in_are_not_changed():
    line = {"price": Decimal("2.5"), "day": date(2026, 1, 1)}
    record = probe(lines=[line])
    before = {**record, "lines": [dict(line)]}
    encode_with(PROBE, record)
    assert record == before and record["lines"][0] is line and line == {"price": Decimal("2.5"), "day": date(2026, 1, 1)}


def test_a_schema_whose_conversions_are_not_made_here_is_written_with_its_full_schema():
    """A union of two logical types (which branch a converted value picks is fastavro's to say)
    and a type that refers to itself."""
    either = SchemaVersion.from_json("test.Either", 1, {
        "type": "record", "name": "Either", "fields": [
            {"name": "at", "type": ["null", {"type": "int", "logicalType": "date"}, {"type": "long", "logicalType": "timestamp-micros"}]},
            {"name": "next", "type": ["null", "Either"]},
        ],
    })
    assert either.writer[0] is either.parsed
    for record in ({"at": date(2026, 1, 1), "next": None}, {"at": on(9, 1), "next": {"at": None, "next": None}}):
        assert encode_with(either, record) == full_schema_encoding(either, record)

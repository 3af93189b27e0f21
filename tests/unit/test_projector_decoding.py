"""How the projector reads ledger records: straight when written with the reader schema,
through schema resolution when not, not at all when no projection reads the type; a record
it cannot read (garbage, another schema) is handed back with its reason, or stops it."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from consumers.ledger_decoder import LedgerDecoder, UndecodableLedgerEvent
from schemas import SchemaRegistry, SchemaVersion, encode_with, registry
from tests.factories import LEDGER_EVENT_AT, usage_recorded


def as_record(value: bytes, event_type: str | None = "UsageRecorded", offset: int = 3) -> ConsumerRecord:
    headers = [("event_type", event_type.encode())] if event_type else []
    return ConsumerRecord("ledger", 1, -1, offset, 0, 0, b"CUST-1", value, headers, None, len(value), -1, -1)


def test_a_record_in_its_reader_schema_is_read_with_its_values_and_uuids_as_text():
    value = registry().encode("billing.ledger.UsageRecorded", usage_recorded())

    ((event_type, event),) = LedgerDecoder({"UsageRecorded"}).decode([as_record(value)])

    assert event_type == "UsageRecorded"
    assert event == {**usage_recorded(), "quantity": Decimal("2.500000000"), "unit_price": Decimal("0.500000000"),
                     "markup_percent": Decimal("10.0000"), "amount": Decimal("1.375").quantize(Decimal("1e-24"))}
    assert isinstance(event["event_id"], str)


def test_a_record_of_an_older_writer_schema_is_resolved_to_the_reader_schema():
    v1 = registry().latest("billing.ledger.UsageRecorded")
    newer = copy.deepcopy(v1.source)
    newer["fields"].append({"name": "cost_centre", "type": "string", "default": "none"})
    codec = SchemaRegistry([v1, SchemaVersion.from_json(v1.name, v1.version + 1, newer)])
    decoder = LedgerDecoder({"UsageRecorded"})
    decoder.codec = codec

    ((_, event),) = decoder.decode([as_record(encode_with(v1, usage_recorded()))])

    assert event["cost_centre"] == "none" and event["customer_id"] == "CUST-1"


def test_a_type_no_projection_reads_is_not_decoded_at_all():
    not_avro = b"{not even avro}"
    assert LedgerDecoder({"UsageRecorded"}).decode([as_record(not_avro, event_type="SupportCaseNoteAdded")]) == []


def test_a_record_that_cannot_be_read_stops_a_decoder_given_nowhere_to_put_it_naming_where_it_is():
    value = registry().encode("billing.ledger.UsageRecorded", usage_recorded())

    with pytest.raises(UndecodableLedgerEvent, match=r"ledger:1@3: malformed_body"):
        LedgerDecoder({"UsageRecorded"}).decode([as_record(value[:-9])])
    with pytest.raises(UndecodableLedgerEvent, match=r"ledger:1@3: not_single_object"):
        LedgerDecoder({"UsageRecorded"}).decode([as_record(b"plain text", event_type=None)])


def test_records_it_cannot_read_are_handed_back_with_their_reasons_and_the_rest_decoded():
    good = registry().encode("billing.ledger.UsageRecorded", usage_recorded())
    usage = registry().encode("billing.usage.UsageEvent", {
        "event_id": "u-1", "source_system": "s", "customer_id": "CUST-1", "subscription_id": "CUST-1-vm",
        "product": "p", "meter": "m", "quantity": Decimal("1"), "unit": "h", "usage_start": LEDGER_EVENT_AT, "usage_end": LEDGER_EVENT_AT,
        "observed_at": LEDGER_EVENT_AT, "attributes": {},
    })
    records = [as_record(b"junk", offset=1), as_record(good, offset=2), as_record(usage, offset=3),
               as_record(good[:-9], offset=4), as_record(good, event_type="Whatever", offset=5),
               as_record(b"junk", event_type="SupportCaseNoteAdded", offset=6)]  # a type no one reads: not even looked at
    refused = []

    events = LedgerDecoder({"UsageRecorded"}).decode(records, refused)

    assert [e["notification_id"] for _, e in events] == [7]
    assert [(r.offset, error.reason) for r, error in refused] == [
        (1, "not_single_object"), (3, "wrong_schema"), (4, "malformed_body"), (5, "wrong_schema")]

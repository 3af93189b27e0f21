"""The event store's faster JSON transcoder writes exactly what the library's writes, so stored
events stay readable by the library's own mapper (and by SQL that reads their JSON)."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from eventstore.transcoding import FastJSONTranscoder


class Colour(Enum):
    RED = "red"


class ColourAsName(Transcoding):
    type = Colour
    name = "colour"

    def encode(self, obj):
        return obj.name

    def decode(self, data):
        return Colour[data]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj):
        return obj.isoformat()

    def decode(self, data):
        return date.fromisoformat(data)


@dataclass(frozen=True)
class Point:
    x: int


def transcoders(*extra):
    made = []
    for cls in (JSONTranscoder, FastJSONTranscoder):
        transcoder = cls()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), *extra):
            transcoder.register(transcoding)
        made.append(transcoder)
    return made


AT = datetime(2026, 9, 1, 12, 30, tzinfo=timezone.utc)
STATES = [
    {"timestamp": AT, "quantity": Decimal("12.500"), "customer_id": "CUST-1", "attributes": {"région": "ouest"}},
    {"nested": [{"amount": Decimal("-0.01")}, [AT, None, True, 3]], "empty": {}, "list": []},
    {"id": UUID(int=7), "price": 0.1, "big": 2**70 + 1, "small": -(2**63)},  # the library's own path
    {"looks_transcoded": {"_type_": "decimal_str", "_data_": "1.5"}, "not_quite": {"_type_": "x"}},
    {"colour": Colour.RED, "day": AT.date()},
]


@pytest.mark.parametrize("state", STATES)
def test_writes_the_same_bytes_and_reads_the_same_values_as_the_library(state):
    library, fast = transcoders(ColourAsName(), DateAsISO())
    assert fast.encode(state) == library.encode(state)
    read, expected = fast.decode(library.encode(state)), library.decode(library.encode(state))
    assert read == expected and repr(read) == repr(expected)  # an integer read as a float would equal it


def test_refuses_what_the_library_refuses():
    library, fast = transcoders()
    for state in ({"colour": Colour.RED}, {"point": Point(1)}, {"day": date(2026, 1, 1)}):
        with pytest.raises(TranscodingNotRegisteredError):
            library.encode(state)
        with pytest.raises(TranscodingNotRegisteredError):
            fast.encode(state)


def test_an_encoded_state_holds_the_memory_of_its_own_length_only():
    # A batch of usage events is held encoded until it is stored: what each holds adds up.
    _, fast = transcoders()
    state = STATES[0]
    length = len(fast.encode(state))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [fast.encode(state) for _ in range(1000)]
        per_state = (tracemalloc.get_traced_memory()[0] - before) / len(held)
    finally:
        tracemalloc.stop()
    assert per_state < length + 200, f"{per_state:.0f} bytes held per state of {length} bytes"


def test_reads_decimals_with_their_exponent_and_times_with_their_offset():
    # repr, not ==: equal decimals may differ in their exponent (12.5, 12.500), and the Avro bytes with it
    library, fast = transcoders()
    state = {"quantity": Decimal("12.500"), "price": Decimal("1E+3"), "zero": Decimal("-0.000"),
             "at": datetime(2026, 9, 1, 12, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))), "lines": [{"amount": Decimal("2.50")}]}
    stored = library.encode(state)
    assert repr(fast.decode(stored)) == repr(library.decode(stored))


def test_reads_a_few_fields_as_it_reads_the_whole_state_an_integer_past_64_bits_too():
    library, fast = transcoders()
    stored = library.encode({"big": 2**70 + 1, "quantity": Decimal("12.500"), "customer_id": "CUST-1"})
    assert fast.decode_fields(stored, ("big", "quantity")) == (2**70 + 1, Decimal("12.500"))
    assert type(fast.decode_fields(stored, ("big",))[0]) is int

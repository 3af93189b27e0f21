"""Avro logical types, the decoding direction: a body read by fastavro on its schema with the
logical types stripped, then only the values that have a logical type converted, by
conversions built once per schema from the schema itself (the .avsc files stay the one
source of truth of which field is a decimal, a timestamp, a date or a uuid).

Why: fastavro's conversions, a generic lookup per value, were more than half of a record's
decode (a UsageRecorded v2: 13.4 µs on its schema, 6.0 µs stripped; 8.8 µs read here: see
bench/decode_cost.py). Each field's conversion here is one closure, and remembers the values
it made for the last raw values it saw (period bounds and prices repeat from event to event).
They give the very values fastavro gives, which tests/unit/test_logical_decoding.py holds
them to: a decimal is the unscaled integer rounded to the schema's precision, half-even,
at exponent -scale (so `0` at scale 9 is `0E-9`, as fastavro has it); a timestamp-micros is an
aware UTC datetime; a date is a date; a uuid a uuid.UUID, or the text on the wire where the
reader keeps uuids as text.

A schema with a logical type fastavro converts and this module does not (timestamp-millis,
fixed decimals, times...), a recursive type, or a union whose value does not tell its branch
(two branches read as the same Python type, one of them converted) gets no StraightReader:
fastavro reads it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any
from uuid import UUID

import fastavro
from fastavro.read import LOGICAL_READERS

from schemas.walk import AS_IS, Conversion, Direction, Fields, NotConverted, stripped
from schemas.walk import conversion as conversion_of

REMEMBERED = 1024  # converted values kept per field: about 0.5 MiB in all for a UsageRecorded of distinct instants and amounts
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The Python type fastavro reads each stripped Avro type as: how a union's value tells its branch.
_PYTHON_TYPE = {
    "null": type(None), "boolean": bool, "int": int, "long": int, "float": float, "double": float,
    "bytes": bytes, "fixed": bytes, "string": str, "enum": str, "record": dict, "error": dict, "map": dict, "array": list,
}


class StraightReader:
    """Reads bodies written with one schema, the reader's own (no resolution)."""

    def __init__(self, source: dict, uuid_as_text: bool = False):
        self.parsed = fastavro.parse_schema(stripped(source))
        named: dict = {}  # full name -> schema of every named type, as parse_schema resolves references
        self.convert = conversion_of(fastavro.parse_schema(source, named_schemas=named), named, _direction(uuid_as_text))

    def read(self, data: bytes, start: int) -> Any | None:
        """The record in data[start:], or None when it cannot be read straight (any error, bytes
        left over): fastavro's full decode then names what is wrong, exactly as it always has."""
        body = io.BytesIO(data)
        body.seek(start)
        try:
            record = fastavro.schemaless_reader(body, self.parsed, None)
            if body.tell() != len(data):
                return None
            return record if self.convert is None else self.convert(record)
        except Exception:  # noqa: BLE001 - the caller's full decode raises the error it always raised
            return None


def straight_reader(source: dict, uuid_as_text: bool = False) -> StraightReader | None:
    """A StraightReader for the schema, or None when fastavro must read it."""
    if not source:
        return None
    try:
        return StraightReader(source, uuid_as_text)
    except NotConverted:
        return None


def _decimal(schema: dict) -> Conversion:
    if "precision" not in schema:
        raise NotConverted("a decimal without a precision")
    # fastavro's arithmetic: a context of the schema's precision (half-even), the unscaled
    # integer times 10^-scale; one multiply rounds as its create_decimal + scaleb do.
    multiply = Context(prec=schema["precision"]).multiply
    step = Decimal((0, (1,), -schema.get("scale", 0)))
    from_bytes = int.from_bytes
    return _remembered(lambda data: multiply(from_bytes(data, "big", signed=True), step))


def _timestamp_micros(schema: dict) -> Conversion:
    add = _EPOCH.__add__
    return _remembered(lambda micros: add(timedelta(0, 0, micros)))


def _date(schema: dict) -> Conversion:
    return _remembered(lambda days: date.fromordinal(days + _EPOCH_ORDINAL))


def _remembered(conversion: Conversion) -> Conversion:
    """The conversion, giving a value it made again for the same raw value: values repeat
    (every event of an hour has its period's bounds, every event of a subscription its
    price), and a Decimal, a datetime or a date is immutable. At most REMEMBERED per field."""
    made: dict = {}
    get = made.get

    def convert(raw: Any) -> Any:
        value = get(raw)
        if value is None:
            if len(made) >= REMEMBERED:
                made.clear()
            value = made[raw] = conversion(raw)
        return value

    return convert


_CONVERSIONS: dict[str, Callable[[dict], Conversion]] = {
    "bytes-decimal": _decimal, "long-timestamp-micros": _timestamp_micros, "int-date": _date,
}


def _direction(uuid_as_text: bool) -> Direction:
    def leaf(schema: dict, key: str) -> Conversion | None | object:
        if key == "string-uuid":
            return None if uuid_as_text else UUID
        if key in _CONVERSIONS:
            return _CONVERSIONS[key](schema)
        if key in LOGICAL_READERS:
            raise NotConverted(f"the logical type {schema['logicalType']} on {schema['type']}")
        return AS_IS  # a logical type fastavro does not know it reads as its plain type: so do we

    return Direction(leaf=leaf, union=_union, record=_record)


def _record(fields: Fields) -> Conversion:
    def convert(record: dict) -> dict:
        for name, conversion in fields:
            record[name] = conversion(record[name])
        return record

    return convert


def _union(branches: list, conversions: list, named: dict) -> Conversion | None:
    """A union's value is converted as its branch's, the branch told by the value's Python
    type: so a branch with a conversion must be the only one read as its type."""
    read_as = [_python_type(branch, named) for branch in branches]
    by_type = {}
    for python_type, conversion in zip(read_as, conversions):
        if conversion is not None:
            if python_type is None or read_as.count(python_type) > 1:
                raise NotConverted("a union whose value does not tell its branch")
            by_type[python_type] = conversion
    if not by_type:
        return None

    def convert(value: Any) -> Any:
        conversion = by_type.get(type(value))
        return value if conversion is None else conversion(value)

    return convert


def _python_type(branch: Any, named: dict) -> type | None:
    if isinstance(branch, str) and branch in named:
        branch = named[branch]
    if isinstance(branch, dict):
        branch = branch["type"]
    return _PYTHON_TYPE.get(branch) if isinstance(branch, str) else None

"""Writing a record: fastavro on the schema with its logical types taken out, the values
turned into their Avro base types here first. The bytes are those fastavro writes with the
full schema.

fastavro looks each field's logical type up and converts its value while it writes: on a
UsageRecorded ledger event (four decimals, three timestamps, two uuids) that was more than
half of its 17 µs, and the relay encodes every stored event. Each schema's conversions are
made once from its own logicalType annotations (the .avsc files stay the one source of
truth), then applied to each record before fastavro writes it with the stripped schema.

| logical type | value converted here | becomes |
| --- | --- | --- |
| decimal (bytes) | `Decimal` | its unscaled value at the schema's scale, two's complement big-endian, in (bit length of its magnitude + 8) // 8 bytes |
| timestamp-micros | `datetime` with a time zone | microseconds since 1970-01-01 UTC |
| date | `date` (not a datetime) | days since 1970-01-01 |
| uuid | `UUID` | its 36-character text |

Any other value (already a base type, a naive datetime, a value of the wrong type) and any
other logical type is handed to fastavro's own conversion, so that it is converted, passed
through or refused as before. A decimal is refused when fastavro refuses it: more digits than
the precision, more decimal places than the scale (trailing zeros count), or not finite. Every
refusal of a converted value is a ValueError that names the field (fastavro raised a TypeError
for some, a not-finite decimal among them; no caller tells the two apart).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, Inexact
from typing import Any

import fastavro
from fastavro.logical_writers import LOGICAL_WRITERS

from schemas.walk import (
    AS_IS,
    Conversion,
    Direction,
    Fields,
    NotConverted,
    conversion,
    stripped,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def plain_writer(source: dict, parsed: dict) -> tuple[dict, Conversion]:
    """The schema to write a record with, and the conversion of the record before: the
    schema's own (`parsed`, unchanged) when no conversion is made here (a union of two logical
    types, a recursive type, no source to strip)."""
    if not source:
        return parsed, _unchanged
    named: dict = {}  # full name -> schema of every named type, as parse_schema resolves references
    try:
        convert = conversion(fastavro.parse_schema(source, named_schemas=named), named, _WRITING)
    except NotConverted:
        return parsed, _unchanged
    if convert is None:
        return parsed, _unchanged
    return fastavro.parse_schema(stripped(source)), convert


def _unchanged(record: Any) -> Any:
    return record


def _leaf(schema: dict, key: str) -> Conversion | object:
    return _logical(schema, key) if key in LOGICAL_WRITERS else AS_IS


def _union(branches: list, conversions: list, named: dict) -> Conversion | None:
    converting = [c for c in conversions if c is not None]
    if not converting:
        return None
    if len(branches) == 2 and "null" in branches:
        (convert,) = converting
        return lambda value: None if value is None else convert(value)
    # fastavro picks the branch by the value before conversion: which branch a converted value
    # would pick is not checked here.
    raise NotConverted(f"a union of {branches}")


def _record(converting: Fields) -> Conversion:
    def convert_record(record: dict) -> dict:
        plain = dict(record)  # the caller's record (an event's lines) stays as it was
        for name, convert in converting:
            if name in plain:  # a missing field is fastavro's to fill with its default, or refuse
                try:
                    plain[name] = convert(plain[name])
                except (ValueError, TypeError, ArithmeticError) as error:
                    raise ValueError(f"field {name}: {error}") from error
        return plain

    return convert_record


_WRITING = Direction(leaf=_leaf, union=_union, record=_record)


def _logical(schema: dict, key: str) -> Conversion:
    fastavros = LOGICAL_WRITERS[key]

    def as_fastavro(value: Any) -> Any:
        return fastavros(value, schema)

    if key == "bytes-decimal":
        return _decimal(schema["precision"], schema.get("scale", 0), as_fastavro)
    if key == "long-timestamp-micros":
        return lambda value: (value - _EPOCH) // _MICROSECOND if type(value) is datetime and value.tzinfo is not None else as_fastavro(value)
    if key == "int-date":
        return lambda value: value.toordinal() - _EPOCH_DAY if type(value) is date else as_fastavro(value)
    if key == "string-uuid":
        return lambda value: value if type(value) is str else as_fastavro(value)
    return as_fastavro


# Decimals written, per field, remembered up to this many: unit prices and markups repeat
# along a subscription's usage, and an amount along equal quantities.
DECIMALS_REMEMBERED = 4096


def _decimal(precision: int, scale: int, as_fastavro: Conversion) -> Conversion:
    # scaleb in this context only moves the exponent: the coefficient (at most `precision`
    # digits, checked first) is kept whole.
    exact = Context(prec=precision, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])
    # value -> (the value written, its bytes). Equal decimals may differ in their exponent
    # (1.5 and 1.50), and a longer one may be refused: a remembered value is used only for a
    # decimal of the same exponent (same_quantum).
    written: dict[Decimal, tuple[Decimal, bytes]] = {}

    def to_bytes(value: Any) -> Any:
        if type(value) is not Decimal:
            return as_fastavro(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a number a decimal field carries")
        known = written.get(value)
        if known is not None and value.same_quantum(known[0]):
            return known[1]
        digits, exponent = value.as_tuple()[1:]
        if len(digits) > precision:
            raise ValueError(f"{value} has {len(digits)} digits; the schema's decimal carries {precision}")
        if exponent + scale < 0:
            raise ValueError(f"{value} has {-exponent} decimal places; the schema's decimal carries {scale}")
        unscaled = int(value.scaleb(scale, exact))
        encoded = unscaled.to_bytes((abs(unscaled).bit_length() + 8) // 8, "big", signed=True)
        if len(written) >= DECIMALS_REMEMBERED:
            written.clear()
        written[value] = (value, encoded)
        return encoded

    return to_bytes

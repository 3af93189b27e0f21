"""A faster JSON transcoder for the event store, writing what the library's writes.

The library's JSONTranscoder calls back into Python for every Decimal, datetime and UUID
(`default=` and `object_hook=` of the json module): at ingest rates that was a sixth of
the time per usage event. This one hands plain states to orjson, which writes the same
bytes (`{"_type_": name, "_data_": ...}` for the registered types, compact separators,
UTF-8), and decodes with orjson plus one walk that applies the same transcodings.

Anything orjson would write differently (UUIDs, floats, enums, dataclasses, subclasses of
the JSON types, dict keys that are not strings, huge integers) sends the whole state down
the library's own path, so stored events stay decodable by the library's mapper and by
anything that reads the JSON (the ledger's PostgreSQL indexes).

orjson hands back its whole write buffer (4 KiB or more, whatever the JSON's length): a
batch of 20,000 usage events held 80 MiB of it until the batch was stored, and the ingest's
resident memory grew with its backlog. Each state is copied to bytes of its own length.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
)

# Exact types that orjson writes as the json module does.
_PLAIN = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list})
# Types that orjson hands to `default` (datetimes only with OPT_PASSTHROUGH_DATETIME).
_HANDED_OVER = frozenset({Decimal, datetime, date, time})
# The library's transcodings whose decode is one call of a C function: called directly, without
# the Python frame of their decode (a stored usage event holds seven such values; the relay
# decodes every stored event).
_DECODED_BY = {DecimalAsStr: Decimal, DatetimeAsISO: datetime.fromisoformat}


class FastJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._decoders: dict[str, Any] = {}  # name -> the function that decodes its data

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._decoders[transcoding.name] = _DECODED_BY.get(type(transcoding), transcoding.decode)

    def encode(self, obj: Any) -> bytes:
        if _fast(obj, self.types):
            try:
                written = orjson.dumps(obj, default=self._encode_obj, option=orjson.OPT_PASSTHROUGH_DATETIME)
                return bytes(memoryview(written))  # its length, not orjson's buffer
            except (orjson.JSONEncodeError, TypeError):
                pass
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
            if type(parsed) is float:
                raise _ReadAsFloat
            return self._revive(parsed) if type(parsed) in _CONTAINERS else parsed
        except (orjson.JSONDecodeError, _ReadAsFloat):
            return super().decode(data)

    def decode_fields(self, data: bytes, names: tuple[str, ...]) -> tuple:
        """Only these top-level fields of a stored state, decoded as `decode` would: for a
        reader that needs a few fields of many events (the bill run reads 30 per invoice)."""
        parsed = orjson.loads(data)
        values = []
        for name in names:
            value = parsed[name]
            if type(value) is float:  # perhaps an integer past 64 bits: read whole, as decode does
                state = super().decode(data)
                return tuple(state[name] for name in names)
            if type(value) is dict and "_type_" in value:
                decode = self._decoders.get(value["_type_"])
                value = self._decode_obj(value) if decode is None else decode(value["_data_"])
            values.append(value)
        return tuple(values)

    def _revive(self, value: Any) -> Any:
        """Apply the transcodings bottom-up, as the json module's object_hook does."""
        items = enumerate(value) if type(value) is list else value.items()
        for key, item in items:
            if type(item) is dict and len(item) == 2 and type(item.get("_data_")) not in _CONTAINERS:
                # A transcoded value, the common case: decoded without the generic checks.
                decode = self._decoders.get(item.get("_type_"))
                value[key] = self._decode_obj(item) if decode is None else decode(item["_data_"])
            elif type(item) in _CONTAINERS:
                value[key] = self._revive(item)
            elif type(item) is float:
                raise _ReadAsFloat
        if type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._decode_obj(value)
        return value


class _ReadAsFloat(Exception):
    """orjson read a number as a float: an integer past 64 bits is one too (2**70 + 1 came back
    as 1.1805916207174113e+21), so the state is read again by the library's decoder, which
    reads integers whole (and floats as orjson does)."""


def _fast(value: Any, registered: dict) -> bool:
    kind = type(value)
    if kind is dict:
        for k, v in value.items():
            kind = type(v)
            if type(k) is not str or (kind not in _PLAIN and not (kind in _HANDED_OVER and kind in registered) and not _fast(v, registered)):
                return False
        return True
    if kind is list:
        return all(_fast(v, registered) for v in value)
    if kind is int:
        return -(2**63) <= value < 2**64
    return kind in _PLAIN or (kind in _HANDED_OVER and kind in registered)


"""Ledger records off Kafka back to (event type, record): what the projector and a replay
from Kafka read. A record that is no ledger event is refused with the reason a dead letter
carries (schemas.DecodeError's codes, as for usage)."""

from __future__ import annotations

from typing import Any

from consumers.ledger_events import SCHEMA_OF_EVENT
from projections.base import LedgerEvent
from schemas import HEADER_LENGTH, DecodeError, registry
from schemas.logical import StraightReader, straight_reader


class UndecodableLedgerEvent(RuntimeError):
    pass


# Every schema a ledger event may have: a record of any other is on the wrong topic.
LEDGER_SCHEMAS = frozenset(SCHEMA_OF_EVENT.values())
LEDGER_TYPES = frozenset(name.rsplit(".", 1)[-1] for name in LEDGER_SCHEMAS)  # as the event_type header names them
Refused = tuple[Any, DecodeError]  # a record, and why it cannot be read


class LedgerDecoder:
    """Decodes ledger records to (event type, record), leaving out the types no projection reads.

    The relay names each record's type in its `event_type` header: a record of a type no
    projection reads is not decoded at all (Avro decoding is most of a batch's cost); one
    whose header names no ledger event type is refused without decoding. A record written
    with its reader schema is read straight, with uuid fields left as the strings they are
    on the wire (as the store's records have them: no UUID objects to build); any other
    goes through the registry's schema resolution. A straight read is fastavro's on the schema
    stripped of its logical types, then the decimals, timestamps and dates converted by
    schemas/logical.py: the same values, a fifth less CPU (docs/performance.md).
    """

    def __init__(self, event_types: set[str]):
        self.event_types = event_types
        self.codec = registry()
        self.straight: dict[bytes, tuple[str, StraightReader] | None] = {}  # by writer fingerprint

    def decode(self, records: list, refused: list[Refused] | None = None) -> list[LedgerEvent]:
        """The batch's events of the wanted types. A record that cannot be read goes to
        `refused` with the reason; without `refused`, it raises UndecodableLedgerEvent."""
        events = []
        wanted = self.event_types
        for record in records:
            declared = _header(record, "event_type")
            if declared is not None and declared not in wanted and declared in LEDGER_TYPES:
                continue
            try:
                event_type, event = self._decode(record, declared)
            except DecodeError as error:
                if refused is None:
                    raise UndecodableLedgerEvent(f"{where(record)}: {error}") from error
                refused.append((record, error))
                continue
            if event_type in wanted:
                events.append((event_type, event))
        return events

    def _decode(self, record, declared: str | None) -> tuple[str, dict]:
        data = record.value
        if declared is not None and declared not in LEDGER_TYPES:
            raise DecodeError("wrong_schema", f"its event_type header {declared!r} names no ledger event")
        if not data:
            raise DecodeError("not_single_object", "the record has no value")
        key = data[2:HEADER_LENGTH]
        straight = self.straight.get(key, False)
        if straight is False:
            straight = self.straight[key] = self._straight_reader(data)
        if straight is not None:
            event = straight[1].read(data, HEADER_LENGTH)
            if event is not None:
                return straight[0], event
        schema, event = self.codec.decode(data)
        if schema.name not in LEDGER_SCHEMAS:
            raise DecodeError("wrong_schema", f"expected a ledger event, got a {schema.name}")
        return schema.short_name, event

    def _straight_reader(self, data: bytes) -> tuple[str, StraightReader] | None:
        try:
            writer = self.codec.writer_of(data)
        except DecodeError:
            return None
        if writer.name not in LEDGER_SCHEMAS or self.codec.reader_of(writer.name) is not writer:
            return None
        reader = straight_reader(writer.source, uuid_as_text=True)
        return None if reader is None else (writer.short_name, reader)


def where(record) -> str:
    return f"{record.topic}:{record.partition}@{record.offset}"


def _header(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:  # any producer may write the topic: the header's bytes may be anything
            return (value or b"").decode(errors="replace")
    return None

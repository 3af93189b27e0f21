"""Ledger records off Kafka back to (event type, record): what the projector and a replay
from Kafka read. A record that is no ledger event is refused with the reason a dead letter
carries (schemas.DecodeError's codes, as for usage)."""

from __future__ import annotations

import io
from typing import Any

import fastavro

from consumers.ledger_events import SCHEMA_OF_EVENT
from projections.base import LedgerEvent
from schemas import HEADER_LENGTH, DecodeError, registry


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
    goes through the registry's schema resolution.
    """

    def __init__(self, event_types: set[str]):
        self.event_types = event_types
        self.codec = registry()
        self.straight: dict[bytes, tuple[str, Any] | None] = {}

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
        plain = self.straight.get(data[2:HEADER_LENGTH], False)
        if plain is False:
            plain = self.straight[data[2:HEADER_LENGTH]] = self._plain_reader(data)
        if plain is not None:
            body = io.BytesIO(data)
            body.seek(HEADER_LENGTH)
            try:
                event = fastavro.schemaless_reader(body, plain[1], None)
                if body.tell() == len(data):
                    return plain[0], event
            except Exception:  # noqa: BLE001 - the registry's decode below names what is wrong
                pass
        schema, event = self.codec.decode(data)
        if schema.name not in LEDGER_SCHEMAS:
            raise DecodeError("wrong_schema", f"expected a ledger event, got a {schema.name}")
        return schema.short_name, event

    def _plain_reader(self, data: bytes) -> tuple[str, Any] | None:
        try:
            writer = self.codec.writer_of(data)
        except DecodeError:
            return None
        if writer.name not in LEDGER_SCHEMAS or self.codec.reader_of(writer.name) is not writer or not writer.source:
            return None
        return writer.short_name, fastavro.parse_schema(_without_uuid(writer.source))


def _without_uuid(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("logicalType") == "uuid":
            return node["type"]
        return {key: _without_uuid(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_uuid(item) for item in node]
    return node


def where(record) -> str:
    return f"{record.topic}:{record.partition}@{record.offset}"


def _header(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:  # any producer may write the topic: the header's bytes may be anything
            return (value or b"").decode(errors="replace")
    return None

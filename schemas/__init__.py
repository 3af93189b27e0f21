"""Avro schemas of every message that crosses Kafka, and their single-object encoding.

Each file `<namespace>.<Name>.v<N>.avsc` is one version of one schema; old versions stay,
so that a reader can find any writer's schema by its fingerprint and resolve it to its
reader schema: the newest version of the same name, unless a reader pins another.

Single-object encoding (Avro spec): the marker C3 01, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's canonical form, then the binary body.

A message that cannot be read raises DecodeError with one of these reasons:

| reason | the message... |
| --- | --- |
| `not_single_object` | does not start with C3 01 and a fingerprint (plain text, JSON, another encoding) |
| `unknown_fingerprint` | names a writer schema that is in no file of schemas/ |
| `wrong_schema` | is another record than the one the reader expects (e.g. a ledger event) |
| `missing_field` | lacks a field the reader requires: its writer schema has no such field and the reader no default, or its body stops before the field |
| `wrong_type` | has a field whose type the reader cannot take (no allowed promotion), or whose bytes are not a value of the field's type |
| `malformed_body` | ends inside a field (cut short), or has bytes left over after the record: the body follows another schema than its fingerprint names |
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.logical import StraightReader, straight_reader
from schemas.writer import plain_writer

MARKER = b"\xc3\x01"
HEADER_LENGTH = len(MARKER) + 8
_FILE_NAME = re.compile(r"^(?P<name>[\w.]+)\.v(?P<version>\d+)\.avsc$")
# What fastavro raises when a body's bytes are not what its schema says.
_NEGATIVE_LENGTH = re.compile(r"Expected -\d+ bytes")
_BODY_ERRORS = (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, OverflowError)


class DecodeError(ValueError):
    """A message the reader cannot accept; `reason` is a short code for the dead-letter header."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SchemaVersion:
    name: str  # full name, e.g. billing.usage.UsageEvent
    version: int
    parsed: Any
    fingerprint: bytes
    source: dict = field(default_factory=dict, compare=False, repr=False)  # the .avsc as written

    @cached_property
    def writer(self) -> tuple[Any, Callable[[dict], dict]]:
        """The schema the body is written with and the record's conversion before
        (schemas/writer.py: the same bytes as fastavro with this schema, for less)."""
        return plain_writer(self.source, self.parsed)

    @cached_property
    def header(self) -> bytes:
        return MARKER + self.fingerprint

    @cached_property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def file_name(self) -> str:
        return f"{self.name}.v{self.version}.avsc"

    @classmethod
    def from_json(cls, name: str, version: int, source: dict) -> SchemaVersion:
        parsed = fastavro.parse_schema(source)
        return cls(name, version, parsed, schema_fingerprint(parsed), source)


def schema_fingerprint(parsed: Any) -> bytes:
    # fastavro gives the hex of the fingerprint's little-endian bytes: the wire order.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


class SchemaRegistry:
    """Schema versions by fingerprint and by name; `readers` pins a reader version per name
    (an older consumer), otherwise each name is read as its newest version."""

    def __init__(self, versions: list[SchemaVersion], readers: dict[str, int] | None = None):
        self.by_fingerprint = {v.fingerprint: v for v in versions}
        self.versions_of: dict[str, list[SchemaVersion]] = {}
        for v in sorted(versions, key=lambda v: (v.name, v.version)):
            self.versions_of.setdefault(v.name, []).append(v)
        self.readers = {name: self.version(name, number) for name, number in (readers or {}).items()}
        self.straight: dict[bytes, StraightReader | None] = {}  # by fingerprint, made at a schema's first record

    def latest(self, name: str) -> SchemaVersion:
        try:
            return self.versions_of[name][-1]
        except KeyError:
            raise KeyError(f"no schema named {name!r} in schemas/") from None

    def reader_of(self, name: str) -> SchemaVersion:
        return self.readers.get(name) or self.latest(name)

    def version(self, name: str, version: int) -> SchemaVersion:
        for v in self.versions_of.get(name, []):
            if v.version == version:
                return v
        raise KeyError(f"no version {version} of schema {name!r}")

    def encode(self, name: str, record: dict[str, Any], version: int | None = None) -> bytes:
        schema = self.latest(name) if version is None else self.version(name, version)
        return encode_with(schema, record)

    def writer_of(self, data: bytes) -> SchemaVersion:
        if len(data) < HEADER_LENGTH or data[:2] != MARKER:
            raise DecodeError("not_single_object", f"{_describe(data)} does not start with the Avro single-object marker C3 01 and a fingerprint")
        writer = self.by_fingerprint.get(data[2:HEADER_LENGTH])
        if writer is None:
            raise DecodeError("unknown_fingerprint", f"no schema in schemas/ has fingerprint {data[2:HEADER_LENGTH].hex()}")
        return writer

    def decode(self, data: bytes, expect: str | None = None) -> tuple[SchemaVersion, dict[str, Any]]:
        """Decode with the writer's schema, resolved to the reader schema of its name."""
        writer = self.writer_of(data)
        if expect is not None and writer.name != expect:
            raise DecodeError("wrong_schema", f"expected a {expect}, got a {writer.name}")
        reader = self.reader_of(writer.name)
        if reader is writer:
            record = self._read_straight(writer, data)
            if record is not None:
                return reader, record
        body = io.BytesIO(data)
        body.seek(HEADER_LENGTH)
        try:
            # The same schema twice means no resolution: fastavro reads it straight.
            record = fastavro.schemaless_reader(body, writer.parsed, reader.parsed)
        except SchemaResolutionError as exc:
            raise _resolution_error(writer, reader, exc) from exc
        except _BODY_ERRORS as exc:
            raise _diagnose_body(writer, data[HEADER_LENGTH:]) from exc
        if body.tell() != len(data):
            raise DecodeError(
                "malformed_body",
                f"{len(data) - body.tell()} bytes left after a {writer.file_name} record: "
                "the body follows another schema than its fingerprint names",
            )
        return reader, record

    def _read_straight(self, schema: SchemaVersion, data: bytes) -> dict[str, Any] | None:
        """The record read on the schema stripped of its logical types, then converted
        (schemas/logical.py: the same values for less CPU); None when that cannot read it."""
        straight = self.straight.get(schema.fingerprint, False)
        if straight is False:
            straight = self.straight[schema.fingerprint] = straight_reader(schema.source)
        return None if straight is None else straight.read(data, HEADER_LENGTH)


def encode_with(schema: SchemaVersion, record: dict[str, Any]) -> bytes:
    plain_schema, convert = schema.writer
    body = io.BytesIO(schema.header)
    body.seek(HEADER_LENGTH)
    fastavro.schemaless_writer(body, plain_schema, convert(record))
    return body.getvalue()


def _describe(data: bytes) -> str:
    if data[:1] in (b"{", b"["):
        return "a JSON payload"
    return f"the message ({len(data)} bytes)"


def _resolution_error(writer: SchemaVersion, reader: SchemaVersion, exc: Exception) -> DecodeError:
    text = str(exc)
    where = f"written as {writer.file_name}, read as {reader.file_name}"
    missing = re.match(r"No default value for field (\S+)", text)
    if missing:
        return DecodeError("missing_field", f"field {missing[1]} is required and the writer has none ({where})")
    return DecodeError("wrong_type", f"{text} ({where})")


def _diagnose_body(writer: SchemaVersion, body: bytes) -> DecodeError:
    """Read the body field by field to name the first field that is missing or not of its type."""
    fields = writer.parsed.get("fields", [])
    named: dict = {}
    fastavro.parse_schema(writer.source or writer.parsed, named_schemas=named)
    stream = io.BytesIO(body)
    for f in fields:
        if stream.tell() == len(body):
            return DecodeError("missing_field", f"the body ends before field {f['name']} of {writer.file_name}")
        try:
            fastavro.schemaless_reader(stream, fastavro.parse_schema(f["type"], named_schemas=dict(named)), None)
        except _BODY_ERRORS as exc:
            if isinstance(exc, (EOFError, IndexError)) and not _NEGATIVE_LENGTH.search(str(exc)):
                return DecodeError("malformed_body", f"the body ends inside field {f['name']} of {writer.file_name}")
            return DecodeError("wrong_type", f"field {f['name']} is not a {_type_name(f['type'])} of {writer.file_name}: {exc}")
    return DecodeError("wrong_type", f"the body is not a {writer.file_name} record")


def _type_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return schema.get("logicalType") or schema.get("type", "value")
    if isinstance(schema, list):
        return "union"
    return str(schema)


def _load() -> list[SchemaVersion]:
    versions = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        match = _FILE_NAME.match(entry.name)
        if match:
            versions.append(SchemaVersion.from_json(match["name"], int(match["version"]), json.loads(entry.read_text())))
    return versions


@cache
def registry() -> SchemaRegistry:
    return SchemaRegistry(_load())

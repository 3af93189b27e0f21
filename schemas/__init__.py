"""Avro schemas of every message that crosses Kafka, and their single-object encoding.

Each file `<namespace>.<Name>.v<N>.avsc` is one version of one schema; old versions stay,
so that a reader can find any writer's schema by its fingerprint and resolve it to the
newest version, its reader schema.

Single-object encoding (Avro spec): the marker C3 01, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's canonical form, then the binary body.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MARKER = b"\xc3\x01"
HEADER_LENGTH = len(MARKER) + 8
_FILE_NAME = re.compile(r"^(?P<name>[\w.]+)\.v(?P<version>\d+)\.avsc$")


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

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def schema_fingerprint(parsed: Any) -> bytes:
    # fastavro gives the hex of the fingerprint's little-endian bytes: the wire order.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


class SchemaRegistry:
    """Every schema version shipped in this package, by fingerprint and by name."""

    def __init__(self, versions: list[SchemaVersion]):
        self.by_fingerprint = {v.fingerprint: v for v in versions}
        self.versions_of: dict[str, list[SchemaVersion]] = {}
        for v in sorted(versions, key=lambda v: (v.name, v.version)):
            self.versions_of.setdefault(v.name, []).append(v)

    def latest(self, name: str) -> SchemaVersion:
        try:
            return self.versions_of[name][-1]
        except KeyError:
            raise KeyError(f"no schema named {name!r} in schemas/") from None

    def encode(self, name: str, record: dict[str, Any], version: int | None = None) -> bytes:
        schema = self.latest(name) if version is None else self._version(name, version)
        body = io.BytesIO()
        body.write(MARKER)
        body.write(schema.fingerprint)
        fastavro.schemaless_writer(body, schema.parsed, record)
        return body.getvalue()

    def _version(self, name: str, version: int) -> SchemaVersion:
        for v in self.versions_of.get(name, []):
            if v.version == version:
                return v
        raise KeyError(f"no version {version} of schema {name!r}")

    def writer_of(self, data: bytes) -> SchemaVersion:
        if len(data) < HEADER_LENGTH or data[:2] != MARKER:
            raise DecodeError("not_single_object", "the message does not start with the Avro single-object marker C3 01")
        writer = self.by_fingerprint.get(data[2:HEADER_LENGTH])
        if writer is None:
            raise DecodeError("unknown_fingerprint", f"no schema in schemas/ has fingerprint {data[2:HEADER_LENGTH].hex()}")
        return writer

    def decode(self, data: bytes, expect: str | None = None) -> tuple[SchemaVersion, dict[str, Any]]:
        """Decode with the writer's schema, resolved to the newest version of its name."""
        writer = self.writer_of(data)
        if expect is not None and writer.name != expect:
            raise DecodeError("wrong_schema", f"expected a {expect}, got a {writer.name}")
        reader = self.latest(writer.name)
        try:
            record = fastavro.schemaless_reader(
                io.BytesIO(data[HEADER_LENGTH:]), writer.parsed, reader.parsed
            )
        except fastavro.read.SchemaResolutionError as exc:
            raise DecodeError("schema_mismatch", str(exc)) from exc
        except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
            raise DecodeError("malformed_body", f"the Avro body does not match its schema: {exc}") from exc
        return reader, record


def _load() -> list[SchemaVersion]:
    versions = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        parsed = fastavro.parse_schema(json.loads(entry.read_text()))
        versions.append(SchemaVersion(match["name"], int(match["version"]), parsed, schema_fingerprint(parsed)))
    return versions


@cache
def registry() -> SchemaRegistry:
    return SchemaRegistry(_load())

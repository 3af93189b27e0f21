"""Temporary versions of UsageEvent, made by changing a copy of v1, for the tests of schema
evolution: through the codec (unit) and through the ingest and its dead letters (integration)."""

from __future__ import annotations

import copy

from schemas import SchemaRegistry, SchemaVersion, registry

USAGE = "billing.usage.UsageEvent"
V1 = registry().version(USAGE, 1)
V1_HEADER = b"\xc3\x01" + V1.fingerprint  # single-object encoding's marker and v1's fingerprint


def usage_v2(change) -> SchemaVersion:
    source = copy.deepcopy(V1.source)
    change(source)
    return SchemaVersion.from_json(USAGE, 2, source)


def with_region(source: dict) -> None:
    source["fields"].append({"name": "region", "type": ["null", "string"], "default": None})


def retyped(name: str, avro_type):
    def change(source):
        f = next(f for f in source["fields"] if f["name"] == name)
        f["type"] = avro_type
        f.pop("default", None)
    return change


V2 = usage_v2(with_region)
NEW_CONSUMER = SchemaRegistry([V1, V2])  # reads as v2, its newest
OLD_CONSUMER = SchemaRegistry([V1, V2], readers={USAGE: 1})  # knows v2's fingerprint, reads as v1

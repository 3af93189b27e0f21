"""Golden bytes: one sample record per schema version, generated from the schema alone, and
its single-object encoding pinned in `tests/golden/<file name of the schema>.hex`.

A new schema file needs its golden file; create the missing ones with:

    .venv/bin/python -m tests.golden

(Existing files are never rewritten: a changed encoding of a shipped version is a bug.)
"""

from __future__ import annotations

import sys
import zlib
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from schemas import SchemaVersion, registry

GOLDEN_DIR = Path(__file__).parent
BASE_TIME = datetime(2026, 10, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)


def golden_path(schema: SchemaVersion) -> Path:
    return GOLDEN_DIR / (schema.file_name.removesuffix(".avsc") + ".hex")


def _seed(path: str) -> int:
    """A small number that depends only on where the value sits, so samples are stable."""
    return zlib.crc32(path.encode()) % 1000


def sample_record(schema: SchemaVersion) -> dict[str, Any]:
    """A deterministic record of the schema, every field filled (the first non-null union branch)."""
    return _sample(schema.source, schema.name, {})


def _sample(schema: Any, path: str, named: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"] or ["null"]
        return _sample(branches[0], path, named)
    if isinstance(schema, str):
        return _sample(named[schema], path, named) if schema in named else _primitive(schema, path)
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return _sample(kind, path, named)
    logical = schema.get("logicalType")
    if logical:
        return _logical(logical, schema, path)
    if kind in ("record", "error"):
        named[schema["name"]] = named[schema.get("namespace", "") + "." + schema["name"]] = schema
        return {f["name"]: _sample(f["type"], f"{path}.{f['name']}", named) for f in schema["fields"]}
    if kind == "enum":
        named[schema["name"]] = schema
        return schema["symbols"][_seed(path) % len(schema["symbols"])]
    if kind == "fixed":
        named[schema["name"]] = schema
        return bytes((_seed(path) + i) % 256 for i in range(schema["size"]))
    if kind == "array":
        return [_sample(schema["items"], f"{path}[0]", named), _sample(schema["items"], f"{path}[1]", named)]
    if kind == "map":
        return {"key-" + path.rsplit(".", 1)[-1]: _sample(schema["values"], f"{path}{{}}", named)}
    return _primitive(kind, path)


def _primitive(kind: str, path: str) -> Any:
    seed = _seed(path)
    return {
        "null": None,
        "boolean": seed % 2 == 0,
        "int": seed,
        "long": seed * 1_000_003,
        "float": seed + 0.5,
        "double": seed + 0.25,
        "bytes": path.encode()[-12:],
        "string": path.rsplit(".", 1)[-1] + f"-{seed}",
    }[kind]


def _logical(logical: str, schema: dict, path: str) -> Any:
    seed = _seed(path)
    if logical == "decimal":
        scale = schema.get("scale", 0)
        return Decimal(seed * 1000 + 7).scaleb(-min(scale, 3)).quantize(Decimal(1).scaleb(-scale))
    if logical == "uuid":
        return str(uuid5(NAMESPACE_URL, path))
    if logical in ("timestamp-micros", "local-timestamp-micros"):
        return BASE_TIME + timedelta(hours=seed)
    if logical in ("timestamp-millis", "local-timestamp-millis"):
        return BASE_TIME.replace(microsecond=123000) + timedelta(hours=seed)
    if logical == "date":
        return BASE_TIME.date() + timedelta(days=seed)
    if logical in ("time-micros", "time-millis"):
        return time(seed % 24, 30, 15, 123000)
    raise ValueError(f"{path}: no sample for logical type {logical!r}; teach tests/golden to make one")


def write_missing(out=sys.stdout) -> int:
    written = 0
    for versions in registry().versions_of.values():
        for schema in versions:
            path = golden_path(schema)
            if not path.exists():
                path.write_text(registry().encode(schema.name, sample_record(schema), schema.version).hex() + "\n")
                print(f"wrote {path.relative_to(GOLDEN_DIR.parent.parent)}", file=out)
                written += 1
    return written


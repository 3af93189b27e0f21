"""A schema walked for what its logical types call for, in both directions: the schema with
them stripped (what fastavro reads and writes at the speed of its base types), and the
conversion of a record's values between the two (schemas/logical.py reads, schemas/writer.py
writes). The .avsc files stay the one source of truth of which field is a decimal, a
timestamp, a date or a uuid; each direction gives only what differs: what a logical type's
value becomes, how a union's value finds its branch, how a record is converted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Conversion = Callable[[Any], Any]
Fields = tuple[tuple[str, Conversion], ...]  # the record's fields that have a conversion, in order

# Attributes that only a logical type reads: without them the schema is its base type.
LOGICAL_ATTRIBUTES = ("logicalType", "precision", "scale")
AS_IS = object()  # a leaf's answer: not a logical type of this direction, its base type as it is


class NotConverted(Exception):
    """A schema whose conversions a direction does not make: fastavro's own, on the full
    schema, reads or writes its records."""


def stripped(node: Any, only: frozenset[str] | None = None) -> Any:
    """The schema with its logical types taken off (`only` these, if given): the types they
    annotate, read and written raw."""
    if isinstance(node, dict):
        if "logicalType" in node and (only is None or node["logicalType"] in only):
            plain = {key: value for key, value in node.items() if key not in LOGICAL_ATTRIBUTES}
            return plain["type"] if plain.keys() == {"type"} else stripped(plain, only)
        return {key: stripped(value, only) for key, value in node.items()}
    if isinstance(node, list):
        return [stripped(item, only) for item in node]
    return node


@dataclass(frozen=True)
class Direction:
    # (schema, "<type>-<logicalType>") -> the value's conversion, None (no conversion), or AS_IS
    leaf: Callable[[dict, str], Conversion | None | object]
    # (branches, each branch's conversion or None, named types) -> the union's conversion
    union: Callable[[list, list, dict], Conversion | None]
    # the record's converted fields -> the record's conversion
    record: Callable[[Fields], Conversion]


def conversion(schema: Any, named: dict, direction: Direction, seen: frozenset = frozenset()) -> Conversion | None:
    """The conversion of a value of this (parsed) schema, None when it needs none. `named`:
    every named type by full name, as fastavro.parse_schema(..., named_schemas=named) fills it."""
    if isinstance(schema, str):
        if schema not in named:
            return None  # a primitive
        if schema in seen:
            raise NotConverted(f"the recursive type {schema}")
        return conversion(named[schema], named, direction, seen)
    if isinstance(schema, list):
        return direction.union(schema, [conversion(branch, named, direction, seen) for branch in schema], named)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical is not None and isinstance(kind, str):
        leaf = direction.leaf(schema, f"{kind}-{logical}")
        if leaf is not AS_IS:
            return leaf
    if kind in ("record", "error"):
        inner = seen | {schema["name"]}
        fields = tuple((f["name"], c) for f in schema["fields"] if (c := conversion(f["type"], named, direction, inner)) is not None)
        return direction.record(fields) if fields else None
    if kind == "array":
        items = conversion(schema["items"], named, direction, seen)
        return None if items is None else lambda values: [items(value) for value in values]
    if kind == "map":
        values = conversion(schema["values"], named, direction, seen)
        return None if values is None else lambda entries: {key: values(value) for key, value in entries.items()}
    if isinstance(kind, (dict, list)) or kind in named:
        return conversion(kind, named, direction, seen)
    return None

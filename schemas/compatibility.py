"""Avro schema resolution rules, as a checker: can a reader schema read what a writer wrote?

The rules are the Avro specification's ("Schema Resolution"), applied to two schemas
without any data, so that an incompatible change fails a test instead of a consumer:

* records match by name (or a reader alias); a writer field the reader lacks is skipped;
  a reader field the writer lacks needs a default; matching fields resolve recursively;
* primitives match themselves or an allowed promotion: int -> long, float, double;
  long -> float, double; float -> double; string <-> bytes;
* enums match by name; every writer symbol must be a reader symbol, unless the reader
  has a default symbol;
* fixed match by name and size; arrays by items; maps by values;
* a writer union resolves when each of its branches does; a reader union takes a
  writer branch when any of its branches can read it.

Stricter than the specification, because a change of meaning breaks a consumer as
surely as a change of shape: a logical type may not be added, removed or changed,
and a decimal's precision and scale must stay the same.

`compatibility_problems(versions)` checks a schema's versions transitively: every
version must read every other, in both directions (backward: a new consumer reads an
old producer; forward: an old consumer reads a new producer).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
NAMED = {"record", "error", "enum", "fixed"}


@dataclass(frozen=True)
class Problem:
    path: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}: {self.text}"


class _Names:
    """The named types of one schema, by full name, so that references can be followed."""

    def __init__(self, schema: Any):
        self.types: dict[str, dict] = {}
        self._collect(schema, "")

    def _collect(self, schema: Any, namespace: str) -> None:
        if isinstance(schema, list):
            for branch in schema:
                self._collect(branch, namespace)
        elif isinstance(schema, dict):
            kind = schema.get("type")
            if kind in NAMED:
                full = full_name(schema, namespace)
                self.types[full] = schema
                namespace = full.rpartition(".")[0]
                for alias in schema.get("aliases", []):
                    self.types.setdefault(alias if "." in alias else f"{namespace}.{alias}".lstrip("."), schema)
            if kind in ("record", "error"):
                for field in schema.get("fields", []):
                    self._collect(field["type"], namespace)
            elif kind == "array":
                self._collect(schema["items"], namespace)
            elif kind == "map":
                self._collect(schema["values"], namespace)
            elif isinstance(kind, (dict, list)):
                self._collect(kind, namespace)

    def resolve(self, schema: Any, namespace: str) -> Any:
        """A named reference becomes its definition; `{"type": "long"}` becomes "long"."""
        if isinstance(schema, str) and schema not in PRIMITIVES:
            for candidate in (f"{namespace}.{schema}" if namespace and "." not in schema else schema, schema):
                if candidate in self.types:
                    return self.types[candidate]
            raise ValueError(f"unknown type {schema!r}")
        if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
            return self.resolve(schema["type"], namespace)
        if isinstance(schema, dict) and schema.get("type") in PRIMITIVES and "logicalType" not in schema:
            return schema["type"]
        return schema


def full_name(schema: dict, namespace: str = "") -> str:
    name = schema["name"]
    if "." in name:
        return name
    space = schema.get("namespace", namespace)
    return f"{space}.{name}" if space else name


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return schema["type"]


def _logical(schema: Any) -> tuple | None:
    if not isinstance(schema, dict) or "logicalType" not in schema:
        return None
    return (schema["logicalType"], schema.get("precision"), schema.get("scale", 0), schema.get("size"))


def _describe(schema: Any) -> str:
    if isinstance(schema, dict) and schema.get("type") in NAMED:
        return f"{schema['type']} {schema['name']}"
    return json.dumps(schema, sort_keys=True)


class _Checker:
    def __init__(self, writer: Any, reader: Any):
        self.writer_names = _Names(writer)
        self.reader_names = _Names(reader)
        self.problems: list[Problem] = []
        self.seen: set[tuple[int, int]] = set()  # named pairs under check: recursion stops there

    def check(self, writer: Any, reader: Any, path: str, w_space: str = "", r_space: str = "") -> None:
        writer = self.writer_names.resolve(writer, w_space)
        reader = self.reader_names.resolve(reader, r_space)
        w_kind, r_kind = _kind(writer), _kind(reader)
        if w_kind == "union":
            for index, branch in enumerate(writer):
                self.check(branch, reader, f"{path}<branch {index}>", w_space, r_space)
            return
        if r_kind == "union":
            if not any(self._reads(branch, writer, w_space, r_space) for branch in reader):
                self.fail(path, f"no branch of the reader's union {_describe(reader)} reads the writer's {_describe(writer)}")
            return
        if _logical(writer) != _logical(reader):
            self.fail(path, f"logical type changed from {_logical(writer)} to {_logical(reader)}")
            return
        if w_kind != r_kind:
            if r_kind not in PROMOTIONS.get(w_kind, set()):
                self.fail(path, f"the writer's {w_kind} cannot be read as {r_kind}")
            return
        if w_kind in NAMED:
            w_full, r_full = full_name(writer, w_space), full_name(reader, r_space)
            r_aliases = {a.rpartition(".")[2] for a in reader.get("aliases", [])}
            if w_full.rpartition(".")[2] != r_full.rpartition(".")[2] and w_full.rpartition(".")[2] not in r_aliases:
                self.fail(path, f"{w_kind} {w_full} is read as {r_full}: the names differ")
                return
            if (id(writer), id(reader)) in self.seen:
                return
            self.seen.add((id(writer), id(reader)))
            w_space, r_space = w_full.rpartition(".")[0], r_full.rpartition(".")[0]
        if w_kind in ("record", "error"):
            self._check_record(writer, reader, path, w_space, r_space)
        elif w_kind == "enum":
            missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
            if missing and "default" not in reader:
                self.fail(path, f"the reader's enum has no symbol {', '.join(missing)} and no default")
        elif w_kind == "fixed" and writer["size"] != reader["size"]:
            self.fail(path, f"fixed size changed from {writer['size']} to {reader['size']}")
        elif w_kind == "array":
            self.check(writer["items"], reader["items"], f"{path}[]", w_space, r_space)
        elif w_kind == "map":
            self.check(writer["values"], reader["values"], f"{path}{{}}", w_space, r_space)

    def _check_record(self, writer: dict, reader: dict, path: str, w_space: str, r_space: str) -> None:
        written = {f["name"]: f for f in writer["fields"]}
        for alias_owner in writer["fields"]:
            for alias in alias_owner.get("aliases", []):
                written.setdefault(alias, alias_owner)
        for field in reader["fields"]:
            source = written.get(field["name"]) or next(
                (written[a] for a in field.get("aliases", []) if a in written), None
            )
            where = f"{path}.{field['name']}"
            if source is None:
                if "default" not in field:
                    self.fail(where, "the reader requires this field, the writer has none, and there is no default")
                continue
            self.check(source["type"], field["type"], where, w_space, r_space)

    def _reads(self, reader_branch: Any, writer: Any, w_space: str, r_space: str) -> bool:
        trial = _Checker.__new__(_Checker)
        trial.writer_names, trial.reader_names = self.writer_names, self.reader_names
        trial.problems, trial.seen = [], set(self.seen)
        trial.check(writer, reader_branch, "", w_space, r_space)
        return not trial.problems

    def fail(self, path: str, text: str) -> None:
        self.problems.append(Problem(path or "(top)", text))


def reader_problems(writer: Any, reader: Any) -> list[Problem]:
    """What stops `reader` (a schema as JSON) from reading data written with `writer`."""
    checker = _Checker(writer, reader)
    name = writer.get("name", "") if isinstance(writer, dict) else ""
    checker.check(writer, reader, name)
    return checker.problems


def compatibility_problems(versions: Sequence[tuple[str, Any]]) -> list[str]:
    """Every version against every other, both ways: `versions` is (label, schema JSON) pairs."""
    problems = []
    for i, (old_label, old) in enumerate(versions):
        for new_label, new in versions[i + 1 :]:
            for what, writer, reader in (
                (f"{new_label} cannot read {old_label} (backward)", old, new),
                (f"{old_label} cannot read {new_label} (forward)", new, old),
            ):
                problems.extend(f"{what}: {p}" for p in reader_problems(writer, reader))
    return problems

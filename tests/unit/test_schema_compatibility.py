"""Every version of every schema reads and is read by every other version of its name (backward
and forward, transitively); the checker that proves it refuses each kind of breaking change."""

from __future__ import annotations

import copy
import io
import re

import fastavro
import pytest

from schemas import registry
from schemas.compatibility import compatibility_problems, reader_problems

USAGE_V1 = registry().version("billing.usage.UsageEvent", 1).source


@pytest.mark.parametrize("name", sorted(registry().versions_of))
def test_every_version_of_each_schema_stays_compatible_both_ways_with_all_the_others(name):
    versions = [(v.file_name, v.source) for v in registry().versions_of[name]]
    assert compatibility_problems(versions) == []


@pytest.mark.parametrize("schema", [v for vs in registry().versions_of.values() for v in vs], ids=lambda v: v.file_name)
def test_each_schema_file_is_named_after_the_schema_it_holds(schema):
    source = schema.source
    full = source["name"] if "." in source["name"] else f"{source.get('namespace', '')}.{source['name']}"
    assert re.fullmatch(r"[\w.]+\.v\d+\.avsc", schema.file_name)
    assert full == schema.name, f"{schema.file_name} holds {full}"


def changed(schema: dict, change) -> dict:
    new = copy.deepcopy(schema)
    change(new)
    return new


def field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def record(*fields) -> dict:
    return {"type": "record", "name": "Thing", "namespace": "test", "fields": list(fields)}


def test_an_added_optional_field_with_a_default_is_compatible_both_ways():
    v2 = changed(USAGE_V1, lambda s: s["fields"].append(
        {"name": "region", "type": ["null", "string"], "default": None}))
    assert compatibility_problems([("v1", USAGE_V1), ("v2", v2)]) == []


def test_an_added_field_without_a_default_breaks_a_new_consumer_of_old_messages():
    v2 = changed(USAGE_V1, lambda s: s["fields"].append({"name": "region", "type": "string"}))
    problems = compatibility_problems([("v1", USAGE_V1), ("v2", v2)])
    assert problems == [
        "v2 cannot read v1 (backward): UsageEvent.region: the reader requires this field, "
        "the writer has none, and there is no default"
    ]


def test_a_removed_field_without_a_default_breaks_an_old_consumer_of_new_messages():
    v2 = changed(USAGE_V1, lambda s: s["fields"].remove(field(s, "unit")))
    problems = compatibility_problems([("v1", USAGE_V1), ("v2", v2)])
    assert len(problems) == 1 and "(forward)" in problems[0] and "UsageEvent.unit" in problems[0]


def test_a_removed_field_that_had_a_default_is_compatible():
    v2 = changed(USAGE_V1, lambda s: s["fields"].remove(field(s, "attributes")))
    assert compatibility_problems([("v1", USAGE_V1), ("v2", v2)]) == []


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"),
    [
        ("int", "long", True, False),  # int -> long is a promotion; a long does not fit an int
        ("float", "double", True, False),
        ("string", "bytes", True, True),
        ("string", "long", False, False),
        ("boolean", "int", False, False),
    ],
)
def test_a_type_change_is_allowed_only_as_a_promotion(old, new, backward, forward):
    v1 = record({"name": "n", "type": old})
    v2 = record({"name": "n", "type": new})
    assert (reader_problems(v1, v2) == []) is backward
    assert (reader_problems(v2, v1) == []) is forward


def test_a_changed_logical_type_or_decimal_scale_is_a_break():
    scale = changed(USAGE_V1, lambda s: field(s, "quantity")["type"].update(scale=6))
    millis = changed(USAGE_V1, lambda s: field(s, "usage_start").update(
        type={"type": "long", "logicalType": "timestamp-millis"}))
    assert reader_problems(USAGE_V1, scale) and reader_problems(scale, USAGE_V1)
    assert "logical type changed" in str(reader_problems(USAGE_V1, millis)[0])


def test_enum_symbols_may_grow_only_towards_a_reader_with_a_default():
    v1 = record({"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["OPEN", "CLOSED"]}})
    v2 = record({"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["OPEN", "CLOSED", "HELD"]}})
    assert reader_problems(v1, v2) == []  # a new reader knows every old symbol
    assert "no symbol HELD" in str(reader_problems(v2, v1)[0])  # an old reader meets HELD
    v1_with_default = changed(v1, lambda s: s["fields"][0]["type"].update(default="OPEN"))
    assert reader_problems(v2, v1_with_default) == []


def test_a_union_branch_removed_breaks_readers_of_old_data():
    v1 = record({"name": "note", "type": ["null", "string", "long"], "default": None})
    v2 = record({"name": "note", "type": ["null", "string"], "default": None})
    assert reader_problems(v2, v1) == []
    problems = reader_problems(v1, v2)
    assert len(problems) == 1 and "branch 2" in problems[0].path


def test_a_field_made_optional_is_backward_but_not_forward_compatible():
    v1 = record({"name": "note", "type": "string"})
    v2 = record({"name": "note", "type": ["null", "string"], "default": None})
    assert reader_problems(v1, v2) == []
    assert "no branch" not in str(reader_problems(v2, v1)) and reader_problems(v2, v1)


def test_nested_records_arrays_maps_and_fixed_are_checked_inside():
    inner = {"type": "record", "name": "Line", "fields": [{"name": "qty", "type": "int"}]}
    v1 = record(
        {"name": "lines", "type": {"type": "array", "items": inner}},
        {"name": "tags", "type": {"type": "map", "values": "string"}},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 16}},
    )
    v2 = changed(v1, lambda s: (
        s["fields"][0]["type"]["items"]["fields"][0].update(type="string"),
        s["fields"][1]["type"].update(values="long"),
        s["fields"][2]["type"].update(size=32),
    ))
    paths = sorted(p.path for p in reader_problems(v1, v2))
    assert paths == ["Thing.hash", "Thing.lines[].qty", "Thing.tags{}"]


def test_a_renamed_record_needs_an_alias():
    renamed = changed(USAGE_V1, lambda s: s.update(name="MeterReading"))
    assert "the names differ" in str(reader_problems(USAGE_V1, renamed)[0])
    aliased = changed(renamed, lambda s: s.update(aliases=["billing.usage.UsageEvent"]))
    assert reader_problems(USAGE_V1, aliased) == []


def test_compatibility_is_checked_transitively_across_all_versions():
    # v1 -> v2 adds a field with a default; v2 -> v3 drops the default. Each step is
    # compatible with the one before; v3 cannot read v1.
    v1 = record({"name": "a", "type": "string"})
    v2 = changed(v1, lambda s: s["fields"].append({"name": "b", "type": "string", "default": ""}))
    v3 = changed(v2, lambda s: s["fields"][1].pop("default"))
    assert compatibility_problems([("v1", v1), ("v2", v2)]) == []
    assert compatibility_problems([("v2", v2), ("v3", v3)]) == []
    assert compatibility_problems([("v1", v1), ("v2", v2), ("v3", v3)]) == [
        "v3 cannot read v1 (backward): Thing.b: the reader requires this field, "
        "the writer has none, and there is no default"
    ]


def test_the_checker_agrees_with_avro_decoding_on_real_bytes():
    cases = {
        "added with default": changed(USAGE_V1, lambda s: s["fields"].append({"name": "x", "type": "long", "default": 0})),
        "added without default": changed(USAGE_V1, lambda s: s["fields"].append({"name": "x", "type": "long"})),
        "retyped": changed(USAGE_V1, lambda s: field(s, "event_id").update(type="long")),
    }
    sample = {f["name"]: v for f, v in zip(USAGE_V1["fields"], _usage_values())}
    for label, reader in cases.items():
        body = io.BytesIO()
        fastavro.schemaless_writer(body, fastavro.parse_schema(USAGE_V1), sample)
        try:
            fastavro.schemaless_reader(io.BytesIO(body.getvalue()), fastavro.parse_schema(USAGE_V1), fastavro.parse_schema(reader))
            readable = True
        except fastavro.read.SchemaResolutionError:
            readable = False
        assert readable is (reader_problems(USAGE_V1, reader) == []), label


def _usage_values():
    from tests.factories import usage_record

    return usage_record("u-1").values()

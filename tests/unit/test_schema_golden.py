"""Golden bytes pin the single-object encoding of a sample of every schema version in schemas/.

A schema added later is covered by itself: its test fails until its golden file exists
(`.venv/bin/python -m tests.golden` writes the missing ones)."""

from __future__ import annotations

import pytest

from schemas import MARKER, registry
from tests.golden import golden_path, sample_record

ALL_VERSIONS = [v for versions in registry().versions_of.values() for v in versions]


def ids(schema) -> str:
    return schema.file_name


@pytest.mark.parametrize("schema", ALL_VERSIONS, ids=ids)
def test_every_schema_version_has_a_golden_file(schema):
    assert golden_path(schema).exists(), (
        f"{schema.file_name} has no golden file; create it with: .venv/bin/python -m tests.golden"
    )


@pytest.mark.parametrize("schema", ALL_VERSIONS, ids=ids)
def test_the_encoding_of_each_schemas_sample_is_pinned(schema):
    if not golden_path(schema).exists():
        pytest.skip("no golden file (reported by the test above)")
    encoded = registry().encode(schema.name, sample_record(schema), schema.version)
    assert encoded.hex() == golden_path(schema).read_text().strip(), (
        f"the encoding of {schema.file_name} changed: a shipped version's bytes must never change"
    )


@pytest.mark.parametrize("schema", ALL_VERSIONS, ids=ids)
def test_golden_bytes_decode_to_a_record_that_encodes_to_them_again(schema):
    if not golden_path(schema).exists():
        pytest.skip("no golden file (reported by the test above)")
    golden = bytes.fromhex(golden_path(schema).read_text().strip())
    assert golden[:2] == MARKER and golden[2:10] == schema.fingerprint
    if registry().reader_of(schema.name) is schema:
        _, decoded = registry().decode(golden)
        assert registry().encode(schema.name, decoded, schema.version) == golden


def test_a_sample_is_the_same_on_every_call_and_fills_every_field():
    usage = registry().latest("billing.usage.UsageEvent")
    first, second = sample_record(usage), sample_record(usage)
    assert first == second
    assert set(first) == {f["name"] for f in usage.source["fields"]}
    assert all(value not in (None, "", {}) for value in first.values())


def test_every_ledger_schema_starts_with_the_common_fields_in_order():
    from consumers.ledger_events import COMMON_FIELDS, SCHEMA_OF_EVENT

    for name in SCHEMA_OF_EVENT.values():
        fields = [f["name"] for f in registry().latest(name).parsed["fields"]]
        assert tuple(fields[: len(COMMON_FIELDS)]) == COMMON_FIELDS, name

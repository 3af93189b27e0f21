"""domain/ids.py makes RFC 4122 version 5 ids faster than the standard library: the same ids,
as UUIDs (ingest's usage lines) and as text (the relay's event ids)."""

from __future__ import annotations

from uuid import UUID, uuid5

from hypothesis import given, strategies as st

from domain.ids import name_based_id, name_based_id_text


@given(namespace=st.uuids(), name=st.text())
def test_a_name_based_id_is_the_standard_librarys_uuid5_as_a_uuid_and_as_text(namespace: UUID, name: str):
    expected = uuid5(namespace, name)
    assert name_based_id(namespace.bytes, name) == expected
    assert name_based_id_text(namespace.bytes, name) == str(expected)

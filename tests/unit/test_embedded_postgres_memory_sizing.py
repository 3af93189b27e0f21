"""The embedded PostgreSQL's memory is a share of the machine's, within bounds (ledger/embedded.py)."""

from __future__ import annotations

from ledger.embedded import memory_settings

GIB = 2**30


def test_a_24_gib_machine_gives_the_server_an_eighth_of_it_as_shared_buffers_and_half_as_cache():
    settings = memory_settings(24 * GIB)
    assert settings["shared_buffers"] == "3072MB"
    assert settings["effective_cache_size"] == "12288MB"
    assert settings["maintenance_work_mem"] == "768MB"


def test_a_small_machine_never_gets_less_than_postgresql_s_own_defaults():
    settings = memory_settings(512 * 2**20)
    assert settings["shared_buffers"] == "128MB"
    assert settings["effective_cache_size"] == "512MB"
    assert settings["maintenance_work_mem"] == "64MB"


def test_a_big_machine_shares_at_most_a_bounded_amount():
    settings = memory_settings(512 * GIB)
    assert settings["shared_buffers"] == "4096MB"
    assert settings["effective_cache_size"] == "16384MB"
    assert settings["maintenance_work_mem"] == "1024MB"

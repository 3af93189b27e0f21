"""The projector commits without waiting for PostgreSQL's disk flush (its rows and offsets
can be made again from the ledger topic, and they are lost or kept together); the event
store's writers keep waiting for theirs."""

from __future__ import annotations

from ledger.processes import ingest_process, projector_process


def show_synchronous_commit(conn) -> str:
    return conn.execute("SHOW synchronous_commit").fetchone()[0]


def test_the_projector_commits_without_waiting_for_the_flush_also_after_a_reconnect(settings):
    process = projector_process(settings)
    try:
        assert show_synchronous_commit(process.projector.conn) == "off"
        process.reconnect()  # as after an outage of PostgreSQL
        assert show_synchronous_commit(process.projector.conn) == "off"
    finally:
        process.close()


def test_the_ingest_stores_usage_only_once_it_is_on_disk(settings, app):
    process = ingest_process(settings, app)
    try:
        with app.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()["synchronous_commit"] == "on"
    finally:
        process.close()

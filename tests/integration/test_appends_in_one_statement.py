"""A command's events are appended by one statement in autocommit (`append_<table>`,
eventstore/chain.py), the lock taken and released inside it: on the real PostgreSQL, writers
in two processes still get notification ids in commit order, with none skipped, a reader
tailing the store misses none, and a conflicting version is still refused with nothing
of its batch stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking

from eventstore.chain import walk_chain
from readside.event_log import EVENTS_TABLE

WRITER = """
import json, sys
from uuid import uuid4
from eventsourcing.persistence import StoredEvent
from eventstore.postgres import open_application
from ledger.config import Settings
settings = Settings.from_env()
app = open_application(settings)
got = []
for _ in range(int(sys.argv[1])):
    got.append(list(app.recorder.insert_events([StoredEvent(uuid4(), 1, "test.Appended", b"{}") for _ in range(3)])))
app.close()
print(json.dumps(got))
"""


def stored_ids(settings) -> list[int]:
    with psycopg.connect(settings.database_url) as conn:
        return [r[0] for r in conn.execute(f"SELECT notification_id FROM {settings.store_schema}.{EVENTS_TABLE} ORDER BY 1")]


def test_writers_in_two_processes_get_ids_in_commit_order_and_a_tailing_reader_misses_none(settings, app, cli_env):
    before = stored_ids(settings)
    seen: list[int] = []
    done = threading.Event()

    def tail() -> None:  # as the relay reads: whatever is after the last id it saw
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            while True:
                finished = done.is_set()
                after = seen[-1] if seen else before[-1]
                seen.extend(r[0] for r in conn.execute(
                    f"SELECT notification_id FROM {settings.store_schema}.{EVENTS_TABLE} "
                    "WHERE notification_id > %s ORDER BY 1", (after,)))
                if finished:
                    return

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, "40"], env=cli_env, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    done.set()
    reader.join()
    assert [w.returncode for w in writers] == [0, 0]

    for batches in (json.loads(out) for out in outputs):
        flat = [n for batch in batches for n in batch]
        assert len(flat) == 120 and flat == sorted(flat)  # each writer's ids rise, batch after batch
        assert all(batch == list(range(batch[0], batch[0] + 3)) for batch in batches)  # a batch is not interleaved
    new = stored_ids(settings)[len(before):]
    assert new == list(range(before[-1] + 1, before[-1] + 241))  # none skipped
    assert seen == new  # the tail saw every one, in order: none was committed behind one it had read
    with psycopg.connect(settings.database_url) as conn:
        assert walk_chain(conn, settings.store_schema, EVENTS_TABLE).broken is None


def test_a_conflicting_version_is_refused_and_nothing_of_its_batch_is_stored(settings, app):
    taken = uuid4()
    app.recorder.insert_events([StoredEvent(taken, 1, "test.Appended", b"{}")])
    before = stored_ids(settings)
    with pytest.raises(IntegrityError):
        app.recorder.insert_events([StoredEvent(uuid4(), 1, "test.Appended", b"{}"), StoredEvent(taken, 1, "test.Appended", b"{}")])
    assert stored_ids(settings) == before
    # the lock went with the failed statement: the next append goes through, after the last
    [after] = app.recorder.insert_events([StoredEvent(uuid4(), 1, "test.Appended", b"{}")])
    assert after > before[-1]


def test_events_with_a_tracking_record_are_stored_with_it_or_not_at_all(settings, app):
    before = stored_ids(settings)
    ids = app.recorder.insert_events([StoredEvent(uuid4(), 1, "test.Appended", b"{}")], tracking=Tracking("test-source", 5))
    assert stored_ids(settings) == [*before, *ids]
    with pytest.raises(IntegrityError):  # the same position again: the tracking record refuses it
        app.recorder.insert_events([StoredEvent(uuid4(), 1, "test.Appended", b"{}")], tracking=Tracking("test-source", 5))
    assert stored_ids(settings) == [*before, *ids]
    assert app.recorder.max_tracking_id("test-source") == 5


@pytest.mark.parametrize("tracked", [False, True], ids=["a command's append", "a consumer's batch"])
def test_an_append_goes_on_while_a_vacuum_holds_the_store(settings, app, tracked):
    """VACUUM and ANALYZE, automatic ones too, hold the table's SHARE UPDATE EXCLUSIVE lock for
    as long as they run. The append lock must not wait for it: a table lock in EXCLUSIVE mode
    did, until PostgreSQL cancelled the automatic vacuum after `deadlock_timeout`, every writer
    stalled meanwhile, and the store was never vacuumed while it was written to."""
    outcome: dict = {}

    def append() -> None:
        try:
            events = [StoredEvent(uuid4(), 1, "test.Appended", b"{}") for _ in range(3)]
            tracking = Tracking(f"vacuum-test-{uuid4()}", 1) if tracked else None
            outcome["ids"] = app.recorder.insert_events(events, tracking=tracking)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    with psycopg.connect(settings.database_url) as vacuum:
        vacuum.execute(f"LOCK TABLE {settings.store_schema}.{EVENTS_TABLE} IN SHARE UPDATE EXCLUSIVE MODE")
        writer = threading.Thread(target=append)
        writer.start()
        writer.join(timeout=30)
        appended_during_the_vacuum = not writer.is_alive()
        vacuum.rollback()  # the "vacuum" ends: a writer still waiting goes on
    writer.join()
    assert appended_during_the_vacuum, "the append waited for the vacuum's lock"
    assert "error" not in outcome, outcome.get("error")
    assert len(outcome["ids"]) == 3
    with psycopg.connect(settings.database_url) as conn:
        assert walk_chain(conn, settings.store_schema, EVENTS_TABLE).broken is None

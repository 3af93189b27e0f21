"""`ledger db migrate`: bring a store made by an earlier version up to this one.

Opening the application as the store's owner creates or updates its tables, columns,
functions and triggers (eventstore/postgres.py, eventstore/chain.py). What is left is the
hash chain over the events stored before it existed: filled in notification order, one
committed batch at a time under the store's lock, so an interrupted migration resumes
where it stopped and writers go on between batches. Their commit times stay unknown
(NULL): nothing records when they were committed, and none is invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.sql import SQL

from eventstore.chain import fill_chain, unchained
from eventstore.postgres import open_access_log, open_application
from readside.event_log import APPEND_ONLY_LOGS, events_table
from readside.progress import Progress
from readside.settings import ReadSideSettings

BATCH = 5_000


@dataclass(frozen=True)
class Migration:
    hashed: int  # events chained by this run
    unknown_times: int  # events whose commit time is unknown (stored before it was kept)


def migrate(settings: ReadSideSettings, batch: int = BATCH, stream=None) -> Migration:
    open_application(settings).close()  # the store's DDL, as its owner
    open_access_log(settings).close()  # the access log's: the one place that creates it
    hashed = 0
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for table in APPEND_ONLY_LOGS:  # both exist: opened above
            progress = Progress(f"migrate: hash chain over {table}", unchained(conn, settings.store_schema, table), stream)
            hashed += fill_chain(conn, settings.store_schema, table, batch, progress.advance)
            progress.finish()
        statement = SQL("SELECT count(*) FROM {} WHERE recorded_at IS NULL").format(events_table(settings.store_schema))
        unknown = conn.execute(statement).fetchone()[0]
    return Migration(hashed, unknown)

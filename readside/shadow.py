"""A shadow copy of a projection's tables, built beside the live ones and swapped in at once.

The shadow lives in a schema of its own (`<read schema>_rebuild_<projection>`), with the
projection's tables under their live names and `rebuild_positions`: how far the rebuild
has read its source. Rows and position are written in one transaction, so an interrupted
rebuild resumes exactly where its last batch committed.

The swap is one transaction: lock the live tables (readers and the live projector wait,
they never see a half-built table), let the source catch the shadow up with what the live
projector applied meanwhile, move the live tables out and the shadow's in, and rebind the
views to the new tables (`CREATE OR REPLACE VIEW` keeps each view, and so its grants);
every view, since a view may read the tables of several projections.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.sql import SQL, Identifier

from projections import views
from projections.base import Projection
from projections.registry import all_projections

POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS rebuild_positions (
    source   text NOT NULL,    -- 'store' or 'kafka'
    stream   text NOT NULL,    -- 'notifications', or topic:topic_id:partition
    position bigint NOT NULL,  -- last notification id applied, or next Kafka offset
    PRIMARY KEY (source, stream)
)"""

SAVE_POSITION = """
INSERT INTO rebuild_positions (source, stream, position) VALUES (%s, %s, %s)
ON CONFLICT (source, stream) DO UPDATE SET position = excluded.position"""


class Shadow:
    def __init__(self, database_url: str, projection: Projection, read_schema: str, views_schema: str):
        self.projection = projection
        self.read_schema = read_schema
        self.views_schema = views_schema
        self.schema = f"{read_schema}_rebuild_{projection.name}"
        self.conn = psycopg.connect(database_url)

    def close(self) -> None:
        self.conn.close()

    def open(self, source: str, restart: bool = False) -> dict[str, int]:
        """Create the shadow, or find the one an interrupted rebuild left; returns its positions.
        A shadow built from another source is started over (its rows are no use)."""
        schema = Identifier(self.schema)
        with self.conn.transaction(), self.conn.cursor() as cursor:
            if restart or self._built_from_another_source(cursor, source):
                cursor.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            self.cursor_in_shadow(cursor)
            cursor.execute(POSITIONS_DDL)
            self.projection.create(cursor)
            cursor.execute("SELECT stream, position FROM rebuild_positions WHERE source = %s", (source,))
            return dict(cursor.fetchall())

    def restart(self, source: str) -> dict[str, int]:
        """Start over: the rows built so far are of no use (another incarnation of the topic)."""
        return self.open(source, restart=True)

    def _built_from_another_source(self, cursor, source: str) -> bool:
        cursor.execute("SELECT to_regclass(%s)", (f'"{self.schema}".rebuild_positions',))
        if cursor.fetchone()[0] is None:
            return False
        cursor.execute(SQL("SELECT 1 FROM {} WHERE source <> %s LIMIT 1").format(
            Identifier(self.schema, "rebuild_positions")), (source,))
        return cursor.fetchone() is not None

    def cursor_in_shadow(self, cursor) -> None:
        cursor.execute(SQL("SET LOCAL search_path TO {}").format(Identifier(self.schema)))

    def commit_batch(self, source: str, positions: dict[str, int], write: Callable) -> None:
        """Rows and the position they bring the rebuild to, in one transaction."""
        with self.conn.transaction(), self.conn.cursor() as cursor:
            self.cursor_in_shadow(cursor)
            write(cursor)
            for stream, position in positions.items():
                cursor.execute(SAVE_POSITION, (source, stream, position), prepare=True)

    def swap(self, catch_up: Callable) -> None:
        """Swap the shadow in; `catch_up(cursor)` runs with the live tables locked, the
        cursor's search_path on the shadow, before the swap."""
        read, shadow = Identifier(self.read_schema), Identifier(self.schema)
        retired = Identifier(f"{self.read_schema}_retired_{self.projection.name}")
        with self.conn.transaction(), self.conn.cursor() as cursor:
            live = self.live_tables(cursor)
            for table in live:
                cursor.execute(SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(Identifier(self.read_schema, table)))
            self.cursor_in_shadow(cursor)
            catch_up(cursor)
            cursor.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(retired))
            cursor.execute(SQL("CREATE SCHEMA {}").format(retired))
            cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(read))
            for table in live:  # the views still point at these until rebound below
                cursor.execute(SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(read, Identifier(table), retired))
            for table in self.projection.tables:
                cursor.execute(SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(shadow, Identifier(table), read))
            # A view may read other projections' tables too (the balances' overdue reads the
            # invoices): rebind every view, so that none stays on a retired table and goes
            # with it. Tables not there yet (a replay before any projector ran) are created.
            cursor.execute(SQL("SET LOCAL search_path TO {}").format(read))
            everything = all_projections()
            for projection in everything:
                projection.create(cursor)
            views.publish(cursor, everything, self.read_schema, self.views_schema)
            cursor.execute(SQL("DROP SCHEMA {} CASCADE").format(retired))
            cursor.execute(SQL("DROP SCHEMA {} CASCADE").format(shadow))

    def live_tables(self, cursor) -> list[str]:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name = ANY(%s)",
            (self.read_schema, list(self.projection.tables)),
        )
        found = {row[0] for row in cursor.fetchall()}
        return [t for t in self.projection.tables if t in found]

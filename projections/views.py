"""The views schema: what analysts read. One view per read model, over its live table.

A view is bound to its table's identity (OID), not its name. After a rebuild swaps in a
new table, `CREATE OR REPLACE VIEW` binds the view to it again while keeping the view
itself, and so its grants: readers see the old rows until the swap commits, then the new.
"""

from __future__ import annotations

from psycopg.sql import SQL, Identifier, Literal

from projections import load_sql
from projections.base import Projection, View

ANALYSTS = "ledger_analysts"  # the role that may read the views, and nothing else


def view_statement(projection: Projection, view: View, read_schema: str, views_schema: str) -> SQL:
    """The view's SELECT, over the read models in `read_schema` (or pg_temp for a recomputation)."""
    body = projection.sql[f"view {view.name}"]
    return SQL(body).format(read=Identifier(read_schema), views=Identifier(views_schema))


def publish(cursor, projections: list[Projection], read_schema: str, views_schema: str) -> None:
    """Create (or rebind) the views of these projections, with their column comments."""
    create_helpers(cursor, views_schema)
    for projection in projections:
        for view in projection.views:
            name = Identifier(views_schema, view.name)
            select = view_statement(projection, view, read_schema, views_schema)
            cursor.execute(SQL("CREATE OR REPLACE VIEW {} AS ").format(name) + select)
            for column, meaning in view.columns.items():
                cursor.execute(SQL("COMMENT ON COLUMN {}.{} IS {}").format(name, Identifier(column), Literal(meaning)))
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ANALYSTS,))
    if cursor.fetchone():
        grant_views(cursor, views_schema)


def create_helpers(cursor, views_schema: str) -> None:
    """The views schema and the functions its views share (views.sql)."""
    views = Identifier(views_schema)
    cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(views))
    cursor.execute(SQL(load_sql("views")["create"]).format(views=views))


def grant_views(cursor, views_schema: str) -> None:
    views = Identifier(views_schema)
    cursor.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}").format(views, Identifier(ANALYSTS)))
    cursor.execute(SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(views, Identifier(ANALYSTS)))

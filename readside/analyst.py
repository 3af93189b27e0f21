"""Analyst logins: read the views, and nothing else.

`grant_analyst` creates (or updates) a login role that is a member of `ledger_analysts`,
the role every view in the views schema is granted to (projections/views.py grants new
views to it as they are created). A view runs with its owner's rights, so the analyst
reads the read models through the views without any right on the read-model schema, the
event store, or the projector's offsets. Writing: no right on any table, no CREATE on
any schema, no temporary tables, and transactions read-only by default.

Bounded too: a statement timeout and an idle-in-transaction timeout (a forgotten query or an
open transaction holds no lock and no connection for long), a connection limit, and no CONNECT
on the server's maintenance databases (`postgres`, `template1`), where PUBLIC may connect and
create temporary tables by default. Other databases on a shared server where PUBLIC may still
connect are returned, for the operator to close (REVOKE CONNECT ... FROM PUBLIC there).

What PostgreSQL cannot hide from any role that may log in: the system catalogs (`pg_class`,
`pg_namespace`, `pg_attribute`, `pg_proc` with function bodies, `pg_roles`, `pg_database`) are
readable by everyone, so an analyst can list the names of the store's schema, tables, columns,
functions and roles, though never read a row. `information_schema` shows only what the analyst
may use, and other sessions' queries in `pg_stat_activity` stay hidden.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier, Literal

from consumers.projector import connect_read_models, set_up_read_side
from domain.errors import LedgerError
from projections.registry import all_projections
from projections.views import ANALYSTS, grant_views
from readside.settings import CONNECTION_LIMIT, STATEMENT_TIMEOUT, ReadSideSettings

_ROLES_LOCK = 0x1ED9E6  # CREATE ROLE races with itself across sessions; serialise it
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
MAINTENANCE_DATABASES = ("postgres", "template1")


def grant_analyst(settings: ReadSideSettings, name: str, password: str | None = None,
                  statement_timeout: str = STATEMENT_TIMEOUT, connection_limit: int = CONNECTION_LIMIT) -> bool:
    """Returns True when the login role was created, False when it existed (and was updated)."""
    if not name or name.startswith("pg_"):
        raise LedgerError(f"{name!r} is not a role name an analyst can have")
    # The views must exist to be granted: a new database gets its read side first.
    conn = connect_read_models(settings.database_url, settings.read_schema)
    try:
        set_up_read_side(conn, all_projections(), settings.views_schema)
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLES_LOCK,))
            _ensure_role(cursor, ANALYSTS, login=False)
            created = _ensure_role(cursor, name, login=True)
            if _is_privileged(cursor, name):
                raise LedgerError(f"role {name!r} is a superuser or may bypass row security; it cannot be an analyst")
            role = Identifier(name)
            if password is not None:
                cursor.execute(SQL("ALTER ROLE {} PASSWORD {}").format(role, Literal(password)))
            cursor.execute(SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
            try:
                cursor.execute(SQL("ALTER ROLE {} SET statement_timeout = {}").format(role, Literal(statement_timeout)))
            except psycopg.errors.InvalidParameterValue:
                raise LedgerError(f"--statement-timeout {statement_timeout!r} is not a duration PostgreSQL reads (e.g. 30s, 5min)") from None
            cursor.execute(SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = {}").format(
                role, Literal(IDLE_IN_TRANSACTION_TIMEOUT)))
            cursor.execute(SQL("ALTER ROLE {} SET temp_file_limit = '1GB'").format(role))
            cursor.execute(SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(role, Literal(connection_limit)))
            cursor.execute(SQL("GRANT {} TO {}").format(Identifier(ANALYSTS), role))
            database = Identifier(conn.info.dbname)
            cursor.execute(SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, Identifier(ANALYSTS)))
            _close_public_doors(cursor, database, settings)
            grant_views(cursor, settings.views_schema)
        return created
    finally:
        conn.close()


def databases_open_to_everyone(settings: ReadSideSettings) -> list[str]:
    """Other databases on this server that PUBLIC (so an analyst) may still connect to."""
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND datname <> current_database() "
            "AND has_database_privilege('public', datname, 'CONNECT') ORDER BY datname"
        ).fetchall()
    return [r[0] for r in rows]


def _ensure_role(cursor, name: str, login: bool) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    if cursor.fetchone():
        return False
    cursor.execute(SQL("CREATE ROLE {} " + ("LOGIN" if login else "NOLOGIN")).format(Identifier(name)))
    return True


def _is_privileged(cursor, name: str) -> bool:
    cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", (name,))
    return cursor.fetchone()[0]


def _close_public_doors(cursor, database: Identifier, settings: ReadSideSettings) -> None:
    """What PUBLIC (every role) may do by default, and an analyst must not: create
    temporary tables, create in the public schema, use the ledger's own schemas."""
    owner = SQL("CURRENT_USER")
    cursor.execute(SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(database, owner))  # the ledger keeps its own
    cursor.execute(SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(database))
    cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    for other in MAINTENANCE_DATABASES:  # no application connects there; superusers still may
        cursor.execute(SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(Identifier(other)))
    for schema in (settings.store_schema, settings.read_schema, settings.views_schema):
        cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
        cursor.execute(SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(Identifier(schema)))


def connect_as(settings: ReadSideSettings, name: str, password: str | None = None) -> psycopg.Connection:
    """A connection as that role (for checks and tests): the ledger's URL with another user."""
    from psycopg.conninfo import make_conninfo

    return psycopg.connect(make_conninfo(settings.database_url, user=name, password=password or ""))

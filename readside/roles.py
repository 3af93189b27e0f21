"""The ledger's PostgreSQL roles, least privilege: `ledger db roles create|rotate`.

* `<prefix>_owner` owns the event store's schema: its tables, functions and triggers. It runs
  `ledger db migrate`, and alone may use the store's maintenance switch (eventstore/chain.py).
* `<prefix>_app` is what ingest, relay, the HTTP API and the staff commands use: it may insert
  into the event store and read it, never update, delete or truncate it (no grant, and the
  trigger refuses it anyway); it writes its own positions and counts; it reads the read models.
* `<prefix>_projector` owns the read models, the views and its offsets (it creates and
  rebuilds them: projector, `ledger replay`, `ledger verify`); it reads the store, writes nothing there.

Passwords are generated (or taken from LEDGER_<ROLE>_PASSWORD with `passwords_from_env`) and
kept in `<home>/credentials/<role>.pgpass`, mode 0600, in libpq's password-file format; the
connection URL of each role names that file (`passfile=`) and carries no password, so it may be
shown and logged. Run as a superuser (the admin), once, and again to rotate.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier, Literal

from consumers.projector import connect_read_models, set_up_read_side
from domain.errors import LedgerError
from eventstore.chain import MAINTENANCE_LOG, append_lock_table
from eventstore.postgres import open_access_log, open_application
from projections.registry import all_projections
from readside.event_log import APPEND_ONLY_LOGS, EVENTS_TABLE, log_exists

_ROLES_LOCK = 0x1ED9E6  # the analyst's lock too: CREATE ROLE races with itself across sessions
KINDS = ("owner", "app", "projector")
# Logs the app may append to and read, never change: the ledger's events and the access events.
# Where the service keeps passwords, tokens and idempotency keys (service/credentials.py).
CREDENTIALS_SCHEMA = "ledger_auth"


@dataclass(frozen=True)
class Credential:
    role: str
    passfile: Path
    url: str  # no password in it: `passfile=` names where libpq finds it


def role_name(prefix: str, kind: str) -> str:
    return f"{prefix}_{kind}"


def credentials_dir(home: Path) -> Path:
    return home / "credentials"


def write_private(path: Path, text: str) -> None:
    """Write a file only its user may read (0600 from its creation: never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def url_with_passfile(database_url: str, user: str, passfile: Path) -> str:
    """The connection string for `user`, its password left to libpq's password file."""
    params = {k: v for k, v in conninfo_to_dict(database_url).items() if k not in ("password", "passfile", "user")}
    return make_conninfo(**params, user=user, passfile=str(passfile))


def create_roles(settings, home: Path, prefix: str, rotate: bool = False, passwords_from_env: bool = False) -> list[Credential]:
    """Create the three roles (a new password for each one created, or each one with `rotate`),
    give each its rights, and return where their credentials are."""
    _ensure_ledger_objects(settings)
    credentials = []
    with psycopg.connect(settings.database_url) as conn, conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLES_LOCK,))
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            raise LedgerError("`ledger db roles` runs as a superuser (the database's admin): it creates roles and hands over the schemas")
        for kind in KINDS:
            role = role_name(prefix, kind)
            created = _ensure_login(cursor, role)
            passfile = credentials_dir(home) / f"{role}.pgpass"
            password = _password(kind, passwords_from_env)
            if created or rotate or (password is not None and passwords_from_env) or not passfile.exists():
                password = password or secrets.token_urlsafe(32)
                cursor.execute("SET LOCAL password_encryption = 'scram-sha-256'")
                cursor.execute(SQL("ALTER ROLE {} PASSWORD {}").format(Identifier(role), Literal(password)))
                write_private(passfile, f"*:*:*:{role}:{password}\n")
            credentials.append(Credential(role, passfile, url_with_passfile(settings.database_url, role, passfile)))
        _grant(cursor, settings, prefix)
    return credentials


def _password(kind: str, from_env: bool) -> str | None:
    return os.environ.get(f"LEDGER_{kind.upper()}_PASSWORD") or None if from_env else None


def _ensure_ledger_objects(settings) -> None:
    """The store (the ledger's log and the access log) and the read side exist before they are
    handed over (a new database)."""
    open_application(settings).close()
    open_access_log(settings).close()
    conn = connect_read_models(settings.database_url, settings.read_schema)
    try:
        set_up_read_side(conn, all_projections(), settings.views_schema)
    finally:
        conn.close()


def _ensure_login(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cursor.fetchone():
        cursor.execute(SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION").format(Identifier(role)))
        return False
    cursor.execute(SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION").format(Identifier(role)))
    return True


def _hand_over(cursor, schema: str, owner: str) -> None:
    """The schema and everything in it to `owner` (sequences and indexes follow their tables)."""
    role = Identifier(owner)
    cursor.execute(SQL("ALTER SCHEMA {} OWNER TO {}").format(Identifier(schema), role))
    cursor.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'a' AND c.relkind = 'S')",
        (schema,),
    )
    for name, kind in cursor.fetchall():
        keyword = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE", "S": "SEQUENCE"}.get(kind, "TABLE")
        cursor.execute(SQL("ALTER " + keyword + " {}.{} OWNER TO {}").format(Identifier(schema), Identifier(name), role))
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
        (schema,),
    )
    for (signature,) in cursor.fetchall():
        cursor.execute(SQL("ALTER ROUTINE " + signature + " OWNER TO {}").format(role))
    cursor.execute(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typtype IN ('c', 'd', 'e') AND (t.typrelid = 0 OR "
        "(SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')",
        (schema,),
    )
    for (name,) in cursor.fetchall():
        cursor.execute(SQL("ALTER TYPE {}.{} OWNER TO {}").format(Identifier(schema), Identifier(name), role))


def _grant(cursor, settings, prefix: str) -> None:
    owner, app, projector = (Identifier(role_name(prefix, k)) for k in KINDS)
    store, read, views = (Identifier(s) for s in (settings.store_schema, settings.read_schema, settings.views_schema))
    database = Identifier(conninfo_to_dict(settings.database_url).get("dbname") or "postgres")
    _hand_over(cursor, settings.store_schema, role_name(prefix, "owner"))
    for schema in (settings.read_schema, settings.views_schema):
        _hand_over(cursor, schema, role_name(prefix, "projector"))
    for role in (owner, app, projector):
        # pg_temp: `ledger verify` and `balance --as-of` recompute there
        cursor.execute(SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, role))
    cursor.execute(SQL("GRANT CREATE ON DATABASE {} TO {}").format(database, projector))  # a rebuild's shadow schema

    # the store: insert and read the events, never change them; the app's own positions and counts
    cursor.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(store, app, projector))
    cursor.execute(SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}, {}").format(store, app, projector))
    cursor.execute(SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}, {}").format(store, app, projector))
    for log in APPEND_ONLY_LOGS:  # the ledger's events, and the service's access events once it made them
        if log_exists(cursor, settings.store_schema, log):
            cursor.execute(SQL("GRANT SELECT, INSERT ON {} TO {}").format(Identifier(settings.store_schema, log), app))
    cursor.execute(SQL("GRANT SELECT ON {} TO {}").format(Identifier(settings.store_schema, EVENTS_TABLE), projector))
    cursor.execute(SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(store, app))
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname <> ALL(%s)",
        (settings.store_schema, [*APPEND_ONLY_LOGS, *map(append_lock_table, APPEND_ONLY_LOGS), MAINTENANCE_LOG]),
    )
    for (table,) in cursor.fetchall():  # tracking, ingest counts (and the library's snapshots, if any)
        cursor.execute(SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(Identifier(settings.store_schema, table), app))

    # the service's credentials (passwords, tokens, idempotency keys): the app keeps them, in a
    # schema of its own (`ledger serve` makes its tables there)
    cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(CREDENTIALS_SCHEMA)))
    _hand_over(cursor, CREDENTIALS_SCHEMA, role_name(prefix, "app"))

    # the read side: the app reads it, the projector owns it; tables a rebuild makes later too
    for schema in (read, views):
        cursor.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(schema, app, owner))
        cursor.execute(SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}, {}").format(schema, app, owner))
        cursor.execute(SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}, {}").format(
            projector, schema, app, owner))

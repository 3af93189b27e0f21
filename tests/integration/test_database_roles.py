"""`ledger db roles`: the owner, application and projector roles, each with only its rights,
proved by connecting as each on the real PostgreSQL."""

from __future__ import annotations

import stat
from dataclasses import replace
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from consumers.projector import connect_read_models, set_up_read_side
from eventstore.chain import append_lock_table
from eventstore.postgres import open_application
from projections.registry import all_projections
from readside.event_log import EVENTS_TABLE
from readside.roles import create_roles
from tests.cli_helpers import ledger
from tests.factories import open_customer
from tests.integration.test_append_only_chained_store import (
    MAINTENANCE,
    events,
    ids,
    walk,
)
from tests.read_side_helpers import execute, record_usage

REFUSED = (psycopg.errors.InsufficientPrivilege,)


@pytest.fixture
def roles(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 3)
    prefix = "r" + uuid4().hex[:8]
    credentials = {c.role.removeprefix(prefix + "_"): c for c in create_roles(settings, settings.home, prefix)}
    yield credentials
    for credential in credentials.values():
        execute(settings, f'DROP OWNED BY "{credential.role}"')
        execute(settings, f'DROP ROLE IF EXISTS "{credential.role}"')


def as_role(settings, credential):
    return replace(settings, database_url=credential.url)


def refused(settings, credential, *statements: str) -> bool:
    with psycopg.connect(credential.url) as conn:
        try:
            for statement in statements:
                conn.execute(statement)
        except REFUSED:
            return True
    return False


def test_credentials_are_files_only_their_user_reads_and_urls_carry_no_password(roles):
    for credential in roles.values():
        assert stat.S_IMODE(credential.passfile.stat().st_mode) == 0o600
        password = credential.passfile.read_text().strip().rsplit(":", 1)[1]
        assert len(password) >= 32 and password not in credential.url
        assert f"passfile={credential.passfile}" in credential.url


@pytest.mark.parametrize("statement", ["UPDATE {t} SET topic = topic", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_the_application_role_never_updates_deletes_or_truncates_the_store(settings, roles, statement):
    before = ids(settings)
    sql = statement.format(t=events(settings))
    assert refused(settings, roles["app"], sql)
    assert refused(settings, roles["app"], "BEGIN", MAINTENANCE, sql)  # the switch is the owner's
    assert ids(settings) == before


@pytest.mark.parametrize("role", ["app", "projector"])
def test_no_role_but_the_owner_can_take_the_append_lock_and_hold_the_writers_off(settings, roles, role):
    """The append lock orders notification ids: whoever holds it stops every writer of the
    store. The roles that write or read the store may not take it, only the owner's function
    does, as part of an append."""
    lock_table = f"{settings.store_schema}.{append_lock_table(EVENTS_TABLE)}"
    assert refused(settings, roles[role], "BEGIN", f"LOCK TABLE {lock_table} IN ACCESS SHARE MODE")
    assert refused(settings, roles[role], "BEGIN", f"SELECT * FROM {lock_table} FOR UPDATE")


def test_the_application_role_records_and_reads_events_through_the_recorder(settings, roles):
    app = open_application(as_role(settings, roles["app"]))
    try:
        open_customer(app, "CUST-2")
        record_usage(app, "CUST-2", 2)
        assert app.index.customer_ids() == ["CUST-1", "CUST-2"]
    finally:
        app.close()
    assert walk(settings).broken is None


def test_the_application_role_on_a_store_not_migrated_is_told_to_migrate_before_any_write(settings, roles, app):
    from eventstore.postgres import StoreNotMigrated

    table = app.recorder.events_table_name
    execute(settings, f'DROP FUNCTION "{settings.store_schema}"."append_{table}"')  # as a store of an earlier version
    before = ids(settings)

    with pytest.raises(StoreNotMigrated, match=r"has no append_.*run `ledger db migrate` with its owner's credentials"):
        open_application(as_role(settings, roles["app"]))
    assert ids(settings) == before

    open_application(as_role(settings, roles["owner"])).close()  # the owner's start, as `ledger db migrate`, makes it
    migrated = open_application(as_role(settings, roles["app"]))
    try:
        open_customer(migrated, "CUST-3")
    finally:
        migrated.close()
    assert len(ids(settings)) > len(before)


def test_the_owner_changes_an_event_only_with_the_logged_switch(settings, roles):
    first = ids(settings)[0]
    update = f"UPDATE {events(settings)} SET topic = topic WHERE notification_id = {first}"
    assert refused(settings, roles["owner"], update)
    with psycopg.connect(roles["owner"].url) as conn:
        conn.execute(MAINTENANCE)
        conn.execute(update)
        conn.commit()
        logged = conn.execute(f"SELECT by_user, reason FROM {settings.store_schema}.maintenance_log").fetchall()
    assert logged == [(roles["owner"].role, "test: repair")]


def test_the_projector_reads_the_store_and_writes_only_the_read_models(settings, roles):
    projector = roles["projector"]
    with psycopg.connect(projector.url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {events(settings)}").fetchone()[0] == len(ids(settings))
    assert refused(settings, projector, f"INSERT INTO {events(settings)} (originator_id, originator_version) VALUES (gen_random_uuid(), 1)")
    assert refused(settings, projector, f"SELECT * FROM {settings.store_schema}.ledger_tracking")
    conn = connect_read_models(projector.url, settings.read_schema)  # as the projector starts
    try:
        set_up_read_side(conn, all_projections(), settings.views_schema)
        conn.execute("INSERT INTO projector_offsets (consumer_group, topic, topic_id, partition, next_offset) VALUES ('g', 't', 'i', 0, 1)")
        conn.commit()
    finally:
        conn.close()
    with psycopg.connect(roles["app"].url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {settings.read_schema}.projector_offsets").fetchone()[0] == 1
    assert refused(settings, roles["app"], f"DELETE FROM {settings.read_schema}.projector_offsets")


def test_ledger_db_roles_prints_where_the_credentials_are_never_a_password(settings, cli_env, roles):
    prefix = next(iter(roles.values())).role.split("_")[0]
    before = {kind: c.passfile.read_text() for kind, c in roles.items()}
    rotated = ledger({**cli_env, "LEDGER_ROLE_PREFIX": prefix}, "db", "roles", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    for kind, credential in roles.items():
        password = credential.passfile.read_text().strip().rsplit(":", 1)[1]
        assert credential.passfile.read_text() != before[kind]  # a new password, in the same file
        assert f"{credential.role}: {credential.url}" in rotated.stdout
        assert password not in rotated.stdout + rotated.stderr
        old = before[kind].strip().rsplit(":", 1)[1]
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(with_password(credential.url, old))
        psycopg.connect(with_password(credential.url, password)).close()


def with_password(url: str, password: str) -> str:
    params = {k: v for k, v in conninfo_to_dict(url).items() if k != "passfile"}
    return make_conninfo(**params, password=password)

"""`ledger db grant-analyst`: a login that reads the views and nothing else, proved by
connecting as it."""

from __future__ import annotations

import psycopg
import pytest

from readside.analyst import connect_as
from tests.cli_helpers import ledger
from tests.factories import open_customer
from tests.read_side_helpers import execute, record_usage, relay_and_project


@pytest.fixture
def analyst(settings):
    name = "analyst_" + settings.usage_topic.rsplit("t_", 1)[-1]
    yield name
    execute(settings, f'DROP OWNED BY "{name}"')
    execute(settings, f'DROP ROLE IF EXISTS "{name}"')


def refused(conn, statement: str) -> bool:
    try:
        conn.execute(statement)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
        conn.rollback()
        return True
    conn.rollback()
    return False


def test_an_analyst_reads_the_views_and_nothing_else(settings, app, cli_env, analyst):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 4)
    relay_and_project(settings, app)

    first = ledger(cli_env, "db", "grant-analyst", analyst, "--password-stdin", stdin="s3cret\n")
    again = ledger(cli_env, "db", "grant-analyst", analyst)
    assert first.returncode == 0 and "created" in first.stdout, first.stderr
    assert again.returncode == 0 and "updated" in again.stdout, again.stderr

    with connect_as(settings, analyst, "s3cret") as conn:
        (row,) = conn.execute(f"SELECT customer_id, usage_lines FROM {settings.views_schema}.customer_balances").fetchall()
        assert row == ("CUST-1", 4)
        conn.rollback()
        read, store = settings.read_schema, settings.store_schema
        assert refused(conn, f"SELECT * FROM {store}.ledger_events")
        assert refused(conn, f"SELECT * FROM {store}.ledger_tracking")
        assert refused(conn, f"SELECT * FROM {read}.customer_balances")
        assert refused(conn, f"SELECT * FROM {read}.projector_offsets")
        assert refused(conn, f"UPDATE {settings.views_schema}.customer_balances SET usage_lines = 0")
        assert refused(conn, f"INSERT INTO {settings.views_schema}.customer_balances (customer_id) VALUES ('X')")
        assert refused(conn, "CREATE TABLE public.mine (a int)")
        assert refused(conn, "CREATE TEMPORARY TABLE mine (a int)")
        assert refused(conn, f"CREATE VIEW {settings.views_schema}.mine AS SELECT 1")
        # even after leaving the read-only default, there is nowhere to write
        conn.execute("SET default_transaction_read_only = off")
        conn.commit()
        assert refused(conn, "CREATE TABLE public.mine (a int)")
        assert refused(conn, f"DELETE FROM {settings.views_schema}.customer_balances")


def test_a_role_with_more_rights_is_not_made_an_analyst(settings, cli_env):
    result = ledger(cli_env, "db", "grant-analyst", "postgres")
    assert result.returncode == 2
    assert "cannot be an analyst" in result.stderr and "Traceback" not in result.stderr


def test_an_analyst_is_bounded_in_time_connections_and_databases_and_sees_no_store_in_information_schema(settings, cli_env, analyst):
    from psycopg.conninfo import make_conninfo

    granted = ledger(cli_env, "db", "grant-analyst", analyst, "--password-stdin", "--statement-timeout", "300ms",
                     "--connection-limit", "2", stdin="s3cret\n")
    assert granted.returncode == 0 and "statements up to 300ms, 2 connections" in granted.stdout, granted.stderr

    with connect_as(settings, analyst, "s3cret") as conn, connect_as(settings, analyst, "s3cret"):
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(3)")
        conn.rollback()
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            connect_as(settings, analyst, "s3cret")
        store = settings.store_schema
        assert conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (store,)).fetchall() == []
        assert conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s", (store,)).fetchall() == []
        assert conn.execute("SELECT has_schema_privilege(%s, 'USAGE')", (store,)).fetchone()[0] is False
        others = conn.execute("SELECT query FROM pg_stat_activity WHERE usename <> current_user AND backend_type = 'client backend'").fetchall()
        assert all(q in (None, "<insufficient privilege>") for (q,) in others)
    for other in ("postgres", "template1"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(make_conninfo(settings.database_url, dbname=other, user=analyst, password="s3cret"))
    bad = ledger(cli_env, "db", "grant-analyst", analyst, "--statement-timeout", "soon")
    assert bad.returncode == 2 and "is not a duration" in bad.stderr

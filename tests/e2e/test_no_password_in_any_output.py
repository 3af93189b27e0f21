"""No command prints a password: run as an operator runs them, with the password in
LEDGER_DATABASE_URL, every command's stdout and stderr are searched for it."""

from __future__ import annotations

import stat
from uuid import uuid4

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledger import embedded
from tests.cli_helpers import ledger
from tests.factories import open_customer
from tests.read_side_helpers import execute, record_usage, relay_and_project


def superuser_password(settings) -> str:
    return embedded.passfile_of(settings.home).read_text().strip().rsplit(":", 1)[1]


def url_with(settings, password: str) -> str:
    params = {k: v for k, v in conninfo_to_dict(settings.database_url).items() if k != "passfile"}
    return make_conninfo(**params, password=password)


def test_no_command_prints_the_database_password(settings, app, cli_env, tmp_path):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 3)
    relay_and_project(settings, app)
    password = superuser_password(settings)
    prefix, analyst = "p" + uuid4().hex[:8], "a" + uuid4().hex[:8]
    home = tmp_path / "home"
    env = {**cli_env, "LEDGER_DATABASE_URL": url_with(settings, password), "LEDGER_HOME": str(home), "LEDGER_ROLE_PREFIX": prefix}
    commands = [
        ["up"], ["status"], ["stats"], ["verify"], ["verify", "--store"], ["verify", "--store", "--head"],
        ["db", "migrate"], ["db", "roles", "create"], ["db", "roles", "rotate"], ["db", "grant-analyst", analyst],
        ["query", "--help"], ["down"],
    ]
    try:
        for command in commands:
            result = ledger(env, *command)
            assert result.returncode == 0, (command, result.stderr)
            assert password not in result.stdout + result.stderr, command
            assert "password=" not in result.stdout + result.stderr, command
            if command == ["up"]:
                assert stat.S_IMODE((home / "services.json").stat().st_mode) == 0o600
        for passfile in (home / "credentials").glob("*.pgpass"):  # the roles' own passwords
            secret = passfile.read_text().strip().rsplit(":", 1)[1]
            assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
            assert all(secret not in ledger(env, *c).stdout for c in (["status"], ["verify", "--store", "--head"]))

        wrong = ledger({**env, "LEDGER_DATABASE_URL": url_with(settings, "Wr0ng-guess-123")}, "verify", "--store")
        assert wrong.returncode != 0 and "Wr0ng-guess-123" not in wrong.stdout + wrong.stderr
    finally:
        for role in (f"{prefix}_owner", f"{prefix}_app", f"{prefix}_projector", analyst):
            execute(settings, f'DROP OWNED BY "{role}"') if role_exists(settings, role) else None
            execute(settings, f'DROP ROLE IF EXISTS "{role}"')


def role_exists(settings, role: str) -> bool:
    import psycopg

    with psycopg.connect(settings.database_url) as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None

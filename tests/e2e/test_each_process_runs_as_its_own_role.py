"""The ledger's processes, each as its own PostgreSQL role (`ledger db roles create`): staff
commands, ingest and relay as the application role, the projector and verify as the
projector's, `ledger db migrate` and `verify --store` as the owner's; usage goes through the
whole pipeline, and none of them runs as a superuser."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import psycopg

from tests.api_helpers import serving
from tests.cli_helpers import ledger
from tests.e2e.test_cli import USAGE_LINE
from tests.read_side_helpers import execute


def test_usage_goes_through_the_pipeline_with_each_process_in_its_own_role(settings, cli_env, tmp_path):
    prefix = "e" + uuid4().hex[:8]
    admin = {**cli_env, "LEDGER_ROLE_PREFIX": prefix}
    created = ledger(admin, "db", "roles", "create")
    assert created.returncode == 0, created.stderr
    url = dict(line.split(": ", 1) for line in created.stdout.splitlines())
    as_role = {kind: {**cli_env, "LEDGER_DATABASE_URL": url[f"{prefix}_{kind}"]} for kind in ("owner", "app", "projector")}
    try:
        for kind, env in as_role.items():
            with psycopg.connect(env["LEDGER_DATABASE_URL"]) as conn:
                assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,), kind

        app = as_role["app"]
        bootstrapped = ledger(app, "staff", "bootstrap", "alice@reseller.example")
        assert bootstrapped.returncode == 0, bootstrapped.stderr
        one_time = re.search(r"one-time password (\S+)", bootstrapped.stdout).group(1)
        # The API as the application role: the staff commands are its clients, signed in.
        with serving(replace(settings, database_url=url[f"{prefix}_app"])) as api:
            alice = {**app, "LEDGER_API_URL": api.url, "XDG_CONFIG_HOME": str(tmp_path / "config")}
            signed_in = ledger(alice, "login", "--user", "alice@reseller.example", stdin=f"{one_time}\nalice's own phrase 7\n")
            assert signed_in.returncode == 0, signed_in.stderr
            at = ["--at", "2026-10-01"]
            for command in (["account", "open", "ACME", "--name", "Acme", "--currency", "EUR", *at],
                            ["subscription", "add-metered", "ACME", "ACME-vm", "--product", "VM", "--meter", "vcpu-hours",
                             "--unit", "h", "--unit-price", "0.04", *at]):
                done = ledger(alice, *command)
                assert done.returncode == 0, (command, done.stderr)
            usage_file = tmp_path / "usage.jsonl"
            usage_file.write_text("\n".join(USAGE_LINE.format(id=f"role-{n}", q="10") for n in range(5)) + "\n")
            assert ledger(app, "usage", "publish", str(usage_file)).returncode == 0
            for env, command in ((app, "ingest"), (app, "relay"), (as_role["projector"], "project")):
                done = ledger(env, command, "--until-idle")
                assert done.returncode == 0, (command, done.stderr)

            shown = ledger(alice, "query", "balances", "ACME", "--format", "json")
            assert shown.returncode == 0, shown.stderr
            (row,) = json.loads(shown.stdout)
            assert (row["usage_lines"], Decimal(row["unbilled_usage"])) == (5, Decimal("2"))
            history = ledger(alice, "history", "ACME", "--format", "json")
            assert history.returncode == 0, history.stderr
            assert {e["actor"] for e in json.loads(history.stdout) if e["event"] == "AccountOpened"} == {"alice@reseller.example"}
        for env, command in ((as_role["projector"], ["verify"]), (as_role["owner"], ["db", "migrate"]),
                             (as_role["owner"], ["verify", "--store"])):
            done = ledger(env, *command)
            assert done.returncode == 0, (command, done.stderr)
    finally:
        for kind in ("owner", "app", "projector"):
            execute(settings, f'DROP OWNED BY "{prefix}_{kind}"')
            execute(settings, f'DROP ROLE "{prefix}_{kind}"')

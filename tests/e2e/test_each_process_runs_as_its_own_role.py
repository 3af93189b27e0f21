"""The ledger's processes, each as its own PostgreSQL role (`ledger db roles create`): staff
commands, ingest and relay as the application role, the projector and verify as the
projector's, `ledger db migrate` and `verify --store` as the owner's; usage goes through the
whole pipeline, and none of them runs as a superuser."""

from __future__ import annotations

import json
from decimal import Decimal
from uuid import uuid4

import psycopg

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
        staff = ["--as", "alice@reseller.example", "--at", "2026-10-01"]
        for command in (["staff", "bootstrap", "alice@reseller.example", "--as", "operator"],
                        ["account", "open", "ACME", "--name", "Acme", "--currency", "EUR", *staff],
                        ["subscription", "add-metered", "ACME", "ACME-vm", "--product", "VM", "--meter", "vcpu-hours",
                         "--unit", "h", "--unit-price", "0.04", *staff]):
            done = ledger(app, *command)
            assert done.returncode == 0, (command, done.stderr)
        usage_file = tmp_path / "usage.jsonl"
        usage_file.write_text("\n".join(USAGE_LINE.format(id=f"role-{n}", q="10") for n in range(5)) + "\n")
        assert ledger(app, "usage", "publish", str(usage_file)).returncode == 0
        for env, command in ((app, "ingest"), (app, "relay"), (as_role["projector"], "project")):
            done = ledger(env, command, "--until-idle")
            assert done.returncode == 0, (command, done.stderr)

        shown = ledger(app, "query", "balances", "ACME", "--format", "json")
        assert shown.returncode == 0, shown.stderr
        (row,) = json.loads(shown.stdout)
        assert (row["usage_lines"], Decimal(row["unbilled_usage"])) == (5, Decimal("2"))
        for env, command in ((as_role["projector"], ["verify"]), (as_role["owner"], ["db", "migrate"]),
                             (as_role["owner"], ["verify", "--store"]), (app, ["history", "ACME"])):
            done = ledger(env, *command)
            assert done.returncode == 0, (command, done.stderr)
    finally:
        for kind in ("owner", "app", "projector"):
            execute(settings, f'DROP OWNED BY "{prefix}_{kind}"')
            execute(settings, f'DROP ROLE "{prefix}_{kind}"')

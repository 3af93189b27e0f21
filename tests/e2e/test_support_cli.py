"""`ledger case ...` run as the helpdesk runs it: separate processes on the real services."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

from domain.roles import Role
from tests.factories import ADMIN
from tests.cli_helpers import ledger

AT = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
ROOT = ADMIN  # the global admin (the `app` fixture may have bootstrapped it already)


def staff_and_a_customer(app) -> None:
    app.bootstrap_admin(ROOT, at=AT, actor="operator")
    app.grant_role("hana@partner.example", Role.HELPDESK_AGENT, at=AT, actor=ROOT)
    app.grant_role("sam@partner.example", Role.SALES_AGENT, at=AT, actor=ROOT)
    app.open_account("CONTOSO", "Contoso Ltd", "EUR", 30, Decimal("20"), at=AT, actor=ROOT)


def error_lines(result) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_a_helpdesk_agent_works_a_case_from_the_command_line(cli_env):
    env = {**cli_env, "LEDGER_PARTNER_SUPPORT_PLAN": "Premier Support"}
    root = ["--as", "root@partner.example"]
    for args in (["staff", "bootstrap", "root@partner.example", "--as", "operator"],
                 ["staff", "grant", "hana@partner.example", "helpdesk-agent", *root],
                 ["staff", "grant", "sam@partner.example", "sales-agent", *root],
                 ["account", "open", "CONTOSO", "--name", "Contoso Ltd", "--currency", "EUR", *root]):
        done = ledger(env, *args)
        assert done.returncode == 0, done.stderr
    agent = ["--as", "hana@partner.example"]

    opened = ledger(env, "case", "open", "CONTOSO", "--category", "technical", "--subject", "VM will not start",
                    *agent, "--at", "2026-10-05T09:00")
    assert opened.returncode == 0, opened.stderr
    case_id = re.fullmatch(r"case (CASE-[0-9A-F]{8}): opened\n", opened.stdout).group(1)

    for args in (["note", case_id, "Customer restarted twice"],
                 ["escalate", case_id, "--vendor-ticket", "MS-2610-77"],
                 ["resolve", case_id, "--resolution", "Host fault fixed by the vendor"]):
        done = ledger(env, "case", *args, *agent)
        assert done.returncode == 0, done.stderr

    refused = ledger(env, "case", "reopen", case_id, "--reason", "Down again", "--as", "sam@partner.example")
    assert refused.returncode == 2
    (line,) = error_lines(refused)
    assert "'sam@partner.example' may not open, note, escalate and resolve support cases" in line

    after_resolution = ledger(env, "case", "note", case_id, "One more thing", *agent)
    assert after_resolution.returncode == 2
    assert f"support case {case_id!r} is resolved" in error_lines(after_resolution)[0]

    not_shown = ledger(env, "case", "show", case_id, "--as", "sam@partner.example")
    assert not_shown.returncode == 2 and not_shown.stdout == ""
    assert "'sam@partner.example' may not read the support view" in error_lines(not_shown)[0]
    shown = ledger(env, "case", "show", case_id, "--format", "json", *agent)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert (view["customer_id"], view["status"], view["resolution"]) == (
        "CONTOSO", "resolved", "Host fault fixed by the vendor"
    )
    assert (view["escalated_to"], view["support_plan"], view["vendor_ticket"]) == (
        "vendor-technical-support", "Premier Support", "MS-2610-77"
    )
    assert [n["note"] for n in view["notes"]] == ["Customer restarted twice"]
    assert view["opened_at"] == "2026-10-05T09:00:00+00:00"


def test_opening_a_case_again_with_its_id_changes_nothing(app, cli_env):
    staff_and_a_customer(app)
    args = ["case", "open", "CONTOSO", "--category", "billing", "--subject", "Charged twice",
            "--id", "CASE-RETRY", "--as", "hana@partner.example"]
    assert ledger(cli_env, *args).stdout == "case CASE-RETRY: opened\n"
    again = ledger(cli_env, *args)
    assert (again.returncode, again.stdout) == (0, "case CASE-RETRY: nothing changed (already so)\n")

    shown = ledger(cli_env, "case", "show", "CASE-RETRY", "--as", "hana@partner.example")
    assert shown.returncode == 0, shown.stderr
    assert "vendor" not in shown.stdout and "status" in shown.stdout and "open" in shown.stdout


def test_without_a_configured_plan_a_case_is_escalated_under_the_default_plan(app, cli_env):
    staff_and_a_customer(app)
    app.open_case("CASE-1", "CONTOSO", "billing", "Charged twice", [], at=AT, actor=ROOT)
    env = {name: value for name, value in cli_env.items() if name != "LEDGER_PARTNER_SUPPORT_PLAN"}
    escalated = ledger(env, "case", "escalate", "CASE-1", "--as", "hana@partner.example")
    assert escalated.stdout == "case CASE-1: escalated (support plan Partner Success Advanced)\n", escalated.stderr
    assert app.get_case("CASE-1").escalation == ("vendor-commercial-support", "Partner Success Advanced", None)


def test_an_unknown_case_is_refused_in_one_line(app, cli_env):
    result = ledger(cli_env, "case", "show", "CASE-404", "--as", ROOT)
    assert result.returncode == 2
    assert error_lines(result) == ["error: there is no support case 'CASE-404'"]

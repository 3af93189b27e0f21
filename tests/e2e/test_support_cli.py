"""`ledger case ...` run as the helpdesk runs it: separate processes on the real services."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.roles import Role
from tests.factories import ADMIN
from tests.cli_helpers import ledger, signed_in, staff  # noqa: F401 - fixture

AT = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
ROOT = ADMIN  # the global admin (the `app` fixture may have bootstrapped it already)


def staff_and_a_customer(app) -> None:
    app.grant_role("hana@partner.example", Role.HELPDESK_AGENT, at=AT, actor=ROOT)
    app.grant_role("sam@partner.example", Role.SALES_AGENT, at=AT, actor=ROOT)
    app.open_account("CONTOSO", "Contoso Ltd", "EUR", 30, Decimal("20"), at=AT, actor=ROOT)


def error_lines(result) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def premier_staff(settings, cli_env, tmp_path):
    """The API of an installation whose support plan is Premier Support."""
    with signed_in(replace(settings, partner_support_plan="Premier Support"), cli_env, tmp_path) as signed:
        yield signed


def test_a_helpdesk_agent_works_a_case_from_the_command_line(app, premier_staff):
    staff = premier_staff
    for args in (["staff", "grant", "hana@partner.example", "helpdesk-agent"],
                 ["staff", "grant", "sam@partner.example", "sales-agent"],
                 ["account", "open", "CONTOSO", "--name", "Contoso Ltd", "--currency", "EUR"]):
        done = ledger(staff.env(ROOT), *args)
        assert done.returncode == 0, done.stderr
    env, agent = staff.env("hana@partner.example"), []

    opened = ledger(env, "case", "open", "CONTOSO", "--category", "technical", "--subject", "VM will not start",
                    *agent, "--at", "2026-10-05T09:00")
    assert opened.returncode == 0, opened.stderr
    case_id = re.fullmatch(r"case (CASE-[0-9A-F]{8}): opened\n", opened.stdout).group(1)

    for args in (["note", case_id, "Customer restarted twice"],
                 ["escalate", case_id, "--vendor-ticket", "MS-2610-77"],
                 ["resolve", case_id, "--resolution", "Host fault fixed by the vendor"]):
        done = ledger(env, "case", *args, *agent)
        assert done.returncode == 0, done.stderr

    refused = ledger(staff.env("sam@partner.example"), "case", "reopen", case_id, "--reason", "Down again")
    assert refused.returncode == 2
    (line,) = error_lines(refused)
    assert "'sam@partner.example' may not open, note, escalate and resolve support cases" in line

    after_resolution = ledger(env, "case", "note", case_id, "One more thing", *agent)
    assert after_resolution.returncode == 2
    assert f"support case {case_id!r} is resolved" in error_lines(after_resolution)[0]

    not_shown = ledger(staff.env("sam@partner.example"), "case", "show", case_id)
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


def test_opening_a_case_again_with_its_id_changes_nothing(app, staff):
    staff_and_a_customer(app)
    cli_env = staff.env("hana@partner.example")
    args = ["case", "open", "CONTOSO", "--category", "billing", "--subject", "Charged twice", "--id", "CASE-RETRY"]
    assert ledger(cli_env, *args).stdout == "case CASE-RETRY: opened\n"
    again = ledger(cli_env, *args)
    assert (again.returncode, again.stdout) == (0, "case CASE-RETRY: nothing changed (already so)\n")

    shown = ledger(cli_env, "case", "show", "CASE-RETRY")
    assert shown.returncode == 0, shown.stderr
    assert "vendor" not in shown.stdout and "status" in shown.stdout and "open" in shown.stdout


def test_without_a_configured_plan_a_case_is_escalated_under_the_default_plan(app, staff):
    staff_and_a_customer(app)
    app.open_case("CASE-1", "CONTOSO", "billing", "Charged twice", [], at=AT, actor=ROOT)
    escalated = ledger(staff.env("hana@partner.example"), "case", "escalate", "CASE-1")
    assert escalated.stdout == "case CASE-1: escalated (support plan Partner Success Advanced)\n", escalated.stderr
    assert app.get_case("CASE-1").escalation == ("vendor-commercial-support", "Partner Success Advanced", None)


def test_an_unknown_case_is_refused_in_one_line(app, staff):
    result = ledger(staff.env(ROOT), "case", "show", "CASE-404")
    assert result.returncode == 2
    assert error_lines(result) == ["error: there is no support case 'CASE-404'"]

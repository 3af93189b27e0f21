"""`ledger login`, then staff commands as the signed-in user, over a real `ledger serve`:
the actor is who signed in, `--as` is no argument, the kept token is readable only by its
user, LEDGER_TOKEN wins over it, and a token that no longer holds is one line, not signed in."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

from domain.credentials import TokenKind
from domain.roles import Role
from service.access import issue_token
from tests.api_helpers import PASSWORD
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN

BEA = "bea@partner.example"  # billing admin
HANA = "hana@partner.example"  # helpdesk agent: may not open accounts
OPEN_ACME = ["account", "open", "ACME", "--name", "Acme", "--currency", "EUR"]


def kept_token_file(env) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "ledger" / "credentials.json"


def login(staff, user: str, password: str = PASSWORD):
    return ledger(staff.base, "login", "--user", user, stdin=password + "\n")


def one_error_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_a_staff_command_after_ledger_login_records_the_signed_in_user_as_its_actor(app, staff):
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)

    signed_in = login(staff, BEA)

    assert signed_in.returncode == 0, signed_in.stderr
    assert f"signed in to {staff.api.url} as {BEA}" in signed_in.stdout
    token = json.loads(kept_token_file(staff.base).read_text())["token"]
    assert token not in signed_in.stdout + signed_in.stderr, "a session token is never printed"
    opened = ledger(staff.base, *OPEN_ACME, "--at", "2026-10-01")
    assert opened.returncode == 0, opened.stderr
    history = ledger(staff.base, "history", "ACME", "--format", "json")
    assert history.returncode == 0, history.stderr
    (event,) = json.loads(history.stdout)
    assert (event["event"], event["actor"]) == ("AccountOpened", BEA)
    assert event["record"]["currency"] == "EUR" and event["occurred_at"] == "2026-10-01T00:00:00Z"
    assert ledger(staff.base, "whoami").stdout.startswith(f"{BEA} at {staff.api.url}")


def test_a_forged_as_is_an_unknown_argument_and_changes_nothing(app, staff):
    before = staff.api.notifications()

    forged = ledger(staff.env(HANA), *OPEN_ACME, "--as", ADMIN)

    assert forged.returncode == 2
    assert "unrecognized arguments: --as" in one_error_line(forged)
    assert staff.api.notifications() == before


def test_the_kept_token_is_readable_by_its_user_only(app, staff):
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)
    assert login(staff, BEA).returncode == 0
    kept = kept_token_file(staff.base)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700


def test_ledger_token_wins_over_the_kept_token(app, staff):
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)
    staff.api.ctx.ledger.grant_role(HANA, Role.HELPDESK_AGENT, at=staff.api.ctx.clock(), actor=ADMIN)
    assert login(staff, BEA).returncode == 0  # kept: bea, who may open accounts

    as_hana = ledger(staff.env(HANA), *OPEN_ACME)  # LEDGER_TOKEN: hana's, who may not

    assert as_hana.returncode == 2
    assert f"'{HANA}' may not open accounts" in one_error_line(as_hana)
    assert ledger(staff.env(HANA), "whoami").stdout.startswith(HANA)


def test_an_expired_or_revoked_token_is_not_signed_in_in_one_line(app, staff):
    ctx = staff.api.ctx
    expired = issue_token(ctx.credentials, ctx.access, TokenKind.PERSONAL, ADMIN, "last month's", timedelta(days=30),
                          at=ctx.clock() - timedelta(days=31), actor=ADMIN).secret
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)
    assert login(staff, BEA).returncode == 0
    kept = json.loads(kept_token_file(staff.base).read_text())
    revoked = ledger(staff.env(ADMIN), "token", "revoke", kept["token_id"])
    assert revoked.returncode == 0, revoked.stderr

    for env in ({**staff.base, "LEDGER_TOKEN": expired}, staff.base):
        refused = ledger(env, *OPEN_ACME)
        assert refused.returncode == 2
        line = one_error_line(refused)
        assert line.startswith("error: not signed in: run `ledger login`"), line
    assert "expired" in one_error_line(ledger({**staff.base, "LEDGER_TOKEN": expired}, *OPEN_ACME))
    assert "revoked" in one_error_line(ledger(staff.base, *OPEN_ACME))


def test_logout_revokes_the_token_and_removes_its_file(app, staff):
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)
    assert login(staff, BEA).returncode == 0
    token = json.loads(kept_token_file(staff.base).read_text())["token"]

    out = ledger(staff.base, "logout")

    assert out.returncode == 0 and "token revoked" in out.stdout, out.stderr
    assert not kept_token_file(staff.base).exists()
    again = ledger({**staff.base, "LEDGER_TOKEN": token}, *OPEN_ACME)
    assert again.returncode == 2 and "not signed in" in one_error_line(again)
    nobody = ledger(staff.base, *OPEN_ACME)
    assert one_error_line(nobody) == "error: not signed in: run `ledger login`"


def test_a_wrong_password_signs_nobody_in(app, staff):
    staff.api.add_staff(BEA, Role.BILLING_ADMIN)

    wrong = login(staff, BEA, "not the password at all")

    assert wrong.returncode == 2
    assert "wrong user or password" in one_error_line(wrong)
    assert not kept_token_file(staff.base).exists()


def test_a_personal_token_is_printed_once_and_serves_scripts(app, staff):
    made = ledger(staff.env(ADMIN), "token", "create", "nightly export", "--days", "7")

    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert ledger({**staff.base, "LEDGER_TOKEN": token}, "whoami").stdout.startswith(ADMIN)


def test_an_api_that_is_not_running_is_unavailable_in_one_line(app, staff):
    env = {**staff.env(ADMIN), "LEDGER_API_URL": "http://127.0.0.1:9"}  # the discard port: nothing listens

    down = ledger(env, *OPEN_ACME)

    assert down.returncode == 3
    assert "the ledger API at http://127.0.0.1:9 cannot be reached" in one_error_line(down)


def test_login_token_stdin_keeps_a_personal_token(app, staff):
    token = staff.api.token(TokenKind.PERSONAL, ADMIN, actor=ADMIN)

    kept = ledger(staff.base, "login", "--token-stdin", stdin=token + "\n")

    assert kept.returncode == 0, kept.stderr
    assert token not in kept.stdout + kept.stderr
    assert ledger(staff.base, "whoami").stdout.startswith(ADMIN)


def test_an_admin_sets_a_one_time_password_and_its_user_chooses_their_own_at_login(app, staff):
    set_by_admin = ledger(staff.env(ADMIN), "staff", "password", BEA, stdin="a one-time password 42\n")
    assert set_by_admin.returncode == 0, set_by_admin.stderr
    assert "a one-time password 42" not in set_by_admin.stdout + set_by_admin.stderr

    first = ledger(staff.base, "login", "--user", BEA, stdin="a one-time password 42\nbea's own passphrase\n")

    assert first.returncode == 0, first.stderr
    assert "choose your own" in first.stderr
    assert ledger(staff.base, "whoami").stdout.startswith(BEA)
    assert login(staff, BEA, "bea's own passphrase").returncode == 0

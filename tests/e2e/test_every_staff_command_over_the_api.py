"""Each staff command of the `ledger` command line, once, through a real `ledger serve`:
it reaches its endpoint, says what it did, and a retry changes nothing. (The API's own
tests cover what each endpoint decides; these, that the command line asks for it.)"""

from __future__ import annotations

import json

from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN

AT = ["--at", "2026-09-01"]


def test_every_staff_command_reaches_its_endpoint_and_a_retry_changes_nothing(app, staff):
    env = staff.env(ADMIN)

    def run(*args: str) -> str:
        done = ledger(env, *args)
        assert done.returncode == 0, f"ledger {' '.join(args)}: {done.stderr}"
        return done.stdout

    steps = [
        (["account", "open", "ACME", "--name", "Acme", "--currency", "EUR", "--terms", "14", *AT], "opened"),
        (["account", "profile", "ACME", "--name", "Acme GmbH", *AT], "profile changed"),
        (["subscription", "add-seats", "ACME", "ACME-365", "--product", "E3", "--seats", "10", "--price-per-seat",
          "12.50", "--starts-on", "2026-09-01", *AT], "added"),
        (["subscription", "add-metered", "ACME", "ACME-vm", "--product", "VM", "--meter", "vcpu-hours",
          "--unit", "h", "--unit-price", "0.04", *AT], "added"),
        (["subscription", "seats", "ACME", "ACME-365", "12", "--effective-on", "2026-09-16", *AT],
         "12 seats from 2026-09-16"),
        (["policy", "set", "patient", "--grace-days", "5", "--reminder-days", "3,10", *AT], "published"),
        (["account", "policy", "ACME", "patient", *AT], "now under collections policy patient"),
        (["invoice", "issue", "ACME", "--period", "2026-09", "--at", "2026-10-01"], "invoice INV-000001 issued"),
        (["payment", "receive", "ACME", "PAY-1", "--amount", "200", "--currency", "EUR", "--at", "2026-10-02"],
         "received and allocated"),
        (["payment", "refund", "ACME", "REF-1", "--amount", "5", "--at", "2026-10-03"], "paid from the credit balance"),
        (["payment", "reverse", "ACME", "PAY-1", "--reason", "bounced", "--at", "2026-10-04"], "reversed"),
        (["credit-note", "issue", "ACME", "CN-1", "--invoice", "INV-000001", "--amount", "10", "--reason", "outage",
          "--at", "2026-10-05"], "issued against INV-000001"),
        (["collections", "hold", "ACME", "--kind", "dispute", "--until", "2026-10-20", "--reason", "disputed",
          "--at", "2026-10-06"], "on hold until 2026-10-20"),
        (["collections", "release", "ACME", "--reason", "settled", "--at", "2026-10-07"], "hold released"),
        (["collections", "suspend", "ACME", "--subscription", "ACME-vm", "--reason", "abuse", "--at", "2026-10-08"],
         "suspended"),
        (["collections", "reinstate", "ACME", "--reason", "resolved", "--at", "2026-10-09"], "reinstated"),
        (["collections", "write-off", "ACME", "INV-000001", "--reason", "insolvent", "--at", "2026-10-10"],
         "written off"),
        (["staff", "grant", "hal@partner.example", "helpdesk-agent"], "granted helpdesk-agent"),
        (["staff", "revoke", "hal@partner.example", "helpdesk-agent"], "revoked helpdesk-agent"),
        (["account", "close", "ACME", "--at", "2026-10-11"], "closed"),
    ]
    unchanged = ("nothing changed", "already holds", "did not hold")
    for args, done in steps:
        assert done in run(*args), args
        again = run(*args)  # at once, before the next step: a retry
        assert any(word in again for word in unchanged), (args, again)

    history = json.loads(run("history", "ACME", "--format", "json"))
    assert {e["actor"] for e in history} == {ADMIN}
    assert {"PaymentReversed", "InvoiceWrittenOff", "AccountClosed"} <= {e["event"] for e in history}
    assert json.loads(run("policy", "show", "patient"))["reminder_days"] == [3, 10]
    assert f"{ADMIN}: global-admin" in run("staff", "list")
    shown = json.loads(run("account", "show", "ACME", "--format", "json"))
    assert (shown["name"], shown["status"], shown["collections_policy"]) == ("Acme GmbH", "closed", "patient")
    assert "collections policy: patient" in run("account", "show", "ACME")

"""The bill run and the collections run as jobs of the API: started (202 and a run id), followed
(progress, then a summary), stopped, and started again; from the command line, with a
progress line and the summary; every event they emit is the signed-in user's."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bench.common import open_billable_customers
from domain.roles import Role
from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixtures
from tests.conftest import wait_for
from tests.factories import ADMIN

BILLER = "bill@reseller.example"
AT = datetime(2026, 2, 1, 6, tzinfo=timezone.utc).isoformat()


def finished(client, url: str) -> dict:
    wait_for(lambda: client.get(url).json()["state"] != "running", timeout=120, what=f"{url} over")
    return client.get(url).json()


def test_a_bill_run_is_a_job_whose_events_are_the_signed_in_users(api, admin):
    customers = open_billable_customers(api.ctx.ledger, 30, 2, currencies=("EUR", "USD"))
    api.add_staff(BILLER, Role.BILLING_ADMIN)
    with api.sign_in(BILLER) as biller:
        started = biller.post("/v1/invoices/runs", json={"period": "2026-01", "at": AT, "workers": 2})
        assert started.status_code == 202 and started.headers["Location"] == started.json()["url"]
        run = finished(biller, started.json()["url"])
        assert (run["state"], run["actor"], run["accounts_total"], run["accounts_done"]) == ("done", BILLER, 30, 30)
        summary = run["summary"]
        assert summary["invoices"] == 30 and set(summary["totals"]) == {"EUR", "USD"}
        assert summary["totals_formatted"]["EUR"] == f"{summary['totals']['EUR'] / 100:,.2f} EUR"
        again = finished(biller, biller.post("/v1/invoices/runs", json={"period": "2026-01", "at": AT}).json()["url"])
        assert (again["summary"]["invoices"], again["summary"]["skipped"]) == (0, {"period closed before": 30})
        # a collections run's id is no bill run's
        assert biller.get(started.json()["url"].replace("invoices", "collections")).status_code == 404
    invoices = [e for e in api.events() if type(e).__name__ == "InvoiceIssued"]
    assert len(invoices) == len(customers) and {e.actor for e in invoices} == {BILLER}


def test_a_stopped_run_reports_what_it_did_and_the_run_started_again_does_the_rest(api, admin):
    open_billable_customers(api.ctx.ledger, 1000, 1)  # four batches
    started = admin.post("/v1/invoices/runs", json={"period": "2026-01", "at": AT, "workers": 1}).json()
    wait_for(lambda: admin.get(started["url"]).json()["accounts_done"] > 0, what="a batch done")
    assert admin.post(f"{started['url']}/stop").status_code == 200
    stopped = finished(admin, started["url"])
    assert stopped["state"] == "stopped" and 0 < stopped["summary"]["invoices"] < 1000
    rest = finished(admin, admin.post("/v1/invoices/runs", json={"period": "2026-01", "at": AT}).json()["url"])
    assert rest["summary"]["invoices"] == 1000 - stopped["summary"]["invoices"]


def test_the_cli_follows_the_bill_run_and_the_collections_run_and_prints_their_summaries(staff):
    staff.api.ctx.ledger.bootstrap_admin(ADMIN, at=datetime(2026, 1, 1, tzinfo=timezone.utc), actor="operator")
    open_billable_customers(staff.api.ctx.ledger, 20, 2)
    env = staff.env(ADMIN)
    billed = ledger(env, "invoice", "issue", "--all", "--period", "2026-01", "--at", "2026-02-01")
    assert billed.returncode == 0, billed.stderr
    # not a terminal: plain progress lines, then the summary
    assert "20/20 accounts" in billed.stdout
    assert re.search(r"bill run for 2026-01\n  accounts +20\n  invoices issued +20\n  total EUR +[0-9,]+\.[0-9]{2} EUR\n",
                     billed.stdout), billed.stdout
    collected = ledger(env, "collect", "--as-of", "2026-03-04")  # invoices due 3 March: the first reminder
    assert collected.returncode == 0, collected.stderr
    assert re.search(r"collections as of 2026-03-04\n  accounts +20\n  with something due +20\n  reminders +20\n",
                     collected.stdout), collected.stdout
    again = ledger(env, "collect", "--as-of", "2026-03-04")
    assert re.search(r"with something due +0\n", again.stdout), again.stdout  # the same day again: nothing more

"""Every endpoint, walked by staff of every role over real HTTP: allowed exactly where the
role matrix (domain/roles.py PERMISSIONS) allows, else 403 naming the permission, with
nothing recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

from domain.credentials import TokenKind
from domain.roles import PERMISSIONS, Permission, Role
from ledger.runs import RunSummary
from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.conftest import wait_for
from tests.factories import ADMIN, open_customer, usage_record
from tests.read_side_helpers import record_usage, relay_and_project

P = Permission
SIGNED_IN = None  # any signed-in staff member, whatever their roles
INVOICED_AT = datetime(2026, 10, 1, tzinfo=timezone.utc)
EUR = lambda cents: {"amount": cents, "currency": "EUR"}  # noqa: E731
FINISHED_RUN = "run_finished"  # a run of each kind, over before the walk (the_world)
EMPTY_SUMMARY = RunSummary().to_json()


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the OpenAPI path; {r} in the filled path is the walking role's tag
    needs: Permission | None
    url: str
    body: dict | None = None
    params: dict | None = None


def calls(invoice: str, today: date, written_off: str = "INV-2") -> list[Call]:
    usage = usage_record("U-{r}", "CUST-1")
    usage = {**usage, "quantity": "1", **{k: usage[k].isoformat() for k in ("usage_start", "usage_end", "observed_at")}}
    return [
        Call("POST", "/v1/tokens", SIGNED_IN, "/v1/tokens", {"name": "script {r}"}),
        Call("GET", "/v1/tokens", SIGNED_IN, "/v1/tokens"),
        Call("DELETE", "/v1/tokens/{token_id}", SIGNED_IN, "/v1/tokens/{token}"),
        Call("POST", "/v1/service-tokens", P.MANAGE_USERS, "/v1/service-tokens", {"service": "meter-{r}", "name": "m"}),
        Call("GET", "/v1/staff", P.MANAGE_USERS, "/v1/staff"),
        Call("PUT", "/v1/staff/{user}/roles/{role}", P.MANAGE_USERS, "/v1/staff/new-{r}/roles/sales-agent"),
        Call("DELETE", "/v1/staff/{user}/roles/{role}", P.MANAGE_USERS, "/v1/staff/leaving-{r}/roles/helpdesk-agent"),
        Call("PUT", "/v1/staff/{user}/password", P.MANAGE_USERS, "/v1/staff/other-{r}/password",
             {"password": "a one-time password {r}"}),
        Call("POST", "/v1/customers", P.OPEN_ACCOUNTS, "/v1/customers",
             {"customer_id": "NEW-{r}", "name": "New", "currency": "EUR"}),
        Call("GET", "/v1/customers/{customer_id}", P.READ_BILLING_VIEWS, "/v1/customers/CUST-1"),
        Call("POST", "/v1/customers/{customer_id}/closure", P.CHANGE_ACCOUNTS, "/v1/customers/NEW-{r}/closure", {}),
        Call("PATCH", "/v1/customers/{customer_id}", P.CHANGE_ACCOUNTS, "/v1/customers/CUST-1", {"name": "Customer {r}"}),
        Call("PUT", "/v1/customers/{customer_id}/policy", P.CHANGE_ACCOUNTS, "/v1/customers/CUST-3/policy",
             {"policy": "standard"}),
        Call("POST", "/v1/customers/{customer_id}/subscriptions", P.CHANGE_SUBSCRIPTIONS, "/v1/customers/CUST-1/subscriptions",
             {"kind": "seats", "subscription_id": "SEATS-{r}", "product": "Office", "seats": 3,
              "price_per_seat": "10.5", "starts_on": "2026-11-01"}),
        Call("PUT", "/v1/customers/{customer_id}/subscriptions/{subscription_id}/seats", P.CHANGE_SUBSCRIPTIONS,
             "/v1/customers/CUST-1/subscriptions/SEATS-{r}/seats", {"seats": 5, "effective_on": "2026-11-15"}),
        Call("POST", "/v1/customers/{customer_id}/invoices", P.ISSUE_INVOICES, "/v1/customers/CUST-1/invoices",
             {"period": "2026-09"}),
        Call("GET", "/v1/customers/{customer_id}/invoices/{invoice_number}", P.READ_BILLING_VIEWS,
             f"/v1/customers/CUST-1/invoices/{invoice}"),
        Call("POST", "/v1/customers/{customer_id}/payments", P.RECORD_PAYMENTS, "/v1/customers/CUST-2/payments",
             {"payment_id": "PAY-{r}", "amount": EUR(100)}),
        Call("POST", "/v1/customers/{customer_id}/payments/{payment_id}/reversal", P.RECORD_PAYMENTS,
             "/v1/customers/CUST-2/payments/PAY-REV-{r}/reversal", {"reason": "bounced"}),
        Call("POST", "/v1/customers/{customer_id}/refunds", P.RECORD_PAYMENTS, "/v1/customers/CUST-2/refunds",
             {"refund_id": "REF-{r}", "amount": EUR(1)}),
        Call("POST", "/v1/customers/{customer_id}/credit-notes", P.ISSUE_CREDIT_NOTES, "/v1/customers/CUST-1/credit-notes",
             {"credit_note_id": "CN-{r}", "invoice_number": invoice, "amount": EUR(1), "reason": "goodwill"}),
        Call("POST", "/v1/customers/{customer_id}/invoices/{invoice_number}/write-off", P.RUN_COLLECTIONS,
             f"/v1/customers/CUST-3/invoices/{written_off}/write-off", {"reason": "uncollectible"}),
        Call("POST", "/v1/customers/{customer_id}/suspension", P.SUSPEND_AND_REINSTATE,
             "/v1/customers/CUST-2/suspension", {"reason": "fraud check {r}"}),
        Call("POST", "/v1/customers/{customer_id}/reinstatement", P.SUSPEND_AND_REINSTATE,
             "/v1/customers/CUST-2/reinstatement", {"reason": "cleared {r}"}),
        Call("GET", "/v1/customers/{customer_id}/history", P.READ_BILLING_VIEWS, "/v1/customers/CUST-1/history",
             params={"limit": 5}),
        Call("GET", "/v1/customers/{customer_id}/balance", P.READ_BILLING_VIEWS, "/v1/customers/CUST-1/balance",
             params={"as_of": "2026-10-02T00:00:00Z"}),
        Call("GET", "/v1/dead-letters", P.RECORD_USAGE, "/v1/dead-letters"),
        Call("POST", "/v1/dead-letters/redrive", P.RECORD_USAGE, "/v1/dead-letters/redrive", {"all": True}),
        Call("GET", "/v1/policies/{name}", P.READ_BILLING_VIEWS, "/v1/policies/standard"),
        Call("PUT", "/v1/policies/{name}", P.CHANGE_COLLECTIONS_POLICY, "/v1/policies/lenient-{r}", {"grace_days": 10}),
        Call("POST", "/v1/collections/runs", P.RUN_COLLECTIONS, "/v1/collections/runs", {"as_of": today.isoformat()}),
        Call("GET", "/v1/collections/runs/{run_id}", P.RUN_COLLECTIONS, f"/v1/collections/runs/{FINISHED_RUN}-collections"),
        Call("POST", "/v1/collections/runs/{run_id}/stop", P.RUN_COLLECTIONS, f"/v1/collections/runs/{FINISHED_RUN}-collections/stop"),
        Call("PUT", "/v1/customers/{customer_id}/hold", P.RUN_COLLECTIONS, "/v1/customers/CUST-2/hold",
             {"kind": "dispute", "until": "2099-01-01", "reason": "disputed {r}"}),
        Call("POST", "/v1/customers/{customer_id}/hold/release", P.RUN_COLLECTIONS, "/v1/customers/CUST-2/hold/release",
             {"reason": "settled"}),
        Call("POST", "/v1/cases", P.WORK_SUPPORT_CASES, "/v1/cases",
             {"case_id": "CASE-{r}", "customer_id": "CUST-1", "category": "billing", "subject": "a question"}),
        Call("POST", "/v1/cases/{case_id}/notes", P.WORK_SUPPORT_CASES, "/v1/cases/CASE-1/notes", {"note": "called {r}"}),
        Call("POST", "/v1/cases/{case_id}/escalation", P.WORK_SUPPORT_CASES, "/v1/cases/CASE-1/escalation", {}),
        Call("POST", "/v1/cases/{case_id}/resolution", P.WORK_SUPPORT_CASES, "/v1/cases/OPEN-{r}/resolution",
             {"resolution": "answered"}),
        Call("POST", "/v1/cases/{case_id}/reopening", P.WORK_SUPPORT_CASES, "/v1/cases/DONE-{r}/reopening",
             {"reason": "came back"}),
        Call("GET", "/v1/cases/{case_id}", P.READ_SUPPORT_VIEW, "/v1/cases/CASE-1"),
        Call("GET", "/v1/views/balances", P.READ_BILLING_VIEWS, "/v1/views/balances", params={"status": "open"}),
        Call("GET", "/v1/views/invoices", P.READ_BILLING_VIEWS, "/v1/views/invoices", params={"customer_id": "CUST-1"}),
        Call("GET", "/v1/views/collections", P.READ_BILLING_VIEWS, "/v1/views/collections", params={"limit": 1}),
        Call("GET", "/v1/views/support/{customer_id}", P.READ_SUPPORT_VIEW, "/v1/views/support/CUST-1"),
        Call("GET", "/v1/sessions/current", SIGNED_IN, "/v1/sessions/current"),
        Call("POST", "/v1/invoices/runs", P.ISSUE_INVOICES, "/v1/invoices/runs", {"period": "2026-09"}),
        Call("GET", "/v1/invoices/runs/{run_id}", P.ISSUE_INVOICES, f"/v1/invoices/runs/{FINISHED_RUN}-bill"),
        Call("POST", "/v1/invoices/runs/{run_id}/stop", P.ISSUE_INVOICES, f"/v1/invoices/runs/{FINISHED_RUN}-bill/stop"),
        Call("POST", "/v1/usage", P.PUBLISH_USAGE, "/v1/usage", {"events": [usage]}),
        # last: it ends the session the walk uses
        Call("DELETE", "/v1/sessions/current", SIGNED_IN, "/v1/sessions/current"),
    ]


# Signing in is for everyone (and has tests of its own).
NOT_WALKED = {("POST", "/v1/sessions")}


def filled(value, tag: str, token: str):
    if isinstance(value, str):
        return value.replace("{r}", tag).replace("{token}", token)
    if isinstance(value, dict):
        return {k: filled(v, tag, token) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, tag, token) for v in value]
    return value


def the_world(api) -> tuple[str, str]:
    """Customers (two invoiced, one in credit), cases and tokens for each walker to act on."""
    ledger = api.ctx.ledger
    for customer in ("CUST-1", "CUST-2", "CUST-3"):
        open_customer(ledger, customer)
    record_usage(ledger, "CUST-1", 2)
    record_usage(ledger, "CUST-3", 2)
    invoice = ledger.issue_invoice("CUST-1", date(2026, 9, 1), date(2026, 10, 1), at=INVOICED_AT, actor=ADMIN)
    to_write_off = ledger.issue_invoice("CUST-3", date(2026, 9, 1), date(2026, 10, 1), at=INVOICED_AT, actor=ADMIN)
    ledger.receive_payment("CUST-2", "PAY-CREDIT", 100_000, "EUR", "transfer", "", at=INVOICED_AT, actor=ADMIN)
    ledger.open_case("CASE-1", "CUST-1", "billing", "why this invoice", [invoice], at=INVOICED_AT, actor=ADMIN)
    for role in WALKERS:
        tag = tag_of(role)
        ledger.receive_payment("CUST-2", f"PAY-REV-{tag}", 500, "EUR", "card", "", at=INVOICED_AT, actor=ADMIN)
        for case in (f"OPEN-{tag}", f"DONE-{tag}"):
            ledger.open_case(case, "CUST-1", "billing", "a question", [], at=INVOICED_AT, actor=ADMIN)
        ledger.resolve_case(f"DONE-{tag}", "answered", at=INVOICED_AT, actor=ADMIN)
        ledger.grant_role(f"leaving-{tag}", Role.HELPDESK_AGENT, at=INVOICED_AT, actor=ADMIN)
        api.add_staff(walker(role), role)
    relay_and_project(api.ctx.settings, ledger)
    with api.ctx.credentials.pool.connection() as conn:
        for kind in ("bill", "collections"):
            conn.execute("INSERT INTO ledger_auth.runs (run_id, kind, actor, parameters, state, summary, finished_at) "
                         "VALUES (%s, %s, %s, '{}', 'done', %s, now())", (f"{FINISHED_RUN}-{kind}", kind, ADMIN, json.dumps(EMPTY_SUMMARY)))
    return invoice, to_write_off


WALKERS: list[Role | None] = [*Role, None]  # None: signed in, no role at all


def tag_of(role: Role | None) -> str:
    return role.value if role else "no-role"


def walker(role: Role | None) -> str:
    return f"{tag_of(role)}@reseller.example"


def allowed(role: Role | None, needs: Permission | None) -> bool:
    return needs is None or (role is not None and role in PERMISSIONS[needs])


def test_every_role_may_call_exactly_the_endpoints_its_permissions_allow(api, admin):
    invoice, to_write_off = the_world(api)
    today = api.ctx.clock().date()
    walk = calls(invoice, today, to_write_off)
    operations = {(m.upper(), p) for p, ops in admin.get("/openapi.json").json()["paths"].items() for m in ops}
    assert operations - NOT_WALKED == {(c.method, c.path) for c in walk}, "an endpoint is missing from the walk"

    outcomes = {}
    for role in WALKERS:
        tag = tag_of(role)
        own = api.token(TokenKind.PERSONAL, walker(role), actor=walker(role)).split(".")[0]
        with api.sign_in(walker(role)) as client:
            for call in walk:
                before = api.notifications()
                answer = client.request(call.method, filled(call.url, tag, own),
                                        json=filled(call.body, tag, ""), params=call.params)
                outcomes[(tag, call.method, call.path)] = answer.status_code
                if allowed(role, call.needs):
                    assert 200 <= answer.status_code < 300, (tag, call, answer.text)
                    if answer.status_code == 202:  # a run started: over before the walk goes on, so that
                        # nothing it records is taken for what a refused call recorded
                        url = answer.json()["url"]
                        wait_for(lambda: client.get(url).json()["state"] != "running", what=f"{url} over")
                    if call.path == "/v1/usage":  # a refusal there would hide a broken door
                        assert answer.json()["accepted"] == 1, answer.text
                else:
                    assert answer.status_code == 403, (tag, call, answer.text)
                    problem = answer.json()
                    assert problem["code"] == "permission_denied"
                    assert problem["permission"] == call.needs.value
                    assert api.notifications() == before, f"{tag} refused {call.path} yet something was recorded"
    assert len(outcomes) == len(WALKERS) * len(walk)


def test_each_endpoint_publishes_the_permission_the_walk_checks(admin):
    paths = admin.get("/openapi.json").json()["paths"]
    for call in calls("INV-1", date(2026, 11, 1)):
        declared = paths[call.path][call.method.lower()]["x-permission"]
        if call.needs is None:
            assert declared.startswith("signed in as staff"), call.path
        elif call.path != "/v1/staff/{user}/password":  # own password: signed in; another's: MANAGE_USERS
            assert declared == call.needs.value, call.path


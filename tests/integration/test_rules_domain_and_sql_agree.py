"""Where SQL restates a domain rule for speed, one table of dated situations (tests/rule_cases.py)
runs through the domain function and through the view on PostgreSQL, and any difference fails:

- overdue: `domain.accounts.collections_rules.overdue` (policy.is_overdue) and the views' `overdue` (balances)
  and `overdue_amount` (collection_status);
- the invoice status: `InvoiceState.status` and `ledger_views.invoices.status`;
- the collections' next action: `domain.accounts.collections_rules.next_action` and `collection_status.next_action`.

Each situation is one customer; its rows are written into the read models as the projections
would hold them, and the views are read as of the situation's day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from consumers.projector import connect_read_models, set_up_read_side
from projections.balances import MONEY_COLUMNS
from projections.collections import policy_row
from projections.registry import all_projections
from projections.rows import records_json
from tests.rule_cases import NAMED, Situation, generated

ALL_CASES = NAMED + generated()


def numbered(n: int, case: Situation) -> tuple[str, Situation]:
    """The case as customer `C<n>`, its invoice numbers made unique across the table."""
    renumber = {i.number: f"C{n}-{i.number}" for i in case.invoices}
    invoices = tuple(replace(i, number=renumber[i.number]) for i in case.invoices)
    suspensions = tuple(replace(s, invoice_numbers=tuple(renumber.get(x, x) for x in s.invoice_numbers))
                        for s in case.suspensions)
    policy = replace(case.policy, name=f"policy-C{n}")
    return f"C{n}", replace(case, invoices=invoices, suspensions=suspensions, policy=policy)


def rows_of(customer: str, case: Situation) -> dict[str, list[dict]]:
    """The read-model rows the projections would hold for the situation."""
    invoices = [
        {"invoice_number": i.number, "customer_id": customer, "currency": "EUR", "period_start": i.issue_date,
         "period_end": i.issue_date, "issue_date": i.issue_date, "due_date": i.due_date, "subtotal": i.total, "tax": 0,
         "total": i.total, "paid": i.total - i.open_amount - i.credited - i.written_off, "credited": i.credited,
         "written_off": i.written_off, "amount_open": i.open_amount, "last_reminder_step": i.reminder_step,
         "last_reminder_on": i.due_date if i.reminder_step else None,
         "written_off_on": case.as_of if i.written_off else None,
         "write_off_reason": "uncollectible" if i.written_off else None, "subscription_ids": list(i.subscription_ids)}
        for i in case.invoices
    ]
    suspensions = [
        {"customer_id": customer, "subscription_id": s.subscription_id, "since": s.since, "reason": s.reason,
         "invoice_numbers": list(s.invoice_numbers), "deprovision_deadline": s.deprovision_deadline,
         "by_policy": s.by_policy, "scope": s.scope, "warned": s.warned}
        for s in case.suspensions
    ]
    hold = case.hold
    return {
        "invoices": invoices,
        "suspensions": suspensions,
        "collections_policies": [policy_row(case.policy.name, case.policy.as_terms(), None)],
        "customer_collections": [{"customer_id": customer, "currency": "EUR", "policy_name": case.policy.name,
                                  "hold_kind": hold and hold.kind, "hold_until": hold and hold.until,
                                  "hold_reason": hold and hold.reason}],
        "customer_balances": [{"customer_id": customer, "customer_name": customer, "currency": "EUR",
                               "account_status": "open", "last_notification_id": 1,
                               **dict.fromkeys(("metered_subscriptions", "usage_lines", "unbilled_usage", *MONEY_COLUMNS), 0)}],
    }


@pytest.fixture
def views(settings):
    """Every case's rows in the read models; a function that reads a view as of a day."""
    cases = dict(numbered(n, case) for n, case in enumerate(ALL_CASES))
    tables: dict[str, list[dict]] = defaultdict(list)
    for customer, case in cases.items():
        for table, rows in rows_of(customer, case).items():
            tables[table] += rows
    conn = connect_read_models(settings.database_url, settings.read_schema)
    set_up_read_side(conn, all_projections(), settings.views_schema)
    with conn.transaction():
        for table, rows in tables.items():
            conn.execute(
                SQL("INSERT INTO {0} SELECT * FROM jsonb_populate_recordset(NULL::{0}, %s::jsonb)").format(Identifier(table)),
                (records_json(rows),),
            )

    def read(view: str, columns: str, customers: list[str], as_of) -> list[dict]:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute("SELECT set_config('ledger.as_of', %s, true)", (as_of.isoformat(),))
            statement = SQL("SELECT customer_id, {} FROM {} WHERE customer_id = ANY(%s)").format(
                SQL(columns), Identifier(settings.views_schema, view))
            return cursor.execute(statement, (customers,)).fetchall()

    yield cases, read
    conn.close()


def by_day(cases: dict[str, Situation]) -> dict:
    days = defaultdict(list)
    for customer, case in cases.items():
        days[case.as_of].append(customer)
    return days


def differences(cases: dict[str, Situation], domain, sql) -> list[str]:
    found = [f"{cases[c].name} (as of {cases[c].as_of}): domain {domain[c]!r}, SQL {sql.get(c)!r}"
             for c in cases if domain[c] != sql.get(c)]
    return found[:20] + ([f"... and {len(found) - 20} more"] if len(found) > 20 else [])


def test_the_overdue_rule_is_the_same_in_the_domain_and_in_both_views(views):
    cases, read = views
    domain = {c: case.overdue_amount() for c, case in cases.items()}
    balances, collections = {}, {}
    for as_of, customers in by_day(cases).items():
        balances |= {r["customer_id"]: r["overdue"] for r in read("customer_balances", "overdue", customers, as_of)}
        collections |= {r["customer_id"]: r["overdue_amount"] for r in read("collection_status", "overdue_amount", customers, as_of)}
    assert differences(cases, domain, balances) == []
    assert differences(cases, domain, collections) == []
    assert len({v for v in domain.values()}) > 3  # the table reaches every kind of answer


def test_the_invoice_status_is_the_same_in_the_domain_and_in_the_invoices_view(views):
    cases, read = views
    domain = {c: case.statuses() for c, case in cases.items()}
    sql: dict[str, dict] = {c: {} for c in cases}
    for as_of, customers in by_day(cases).items():
        for r in read("invoices", "invoice_number, status", customers, as_of):
            sql[r["customer_id"]][r["invoice_number"]] = r["status"]
    assert differences(cases, domain, sql) == []
    assert {s for statuses in domain.values() for s in statuses.values()} == {"open", "paid", "credited", "written-off"}


def test_the_next_action_is_the_same_in_the_domain_and_in_the_collection_status_view(views):
    cases, read = views
    domain = {c: case.next_action() for c, case in cases.items()}
    sql = {}
    for as_of, customers in by_day(cases).items():
        for r in read("collection_status", "next_action, next_action_on", customers, as_of):
            sql[r["customer_id"]] = None if r["next_action"] is None else (r["next_action"], r["next_action_on"])
    assert differences(cases, domain, sql) == []
    kinds = {a[0].split(" ")[0] for a in domain.values() if a}
    assert kinds == {"end", "reminder", "suspension", "write-off", "de-provisioning"}

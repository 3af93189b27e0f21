"""The helpdesk's view of a customer: support cases, and a timeline of the customer's
billing events in plain language. The support view (support.sql) puts them beside the
balance, the open invoices, the last payments and the collection status.

The timeline keeps each customer's newest TIMELINE_KEPT events: enough for any question a
helpdesk agent answers from it, and a bound on a table that would otherwise grow with every
month of every customer (`ledger history` has all events, from the store).
"""

from __future__ import annotations

from typing import Any

from domain.roles import Permission
from projections.base import View
from projections.collections import COLLECTIONS_VIEW
from projections.rows import RowChanges, RowsProjection
from projections.timeline import SENTENCES, render, sentence

TIMELINE_KEPT = 200

SUPPORT_VIEW = View(
    name="support",
    query_name="support",
    key="customer_id",
    row_name="support view",
    help="what a helpdesk agent needs about a customer in one place",
    permission=Permission.READ_SUPPORT_VIEW,
    columns={
        "customer_id": "the customer",
        "customer_name": "name on the account",
        "currency": "billing currency (ISO 4217); every amount below is in its minor units",
        "account_status": "open or closed",
        "balance": "what the customer owes: open invoices less credit balance",
        "credit_balance": "overpayments not yet used",
        "overdue": "what invoices past due plus the policy's grace days hold, as of the query's date",
        "unbilled_usage": "exact price of the usage not invoiced yet, in the currency",
        "collection_status": "current, overdue, in-dunning, on-hold, suspended or written-off, as of the query's date",
        "collection_reason": "the collection status in plain words",
        "days_past_due": "days the oldest unpaid invoice is past due, as of the query's date",
        "next_action": "what the collections policy does next",
        "next_action_on": "the day it is due",
        "open_invoices": "invoices with something open, oldest due first: number, issue and due dates, total, "
        "amount open, days past due, ageing bucket, last reminder step",
        "last_payments": "the 5 newest payments: id, day received, amount, method, reference, "
        "what each settled, whether it was reversed",
        "suspended_subscriptions": "subscriptions suspended now: since, why, the invoices behind, "
        "the vendor's de-provisioning deadline, whether the customer was warned",
        "open_cases": "support cases not resolved: subject, category, what they are about, where they are "
        "escalated (vendor support, plan, ticket), notes",
        "timeline": f"the customer's billing events in plain language, newest first (the newest {TIMELINE_KEPT})",
    },
    shown=(),
    # the amounts of the rows and of their lists (invoices, payments), all in the customer's currency
    amounts=dict.fromkeys(
        ("balance", "credit_balance", "overdue", "unbilled_usage", "total", "amount_open", "amount", "to_credit_balance"),
        "currency",
    ),
    filters=COLLECTIONS_VIEW.filters,  # the same columns, by the same names
)

CASE_EVENTS = {"SupportCaseOpened", "SupportCaseNoteAdded", "SupportCaseEscalated", "SupportCaseResolved",
               "SupportCaseReopened"}


class SupportProjection(RowsProjection):
    name = "support"
    tables = ("support_customers", "support_cases", "customer_timeline", "support_watermarks")
    keys = {
        "support_customers": ("customer_id",),
        "support_cases": ("case_id",),
        "customer_timeline": ("customer_id", "notification_id"),
    }
    event_types = frozenset(SENTENCES)
    views = (SUPPORT_VIEW,)

    def fold(self, rows: RowChanges, event_type: str, e: dict[str, Any]) -> None:
        rows.put(
            "customer_timeline", customer_id=e["customer_id"], notification_id=e["notification_id"],
            occurred_at=e["occurred_at"], event_type=event_type, sentence=sentence(event_type, e), actor=e["actor"],
        )
        if event_type == "AccountOpened":
            rows.put("support_customers", customer_id=e["customer_id"], currency=e["currency"])
        elif event_type in CASE_EVENTS:
            self._case(rows, event_type, e)

    @staticmethod
    def _case(rows: RowChanges, event_type: str, e: dict[str, Any]) -> None:
        case = {"case_id": e["case_id"]}
        at = e["occurred_at"]
        if event_type == "SupportCaseOpened":
            rows.put(
                "support_cases", case_id=e["case_id"], customer_id=e["customer_id"], category=e["category"],
                subject=e["subject"], about=list(e["about"]), status="open", opened_at=at, opened_by=e["actor"],
                notes=0, last_note=None, last_note_at=None, escalated_to=None, support_plan=None,
                vendor_ticket=None, escalated_at=None, resolution=None, resolved_at=None, reopen_reason=None,
            )
        elif event_type == "SupportCaseNoteAdded":
            rows.add("support_cases", case, notes=1)
            rows.set("support_cases", case, last_note=e["note"], last_note_at=at)
        elif event_type == "SupportCaseEscalated":
            rows.set("support_cases", case, escalated_to=e["destination"], support_plan=e["support_plan"],
                     vendor_ticket=e["vendor_ticket"], escalated_at=at)
        elif event_type == "SupportCaseResolved":
            rows.set("support_cases", case, status="resolved", resolution=e["resolution"], resolved_at=at)
        else:  # reopened: the issue came back, and a new escalation is a new hand-over
            rows.set("support_cases", case, status="open", reopen_reason=e["reason"], resolution=None,
                     resolved_at=None, escalated_to=None, support_plan=None, vendor_ticket=None, escalated_at=None)

    def before_write(self, cursor, rows: RowChanges) -> None:
        """Sentences get their amounts in the customer's currency, known from its opening."""
        entries = [c.put for c in rows.rows.values() if c.table == "customer_timeline" and c.put is not None]
        currencies = {c.put["customer_id"]: c.put["currency"] for c in rows.rows.values()
                      if c.table == "support_customers" and c.put is not None}
        missing = sorted({e["customer_id"] for e in entries} - currencies.keys())
        if missing:
            cursor.execute(self.sql["currencies"], {"customer_ids": missing})
            currencies.update(cursor.fetchall())
        for entry in entries:
            if not isinstance(entry["sentence"], str):
                entry["sentence"] = render(entry["sentence"], currencies.get(entry["customer_id"]))

    def after_write(self, cursor, rows: RowChanges) -> None:
        customers = sorted({c.key[0] for c in rows.rows.values() if c.table == "customer_timeline"})
        if customers:
            cursor.execute(self.sql["bound timeline"], {"customer_ids": customers, "kept": TIMELINE_KEPT})

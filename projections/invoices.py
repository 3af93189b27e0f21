"""Invoices and payments: every invoice with its lines and what is still open on it, and
every payment with what it settled. Amounts are integer minor units of the invoice's
currency. Status, days past due and ageing are computed by the view when it is read.
"""

from __future__ import annotations

from typing import Any

from projections.base import Filter, View
from projections.rows import RowChanges, RowsProjection

INVOICES_VIEW = View(
    name="invoices",
    query_name="invoices",
    key="invoice_number",
    customer_column="customer_id",
    row_name="invoice",
    help="invoices: lines, what is open, status, days past due and ageing as of the query's date",
    columns={
        "invoice_number": "number from the gap-free series (INV-000001...)",
        "customer_id": "the customer invoiced",
        "currency": "currency of every amount of the invoice (ISO 4217)",
        "period_start": "first day of the billing period",
        "period_end": "day after the billing period",
        "issue_date": "day the invoice was issued",
        "due_date": "day payment is due (issue date plus payment terms)",
        "subtotal": "sum of the lines, in minor units",
        "tax": "tax, rounded once on the subtotal, in minor units",
        "total": "subtotal plus tax, in minor units",
        "paid": "settled by payments or by the credit balance, less reversals, in minor units",
        "credited": "taken off by credit notes, in minor units",
        "written_off": "written off as uncollectible, in minor units",
        "amount_open": "still owed: total - paid - credited - written_off, in minor units",
        "status": "open, paid, credited (credit notes took off the whole total) or written-off",
        "days_past_due": "days from the due date to the query's date while open (0 before it); null once settled",
        "ageing_bucket": "not_due, 0-30, 31-60, 61-90 or >90 days past due while open; null once settled",
        "last_reminder_step": "the last payment reminder step sent for it (0: none)",
        "last_reminder_on": "day that reminder was sent",
        "written_off_on": "day it was written off",
        "write_off_reason": "why it was written off",
        "subscription_ids": "the subscriptions it bills (lines with an amount)",
        "lines": "its lines: kind (seats, usage, late-usage), subscription, product, quantity, unit, "
        "period, amount in minor units, and the usage ids a usage line bills",
    },
    shown=(
        "invoice_number", "customer_id", "currency", "issue_date", "due_date", "total", "amount_open",
        "status", "days_past_due", "ageing_bucket", "last_reminder_step",
    ),
    amounts={c: "currency" for c in ("subtotal", "tax", "total", "paid", "credited", "written_off", "amount_open")},
    filters=(
        Filter("status", "status", "=", help="only invoices in this status",
               choices=("open", "paid", "credited", "written-off")),
        Filter("min-days-past-due", "days_past_due", ">=", int, help="only open invoices at least this many days past due"),
        Filter("ageing", "ageing_bucket", "=", help="only open invoices in this ageing bucket",
               choices=("not_due", "0-30", "31-60", "61-90", ">90")),
        Filter("currency", "currency", "=", str.upper, help="only invoices in this currency"),
    ),
)


def _invoice(event: dict[str, Any]) -> dict[str, Any]:
    return {"invoice_number": event["invoice_number"]}


class InvoicesProjection(RowsProjection):
    name = "invoices"
    tables = ("invoices", "invoice_lines", "payments", "customer_dues", "invoices_watermarks")
    keys = {
        "invoices": ("invoice_number",),
        "invoice_lines": ("invoice_number", "line"),
        "payments": ("customer_id", "payment_id"),
    }
    event_types = frozenset({
        "InvoiceIssued", "CreditBalanceApplied", "PaymentReceived", "PaymentReversed", "CreditNoteIssued",
        "InvoiceWrittenOff", "ReminderSent",
    })
    views = (INVOICES_VIEW,)

    def fold(self, rows: RowChanges, event_type: str, event: dict[str, Any]) -> None:
        getattr(self, f"_{event_type}")(rows, event)

    def after_write(self, cursor, rows: RowChanges) -> None:
        """The dues of the customers whose events the batch applied, from their invoices as
        now written (an event of theirs moved a watermark: rows.watermarks)."""
        if rows.watermarks:
            cursor.execute(self.sql["dues"], {"customer_ids": sorted(rows.watermarks)})

    @staticmethod
    def _settle(rows: RowChanges, invoice_number: str, **amounts: int) -> None:
        """Money moves on an invoice: what it moves is no longer (or again) open."""
        rows.add("invoices", {"invoice_number": invoice_number}, amount_open=-sum(amounts.values()), **amounts)

    def _InvoiceIssued(self, rows: RowChanges, e: dict[str, Any]) -> None:
        rows.put(
            "invoices", invoice_number=e["invoice_number"], customer_id=e["customer_id"], currency=e["currency"],
            period_start=e["period_start"], period_end=e["period_end"], issue_date=e["issue_date"],
            due_date=e["due_date"], subtotal=e["subtotal"], tax=e["tax"], total=e["total"], paid=0, credited=0,
            written_off=0, amount_open=e["total"], last_reminder_step=0, last_reminder_on=None,
            written_off_on=None, write_off_reason=None,
            subscription_ids=sorted({line["subscription_id"] for line in e["lines"] if line["amount"]}),
        )
        for number, line in enumerate(e["lines"], 1):
            rows.put(
                "invoice_lines", invoice_number=e["invoice_number"], line=number, kind=line["kind"],
                subscription_id=line["subscription_id"], product=line["product"], quantity=line["quantity"],
                unit=line["unit"], period_start=line["period_start"], period_end=line["period_end"],
                amount=line["amount"], usage_ids=list(line["usage_ids"]),
            )

    def _CreditBalanceApplied(self, rows: RowChanges, e: dict[str, Any]) -> None:
        self._settle(rows, e["invoice_number"], paid=e["amount"])

    def _PaymentReceived(self, rows: RowChanges, e: dict[str, Any]) -> None:
        allocations = [{"invoice_number": a["invoice_number"], "amount": a["amount"]} for a in e["allocations"]]
        rows.put(
            "payments", customer_id=e["customer_id"], payment_id=e["payment_id"], currency=e["currency"],
            amount=e["amount"], method=e["method"], reference=e["reference"], received_on=e["received_on"],
            allocations=allocations, to_credit_balance=e["to_credit_balance"], reversed=False, reversed_on=None,
            reversal_reason=None,
        )
        for allocation in allocations:
            self._settle(rows, allocation["invoice_number"], paid=allocation["amount"])

    def _PaymentReversed(self, rows: RowChanges, e: dict[str, Any]) -> None:
        rows.set("payments", e, reversed=True, reversed_on=e["reversed_on"], reversal_reason=e["reason"])
        for item in e["reopened"]:  # includes the credit balance applications undone
            self._settle(rows, item["invoice_number"], paid=-item["amount"])

    def _CreditNoteIssued(self, rows: RowChanges, e: dict[str, Any]) -> None:
        self._settle(rows, e["invoice_number"], credited=e["amount"])

    def _InvoiceWrittenOff(self, rows: RowChanges, e: dict[str, Any]) -> None:
        self._settle(rows, e["invoice_number"], written_off=e["amount"])
        rows.set("invoices", _invoice(e), written_off_on=e["occurred_at"].date(), write_off_reason=e["reason"])

    def _ReminderSent(self, rows: RowChanges, e: dict[str, Any]) -> None:
        rows.set("invoices", _invoice(e), last_reminder_step=e["step"], last_reminder_on=e["occurred_at"].date())

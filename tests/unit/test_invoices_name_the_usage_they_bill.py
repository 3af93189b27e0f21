"""An invoice names the usage lines it bills: no event per line marks them billed (a bill run
over 100,000 accounts would write 3,000,000), and what is still to bill is derived from the
invoices. A batch of invoices takes its numbers only for the invoices the accounts accept."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from domain.accounts import CustomerAccount
from domain.numbering import INVOICE_SERIES, NumberSeries
from domain.usage import UsageLine
from tests.factories import ADMIN, open_customer, usage_report

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
AT = datetime(2026, 10, 1, 6, tzinfo=timezone.utc)


def stored_events(app) -> list:
    return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10**6)]


def test_an_invoice_names_its_usage_lines_and_writes_no_event_per_line(app):
    open_customer(app)
    app.record_usage([usage_report(f"u-{n}", quantity=str(n + 1)) for n in range(3)], actor="system:ingest")
    before = len(stored_events(app))
    number = app.issue_invoice("CUST-1", SEPTEMBER, OCTOBER, at=AT, actor=ADMIN)
    written = stored_events(app)[before:]
    # the series (started by this first invoice), its number and the invoice: nothing per usage line
    assert [type(e) for e in written] == [NumberSeries.Started, NumberSeries.NumberTaken, CustomerAccount.InvoiceIssued]
    assert not any(isinstance(e, UsageLine.Invoiced) for e in written)
    (invoice,) = [e for e in written if isinstance(e, CustomerAccount.InvoiceIssued)]
    assert invoice.invoice_number == number
    assert sorted(u for line in invoice.lines for u in line["usage_ids"]) == ["u-0", "u-1", "u-2"]
    assert invoice.billed_usage == Decimal("3.0")  # 1 + 2 + 3 hours at 0.5, exact
    assert app.index.uninvoiced_usage("CUST-1") == []


def test_usage_recorded_after_an_invoice_is_billed_by_the_next_one_only(app):
    open_customer(app)
    app.record_usage([usage_report("u-sep")], actor="system:ingest")
    app.issue_invoice("CUST-1", SEPTEMBER, OCTOBER, at=AT, actor=ADMIN)
    app.record_usage([usage_report("u-late", day=20)], actor="system:ingest")  # September usage, reported late
    assert [e.usage_id for e in app.index.uninvoiced_usage("CUST-1")] == ["u-late"]
    app.issue_invoice("CUST-1", OCTOBER, NOVEMBER, at=datetime(2026, 11, 1, tzinfo=timezone.utc), actor=ADMIN)
    invoices = [e for e in stored_events(app) if isinstance(e, CustomerAccount.InvoiceIssued)]
    assert [[u for line in i.lines for u in line["usage_ids"]] for i in invoices] == [["u-sep"], ["u-late"]]
    assert [line["kind"] for line in invoices[1].lines] == ["late-usage"]


def test_a_batch_skips_closed_and_refused_accounts_and_takes_no_number_for_them(app):
    for customer in ("A", "B", "C"):
        open_customer(app, customer)
    app.issue_invoice("B", SEPTEMBER, OCTOBER, at=AT, actor=ADMIN)  # INV-000001
    batch = app.issue_invoices(["A", "B", "C"], SEPTEMBER, OCTOBER, at=AT, actor=ADMIN)
    assert [(i.customer_id, i.invoice_number) for i in batch.issued] == [("A", "INV-000002"), ("C", "INV-000003")]
    assert batch.skipped == [("B", "period closed before")]
    app.issue_invoice("C", OCTOBER, NOVEMBER, at=AT, actor=ADMIN)  # INV-000004
    # A and B are invoiced through October 1st: November is not their next period
    december = app.issue_invoices(["A", "C", "B"], NOVEMBER, date(2026, 12, 1), at=AT, actor=ADMIN)
    assert [(i.customer_id, i.invoice_number) for i in december.issued] == [("C", "INV-000005")]
    assert [customer for customer, _ in december.skipped] == ["A", "B"]
    assert all("invoiced through 2026-10-01" in why for _, why in december.skipped)
    assert app.number_series(INVOICE_SERIES, at=AT, actor=ADMIN).last == 5  # no number taken for a refusal

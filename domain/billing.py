"""Receivables of an account: invoices, payments, reversals, refunds, credit notes, write-offs.

Part of CustomerAccount (see account.py). The account's balance is what its open
invoices hold less its credit balance (negative only when a payment whose credit was
refunded is reversed), and always equals
    invoiced - credited - written off - paid + reversed + refunded.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, datetime, timedelta

from domain import bounds
from domain.account_event import AccountEvent
from domain.errors import AlreadyExists, CurrencyMismatch, InvalidCommand, UnknownInvoice, UnknownPayment
from domain.invoicing import InvoiceDraft
from domain.policy import CollectionsPolicy
from domain.receivables import Allocation, InvoiceState, PaymentState, allocate

TOTALS = ("invoiced", "credited", "written_off", "paid", "reversed", "refunded")


class Billing:
    def __init__(self):
        self.invoices: dict[str, InvoiceState] = {}
        self.payments: dict[str, PaymentState] = {}
        self.credit_balance = 0
        self.credit_applied: dict[str, int] = {}  # invoice number -> credit balance used on it, in order
        self.credit_notes: dict[str, tuple[str, int]] = {}
        self.refunds: dict[str, int] = {}
        self.totals = dict.fromkeys(TOTALS, 0)
        self.invoiced_through: date | None = None

    # --- what the account owes ---------------------------------------------------------

    @property
    def balance(self) -> int:
        return sum(i.open_amount for i in self.invoices.values()) - self.credit_balance

    def open_invoices(self) -> list[InvoiceState]:
        return [i for i in self.invoices.values() if i.open_amount > 0]

    def check_has_invoice(self, invoice_number: str) -> InvoiceState:
        try:
            return self.invoices[invoice_number]
        except KeyError:
            raise UnknownInvoice(self.customer_id, invoice_number) from None

    def check_has_payment(self, payment_id: str) -> PaymentState:
        try:
            return self.payments[payment_id]
        except KeyError:
            raise UnknownPayment(self.customer_id, payment_id) from None

    def _change_invoice(self, number: str, **changes) -> None:
        self.invoices[number] = replace(self.invoices[number], **changes)

    def _settle(self, number: str, amount: int) -> None:
        invoice = self.invoices[number]
        self._change_invoice(number, open_amount=invoice.open_amount - amount)

    # --- invoices ----------------------------------------------------------------------

    class InvoiceIssued(AccountEvent):
        invoice_number: str
        period_start: date
        period_end: date
        issue_date: date
        due_date: date
        currency: str
        lines: list
        subtotal: int
        tax: int
        total: int

        def apply(self, account) -> None:
            subscriptions = sorted({line["subscription_id"] for line in self.lines if line["amount"]})
            account.invoices[self.invoice_number] = InvoiceState(
                self.invoice_number, self.issue_date, self.due_date, self.total, self.total, tuple(subscriptions)
            )
            account.invoiced_through = self.period_end
            account.totals["invoiced"] += self.total

    class CreditBalanceApplied(AccountEvent):
        invoice_number: str
        amount: int

        def apply(self, account) -> None:
            account._settle(self.invoice_number, self.amount)
            account.credit_balance -= self.amount
            account.credit_applied[self.invoice_number] = account.credit_applied.get(self.invoice_number, 0) + self.amount

    def check_next_period(self, period_start: date, period_end: date) -> None:
        bounds.check_business_day(period_start, f"customer {self.customer_id!r}: billing period start")
        if period_end <= period_start:
            raise InvalidCommand(f"customer {self.customer_id!r}: a billing period must end after it starts")
        if self.invoiced_through is not None and period_start != self.invoiced_through:
            raise InvalidCommand(
                f"customer {self.customer_id!r} is invoiced through {self.invoiced_through}; "
                f"the next billing period starts then, not on {period_start}"
            )

    def issue_invoice(
        self, invoice_number: str, draft: InvoiceDraft, period_start: date, period_end: date, *, at: datetime, actor: str
    ) -> None:
        self.check_next_period(period_start, period_end)
        self._check_draft(invoice_number, draft)
        issue_date = at.date()
        self._emit(
            self.InvoiceIssued, at, actor, invoice_number=invoice_number, period_start=period_start,
            period_end=period_end, issue_date=issue_date,
            due_date=issue_date + timedelta(days=self.payment_terms_days), currency=self.currency,
            lines=[asdict(line) for line in draft.lines], subtotal=draft.subtotal, tax=draft.tax, total=draft.total,
        )
        applied = min(self.credit_balance, draft.total)
        if applied > 0:
            self._emit(self.CreditBalanceApplied, at, actor, invoice_number=invoice_number, amount=applied)

    def _check_draft(self, invoice_number: str, draft: InvoiceDraft) -> None:
        """What an invoice derives (line quantities and amounts, its total) must fit the ledger's
        bounds as well as what was typed: a year of a large seat subscription may not."""
        where = f"customer {self.customer_id!r}: invoice {invoice_number}"
        for line in draft.lines:
            bounds.check_decimal(line.quantity, bounds.QUANTITY_PLACES, f"{where}: {line.subscription_id} quantity")
            bounds.check_amount(line.amount, f"{where}: {line.subscription_id} amount")
        for name in ("subtotal", "tax", "total"):
            bounds.check_amount(getattr(draft, name), f"{where}: {name}")

    # --- payments ----------------------------------------------------------------------

    class PaymentReceived(AccountEvent):
        payment_id: str
        amount: int
        currency: str
        method: str
        reference: str
        received_on: date
        allocations: list
        to_credit_balance: int

        def apply(self, account) -> None:
            allocations = tuple(Allocation(**a) for a in self.allocations)
            for allocation in allocations:
                account._settle(allocation.invoice_number, allocation.amount)
            account.credit_balance += self.to_credit_balance
            account.totals["paid"] += self.amount
            account.payments[self.payment_id] = PaymentState(
                self.payment_id, self.amount, self.currency, self.method, self.reference, self.received_on,
                allocations, self.to_credit_balance,
            )

    def receive_payment(
        self, payment_id: str, amount: int, currency: str, method: str, reference: str,
        invoice_number: str | None, policy: CollectionsPolicy, *, at: datetime, actor: str,
    ) -> bool:
        bounds.check_id(payment_id, f"customer {self.customer_id!r}: payment id")
        where = f"customer {self.customer_id!r}: payment {payment_id!r}"
        bounds.check_amount(amount, f"{where}: amount", minimum=1)
        _check_method_and_reference(where, method, reference)
        if invoice_number is not None:
            bounds.check_id(invoice_number, f"{where}: invoice number")
        existing = self.payments.get(payment_id)
        if existing is not None:
            if (existing.amount, existing.currency, existing.method, existing.reference) != (
                amount, currency, method, reference,
            ):
                raise AlreadyExists(f"payment {payment_id!r} was recorded before with other details")
            return False
        if currency != self.currency:
            raise CurrencyMismatch(self.customer_id, currency, self.currency)
        if invoice_number is not None:
            self.check_has_invoice(invoice_number)
        allocations, remainder = allocate(amount, list(self.invoices.values()), invoice_number)
        self._emit(
            self.PaymentReceived, at, actor, payment_id=payment_id, amount=amount, currency=currency, method=method,
            reference=reference, received_on=at.date(), allocations=[asdict(a) for a in allocations],
            to_credit_balance=remainder,
        )
        self.reinstate_cleared(policy, at=at, actor=actor)
        return True

    class PaymentReversed(AccountEvent):
        payment_id: str
        amount: int
        reason: str
        reversed_on: date
        reopened: list  # invoice number and amount owed again
        from_credit_balance: int  # taken back from the credit balance
        credit_reclaimed: list  # credit balance applications undone (also in `reopened`)

        def apply(self, account) -> None:
            for item in self.reopened:
                invoice = account.invoices[item["invoice_number"]]
                account._change_invoice(invoice.number, open_amount=invoice.open_amount + item["amount"])
            for item in self.credit_reclaimed:
                account.credit_applied[item["invoice_number"]] -= item["amount"]
            account.credit_balance -= self.from_credit_balance
            account.totals["reversed"] += self.amount
            account.payments[self.payment_id] = replace(account.payments[self.payment_id], reversed=True)

    def reverse_payment(
        self, payment_id: str, reason: str, policy: CollectionsPolicy, *, at: datetime, actor: str
    ) -> bool:
        bounds.check_text(reason, f"customer {self.customer_id!r}: reason for reversing {payment_id!r}",
                          bounds.MAX_TEXT_LENGTH)
        payment = self.check_has_payment(payment_id)
        if payment.reversed:
            return False
        # What the payment put on the credit balance is taken back from it; what of that the
        # credit balance already settled is owed again on those invoices; and what was
        # refunded meanwhile leaves the credit balance negative: a debt outside any invoice.
        shortfall = payment.to_credit_balance - max(self.credit_balance, 0)
        reclaimed = _take_newest(self.credit_applied, shortfall)
        from_credit_balance = payment.to_credit_balance - sum(amount for _, amount in reclaimed)
        reopened: dict[str, int] = {}
        for number, amount in [(a.invoice_number, a.amount) for a in payment.allocations] + reclaimed:
            reopened[number] = reopened.get(number, 0) + amount
        self._emit(
            self.PaymentReversed, at, actor, payment_id=payment_id, amount=payment.amount, reason=reason,
            reversed_on=at.date(), reopened=_amounts(reopened.items()), from_credit_balance=from_credit_balance,
            credit_reclaimed=_amounts(reclaimed),
        )
        if policy.resuspend_on_reversal:
            self.suspend_by_policy(policy, at=at, actor=actor)
        return True

    class Refunded(AccountEvent):
        refund_id: str
        amount: int
        method: str
        reference: str
        refunded_on: date

        def apply(self, account) -> None:
            account.credit_balance -= self.amount
            account.refunds[self.refund_id] = self.amount
            account.totals["refunded"] += self.amount

    def refund(self, refund_id: str, amount: int, method: str, reference: str, *, at: datetime, actor: str) -> bool:
        bounds.check_id(refund_id, f"customer {self.customer_id!r}: refund id")
        where = f"customer {self.customer_id!r}: refund {refund_id!r}"
        bounds.check_amount(amount, f"{where}: amount", minimum=1)
        _check_method_and_reference(where, method, reference)
        if refund_id in self.refunds:
            if self.refunds[refund_id] != amount:
                raise AlreadyExists(f"refund {refund_id!r} was recorded before with another amount")
            return False
        if not 0 < amount <= self.credit_balance:
            raise InvalidCommand(
                f"refund {refund_id!r}: {amount} is not between 1 and the credit balance {self.credit_balance}"
            )
        self._emit(self.Refunded, at, actor, refund_id=refund_id, amount=amount, method=method, reference=reference,
                   refunded_on=at.date())
        return True

    # --- credit notes and write-offs -----------------------------------------------------

    class CreditNoteIssued(AccountEvent):
        credit_note_id: str
        invoice_number: str
        amount: int
        reason: str

        def apply(self, account) -> None:
            invoice = account.invoices[self.invoice_number]
            account._change_invoice(
                invoice.number, open_amount=invoice.open_amount - self.amount, credited=invoice.credited + self.amount
            )
            account.credit_notes[self.credit_note_id] = (self.invoice_number, self.amount)
            account.totals["credited"] += self.amount

    def issue_credit_note(
        self, credit_note_id: str, invoice_number: str, amount: int, reason: str, policy: CollectionsPolicy,
        *, at: datetime, actor: str,
    ) -> bool:
        bounds.check_id(credit_note_id, f"customer {self.customer_id!r}: credit note id")
        where = f"customer {self.customer_id!r}: credit note {credit_note_id!r}"
        bounds.check_amount(amount, f"{where}: amount", minimum=1)
        bounds.check_text(reason, f"{where}: reason", bounds.MAX_TEXT_LENGTH)
        if credit_note_id in self.credit_notes:
            if self.credit_notes[credit_note_id] != (invoice_number, amount):
                raise AlreadyExists(f"credit note {credit_note_id!r} was issued before with other details")
            return False
        invoice = self.check_has_invoice(invoice_number)
        if not reason.strip():
            raise InvalidCommand(f"credit note {credit_note_id!r}: a reason is required")
        if amount > invoice.open_amount:
            raise InvalidCommand(
                f"credit note {credit_note_id!r}: {amount} is more than invoice {invoice_number} still has open "
                f"({invoice.open_amount})"
            )
        self._emit(self.CreditNoteIssued, at, actor, credit_note_id=credit_note_id, invoice_number=invoice_number,
                   amount=amount, reason=reason)
        self.reinstate_cleared(policy, at=at, actor=actor)
        return True

    class InvoiceWrittenOff(AccountEvent):
        invoice_number: str
        amount: int
        reason: str

        def apply(self, account) -> None:
            invoice = account.invoices[self.invoice_number]
            account._change_invoice(
                invoice.number, open_amount=0, written_off=invoice.written_off + self.amount
            )
            account.totals["written_off"] += self.amount

    def write_off(self, invoice_number: str, reason: str, *, at: datetime, actor: str) -> bool:
        bounds.check_text(reason, f"customer {self.customer_id!r}: reason for writing off {invoice_number!r}",
                          bounds.MAX_TEXT_LENGTH)
        invoice = self.check_has_invoice(invoice_number)
        if invoice.open_amount == 0:
            return False
        self._emit(self.InvoiceWrittenOff, at, actor, invoice_number=invoice_number, amount=invoice.open_amount,
                   reason=reason)
        return True


def _check_method_and_reference(where: str, method: str, reference: str) -> None:
    bounds.check_text(method, f"{where}: method")
    bounds.check_text(reference, f"{where}: reference")


def _amounts(pairs) -> list[dict]:
    return [{"invoice_number": number, "amount": amount} for number, amount in pairs]


def _take_newest(applied: dict[str, int], amount: int) -> list[tuple[str, int]]:
    """Which credit applications, newest first, make up `amount`."""
    taken = []
    for number in reversed(list(applied)):
        if amount <= 0:
            break
        part = min(applied[number], amount)
        if part:
            taken.append((number, part))
            amount -= part
    return taken

"""What an account is owed: invoice and payment state, and the rules that move money
between them (allocating a payment, undoing one). Pure: the account (aggregate.py) calls
these and records what they decide in its events.

State objects are immutable; the account replaces them as events apply. Amounts are
integer minor units of the account's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

OPEN, PAID, CREDITED, WRITTEN_OFF = "open", "paid", "credited", "written-off"


@dataclass(frozen=True)
class InvoiceState:
    number: str
    issue_date: date
    due_date: date
    total: int
    open_amount: int
    subscription_ids: tuple[str, ...]
    credited: int = 0
    written_off: int = 0
    reminder_step: int = 0  # reminders sent so far

    @property
    def status(self) -> str:
        if self.written_off:
            return WRITTEN_OFF
        if self.open_amount:
            return OPEN
        return CREDITED if self.credited >= self.total and self.total else PAID


@dataclass(frozen=True)
class Allocation:
    invoice_number: str
    amount: int


@dataclass(frozen=True)
class PaymentState:
    payment_id: str
    amount: int
    currency: str
    method: str
    reference: str
    received_on: date
    allocations: tuple[Allocation, ...]
    to_credit_balance: int
    reversed: bool = False


def allocate(amount: int, invoices: list[InvoiceState], named: str | None = None) -> tuple[list[Allocation], int]:
    """Settle the named invoice first, then open invoices oldest first; return the remainder."""
    ordered = sorted(
        (i for i in invoices if i.open_amount > 0),
        key=lambda i: (i.number != named, i.due_date, i.issue_date, i.number),
    )
    allocations = []
    remaining = amount
    for invoice in ordered:
        if remaining == 0:
            break
        settled = min(remaining, invoice.open_amount)
        allocations.append(Allocation(invoice.number, settled))
        remaining -= settled
    return allocations, remaining


@dataclass(frozen=True)
class Reversal:
    """What reversing a payment undoes: what is owed again on each invoice, what is taken back
    from the credit balance, and which credit balance applications are undone."""

    reopened: list[tuple[str, int]]  # invoice number, amount owed again
    from_credit_balance: int
    credit_reclaimed: list[tuple[str, int]]  # also in `reopened`


def reversal(payment: PaymentState, credit_balance: int, credit_applied: dict[str, int]) -> Reversal:
    """What the payment put on the credit balance is taken back from it; what of that the
    credit balance already settled is owed again on those invoices (newest application
    first); and what was refunded meanwhile leaves the credit balance negative: a debt
    outside any invoice."""
    shortfall = payment.to_credit_balance - max(credit_balance, 0)
    reclaimed = _take_newest(credit_applied, shortfall)
    reopened: dict[str, int] = {}
    for number, amount in [(a.invoice_number, a.amount) for a in payment.allocations] + reclaimed:
        reopened[number] = reopened.get(number, 0) + amount
    return Reversal(
        list(reopened.items()), payment.to_credit_balance - sum(amount for _, amount in reclaimed), reclaimed
    )


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

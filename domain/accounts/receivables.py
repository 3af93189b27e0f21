"""What an account is owed: invoice and payment state, and how money is allocated.

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


def overdue(invoices: list[InvoiceState], is_overdue) -> list[InvoiceState]:
    return [i for i in invoices if i.open_amount > 0 and is_overdue(i.due_date)]

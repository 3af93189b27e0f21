"""What one batch of a run over many accounts did: the bill run's invoices and skipped
accounts, the collections run's events per account. Plain data, so that a batch done in a
worker process travels to whoever sums the run up (ledger/runs)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Why an account got no invoice in a bill run (InvoiceBatch.skipped): the period was closed
# before (a resumed or repeated run), or the account refused the invoice (its message).
CLOSED_BEFORE = "period closed before"


@dataclass
class IssuedInvoice:
    customer_id: str
    invoice_number: str
    currency: str
    total: int  # minor units


@dataclass
class InvoiceBatch:
    issued: list[IssuedInvoice] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (customer id, why)
    renumbered: int = 0  # times a concurrent writer took the series first and the batch was numbered again

    @property
    def accounts(self) -> int:
        return len(self.issued) + len(self.skipped)


@dataclass
class CollectionsBatch:
    accounts: int = 0
    done: dict[str, list[str]] = field(default_factory=dict)  # customer id -> event type names

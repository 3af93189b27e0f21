"""The two kinds of run: what one batch of accounts does, and the summary its batches add up to."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from domain.application import BillingLedger
from domain.runs import CLOSED_BEFORE, CollectionsBatch, InvoiceBatch

BILL_RUN, COLLECTIONS_RUN = "bill", "collections"
REFUSED = "refused by the ledger"  # the skip reason of an account the domain refused an invoice
REFUSALS_KEPT = 20  # refused accounts named in a summary (each with its reason); the rest are counted


@dataclass(frozen=True)
class RunSpec:
    """What to run, as whom and when: everything a worker process needs besides the store."""

    kind: str  # BILL_RUN or COLLECTIONS_RUN
    actor: str  # the signed-in user: on every event the run emits
    at: datetime  # business time
    period_start: date | None = None  # the bill run's period
    period_end: date | None = None

    def run_batch(self, app: BillingLedger, customer_ids: list[str]) -> InvoiceBatch | CollectionsBatch:
        if self.kind == BILL_RUN:
            return app.issue_invoices(customer_ids, self.period_start, self.period_end, at=self.at, actor=self.actor)
        return app.collect_accounts(customer_ids, at=self.at, actor=self.actor)


@dataclass
class RunSummary:
    """What a run did so far; `add` takes each batch as it is committed."""

    accounts: int = 0
    invoices: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # currency -> minor units invoiced
    skipped: dict[str, int] = field(default_factory=dict)  # why -> accounts
    refusals: list[list[str]] = field(default_factory=list)  # [customer id, reason], the first REFUSALS_KEPT
    renumbered: int = 0  # batches numbered again after another writer took the series first
    accounts_with_actions: int = 0  # collections: accounts that had something due
    actions: dict[str, int] = field(default_factory=dict)  # collections: event type -> how many

    def add(self, batch: InvoiceBatch | CollectionsBatch) -> None:
        self.accounts += batch.accounts
        if isinstance(batch, InvoiceBatch):
            self._add_invoices(batch)
        else:
            self.accounts_with_actions += len(batch.done)
            self.actions = dict(Counter(self.actions) + Counter(e for events in batch.done.values() for e in events))

    def _add_invoices(self, batch: InvoiceBatch) -> None:
        self.invoices += len(batch.issued)
        self.renumbered += batch.renumbered
        for invoice in batch.issued:
            self.totals[invoice.currency] = self.totals.get(invoice.currency, 0) + invoice.total
        for customer_id, why in batch.skipped:
            reason = why if why == CLOSED_BEFORE else REFUSED
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            if reason == REFUSED and len(self.refusals) < REFUSALS_KEPT:
                self.refusals.append([customer_id, why])

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> RunSummary:
        return cls(**data)

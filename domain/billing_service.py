"""Application methods for billing staff: subscriptions, invoicing, payments, credits,
collections. Each checks the actor's role, gets the aggregates, calls one command, saves.

Two questions the event store answers through an index port (`self.index`, provided
by the persistence layer): which customers have accounts, and which usage lines of a
customer are not invoiced yet.
"""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.account import CustomerAccount
from domain.errors import LedgerError
from domain.invoicing import draft_invoice
from domain.numbering import NumberSeries, series_id
from domain.policy import POLICY_BOOK_ID, CollectionsPolicy, PolicyBook
from domain.roles import Permission
from domain.usage import UsageLine

INVOICE_PREFIX = "INV"
CONFLICT_RETRIES = 12


class LedgerIndex(Protocol):
    def customer_ids(self) -> list[str]: ...

    def uninvoiced_usage(self, customer_id: str) -> list[UsageLine]: ...


class BillingService:
    index: LedgerIndex

    # --- the collections policy -----------------------------------------------------------

    def policy_book(self) -> PolicyBook:
        try:
            return self.repository.get(POLICY_BOOK_ID)
        except AggregateNotFoundError:
            return PolicyBook.create(at=datetime.min.replace(tzinfo=timezone.utc), actor="system:ledger")

    def policy_for(self, account: CustomerAccount) -> CollectionsPolicy:
        return self.policy_book().policy(account.policy_name)

    def publish_policy(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.CHANGE_COLLECTIONS_POLICY)
        book = self.policy_book()
        published = book.publish(policy, at=at, actor=actor)
        self.save(book)
        return published

    # --- one command on one account ---------------------------------------------------------

    def _on_account(self, customer_id: str, permission: Permission, actor: str, command) -> bool:
        self.authorize(actor, permission)
        account = self.get_account(customer_id)
        changed = command(account)
        self.save(account)
        return changed

    def change_profile(self, customer_id: str, name: str, payment_terms_days: int, tax_rate: Decimal,
                       *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.CHANGE_ACCOUNTS, actor,
                                lambda a: a.change_profile(name, payment_terms_days, tax_rate, at=at, actor=actor))

    def assign_policy(self, customer_id: str, policy_name: str, *, at: datetime, actor: str) -> bool:
        self.policy_book().policy(policy_name)  # refuses a policy that does not exist
        return self._on_account(customer_id, Permission.CHANGE_ACCOUNTS, actor,
                                lambda a: a.assign_policy(policy_name, at=at, actor=actor))

    def add_seat_subscription(self, customer_id: str, subscription_id: str, product: str, seats: int,
                              price_per_seat: Decimal, starts_on: date, *, at: datetime, actor: str) -> bool:
        return self._on_account(
            customer_id, Permission.CHANGE_SUBSCRIPTIONS, actor,
            lambda a: a.add_seat_subscription(subscription_id, product, seats, price_per_seat, starts_on,
                                              at=at, actor=actor),
        )

    def change_seats(self, customer_id: str, subscription_id: str, seats: int, effective_on: date,
                     *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.CHANGE_SUBSCRIPTIONS, actor,
                                lambda a: a.change_seats(subscription_id, seats, effective_on, at=at, actor=actor))

    def receive_payment(self, customer_id: str, payment_id: str, amount: int, currency: str, method: str,
                        reference: str, invoice_number: str | None = None, *, at: datetime, actor: str) -> bool:
        return self._on_account(
            customer_id, Permission.RECORD_PAYMENTS, actor,
            lambda a: a.receive_payment(payment_id, amount, currency, method, reference, invoice_number,
                                        self.policy_for(a), at=at, actor=actor),
        )

    def reverse_payment(self, customer_id: str, payment_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.RECORD_PAYMENTS, actor,
                                lambda a: a.reverse_payment(payment_id, reason, self.policy_for(a), at=at, actor=actor))

    def refund(self, customer_id: str, refund_id: str, amount: int, method: str, reference: str,
               *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.RECORD_PAYMENTS, actor,
                                lambda a: a.refund(refund_id, amount, method, reference, at=at, actor=actor))

    def issue_credit_note(self, customer_id: str, credit_note_id: str, invoice_number: str, amount: int,
                          reason: str, *, at: datetime, actor: str) -> bool:
        return self._on_account(
            customer_id, Permission.ISSUE_CREDIT_NOTES, actor,
            lambda a: a.issue_credit_note(credit_note_id, invoice_number, amount, reason, self.policy_for(a),
                                          at=at, actor=actor),
        )

    def write_off(self, customer_id: str, invoice_number: str, reason: str, *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.RUN_COLLECTIONS, actor,
                                lambda a: a.write_off(invoice_number, reason, at=at, actor=actor))

    def place_hold(self, customer_id: str, kind: str, until: date, reason: str, *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.RUN_COLLECTIONS, actor,
                                lambda a: a.place_hold(kind, until, reason, at=at, actor=actor))

    def release_hold(self, customer_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.RUN_COLLECTIONS, actor,
                                lambda a: a.release_hold(reason, at=at, actor=actor))

    def suspend(self, customer_id: str, subscription_ids: list[str] | None, reason: str,
                *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.SUSPEND_AND_REINSTATE, actor,
                                lambda a: a.suspend(subscription_ids, reason, self.policy_for(a), at=at, actor=actor))

    def reinstate(self, customer_id: str, subscription_ids: list[str] | None, reason: str,
                  *, at: datetime, actor: str) -> bool:
        return self._on_account(customer_id, Permission.SUSPEND_AND_REINSTATE, actor,
                                lambda a: a.reinstate(subscription_ids, reason, at=at, actor=actor))

    # --- invoicing ------------------------------------------------------------------------------

    def issue_invoice(self, customer_id: str, period_start: date, period_end: date,
                      *, at: datetime, actor: str) -> str | None:
        """Close a billing period: returns the invoice number, or None if it was closed before."""
        self.authorize(actor, Permission.ISSUE_INVOICES)
        for _attempt in range(CONFLICT_RETRIES):
            account = self.get_account(customer_id)
            if account.invoiced_through is not None and period_end <= account.invoiced_through:
                return None  # a retry of a period already closed
            account.check_next_period(period_start, period_end)
            usage = [u for u in self.index.uninvoiced_usage(customer_id) if u.period_start.date() < period_end]
            draft = draft_invoice(
                account.seat_subscriptions.values(), [u.to_bill() for u in usage], period_start, period_end,
                account.tax_rate, account.currency,
            )
            series = self._series(INVOICE_PREFIX, at, actor)
            number = series.take(customer_id, at=at, actor=actor)
            account.issue_invoice(number, draft, period_start, period_end, at=at, actor=actor)
            for line in usage:
                line.mark_invoiced(number, at=at, actor=actor)
            try:
                self.save(series, account, *usage)
            except IntegrityError:
                # Another writer took a number or changed the account: do it again, after a
                # random pause so that racing writers stop colliding (not business time).
                time.sleep(random.uniform(0, 0.005 * 2**_attempt))
                continue
            return number
        raise LedgerError(f"invoicing customer {customer_id!r} kept conflicting with other writers; try again")

    def _series(self, prefix: str, at: datetime, actor: str) -> NumberSeries:
        try:
            return self.repository.get(series_id(prefix))
        except AggregateNotFoundError:
            return NumberSeries.start(prefix, at=at, actor=actor)

    # --- the collections run --------------------------------------------------------------------

    def collect(self, *, at: datetime, actor: str) -> dict[str, list[str]]:
        """Run the collections policy over every account; returns what each account got."""
        self.authorize(actor, Permission.RUN_COLLECTIONS)
        book = self.policy_book()
        done: dict[str, list[str]] = {}
        for customer_id in self.index.customer_ids():
            account = self.get_account(customer_id)
            account.collect(book.policy(account.policy_name), at=at, actor=actor)
            pending = [type(e).__name__ for e in account.pending_events]
            if pending:
                self.save(account)
                done[customer_id] = pending
        return done

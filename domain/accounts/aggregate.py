"""The customer account aggregate: billing profile, subscriptions, receivables (invoices,
payments, reversals, refunds, credit notes, write-offs) and collections (reminders,
suspension, holds), with every event nested in it.

The account is the consistency boundary for money: an invoice, a payment and what they
settle change it in one event. Its balance is what its open invoices hold less its credit
balance (negative only when a payment whose credit was refunded is reversed), and always
equals invoiced - credited - written off - paid + reversed + refunded.

The rules that decide (allocating a payment, what a reversal undoes, what the collections
policy does on a day) are pure functions in receivables.py and collections_rules.py; the
commands here check, call them, then emit.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.accounts.collections_rules import (
    HOLD_KINDS,
    Hold,
    NextAction,
    Suspension,
    cleared_suspensions,
    days_past_due,
    next_action,
    reminders_due,
    suspension_due,
    warnings_due,
)
from domain.accounts.invoicing import InvoiceDraft
from domain.accounts.receivables import Allocation, InvoiceState, PaymentState, allocate, reversal
from domain.accounts.subscriptions import MeteredSubscription, SeatSubscription
from domain.errors import (
    AccountClosed,
    AlreadyExists,
    CurrencyMismatch,
    InvalidCommand,
    UnknownInvoice,
    UnknownPayment,
    UnknownSubscription,
)
from domain.money import check_currency, to_minor_units
from domain.policy import DEFAULT_POLICY, CollectionsPolicy

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:customer-account")
TOTALS = ("invoiced", "credited", "written_off", "paid", "reversed", "refunded")


def account_id(customer_id: str) -> UUID:
    """An account's aggregate id follows from the customer id, so a retry finds it."""
    return uuid5(ACCOUNT_NAMESPACE, customer_id)


def check_profile(customer_id: str, name: str, payment_terms_days: int, tax_rate: Decimal) -> None:
    bounds.check_text(name, f"customer {customer_id!r}: name")
    bounds.check_count(payment_terms_days, f"customer {customer_id!r}: payment terms (days)", largest=bounds.MAX_DAYS)
    bounds.check_decimal(tax_rate, bounds.RATE_PLACES, f"customer {customer_id!r}: tax rate")
    if not tax_rate < Decimal(100):
        raise InvalidCommand(f"customer {customer_id!r}: tax rate {tax_rate} is not a percentage")


class CustomerAccount(Aggregate):
    """A customer's account: its events are nested here, its commands check, then emit."""

    class Event(Aggregate.Event):
        customer_id: str  # whose account
        actor: str  # who acted: a staff user, or a process (system:...)

    class Opened(Event, Aggregate.Created):
        name: str
        currency: str
        payment_terms_days: int
        tax_rate: Decimal

    def __init__(self, customer_id: str, actor: str, name: str, currency: str, payment_terms_days: int, tax_rate: Decimal):
        self.customer_id = customer_id
        self.name = name
        self.currency = currency
        self.payment_terms_days = payment_terms_days
        self.tax_rate = tax_rate
        self.policy_name = DEFAULT_POLICY
        self.subscriptions: dict[str, MeteredSubscription] = {}
        self.seat_subscriptions: dict[str, SeatSubscription] = {}
        self.closed = False
        # receivables (receivables.py)
        self.invoices: dict[str, InvoiceState] = {}
        self.payments: dict[str, PaymentState] = {}
        self.credit_balance = 0
        self.credit_applied: dict[str, int] = {}  # invoice number -> credit balance used on it, in order
        self.credit_notes: dict[str, tuple[str, int]] = {}
        self.refunds: dict[str, int] = {}
        self.totals = dict.fromkeys(TOTALS, 0)
        self.invoiced_through: date | None = None
        # collections (collections_rules.py)
        self.suspensions: dict[str, Suspension] = {}
        self.hold: Hold | None = None

    @classmethod
    def open(
        cls, customer_id: str, name: str, currency: str, payment_terms_days: int, tax_rate: Decimal,
        *, at: datetime, actor: str,
    ) -> CustomerAccount:
        bounds.check_id(customer_id, "customer id")
        check_currency(currency)
        check_profile(customer_id, name, payment_terms_days, tax_rate)
        bounds.check_business_time(at, f"customer {customer_id!r}: business time")
        return cls._create(
            cls.Opened, id=account_id(customer_id), timestamp=at, customer_id=customer_id, actor=actor, name=name,
            currency=currency, payment_terms_days=payment_terms_days, tax_rate=tax_rate,
        )

    def check_same_opening(self, name: str, currency: str, payment_terms_days: int, tax_rate: Decimal) -> None:
        """Opening twice with the same details is a retry; with other details, a conflict."""
        if (self.name, self.currency, self.payment_terms_days, self.tax_rate) != (name, currency, payment_terms_days, tax_rate):
            raise AlreadyExists(f"customer {self.customer_id!r} already has an account with other details")

    def _emit(self, event_class: type[Event], at: datetime, actor: str, **fields) -> None:
        # Every event of an account passes here: its business time is checked once, here.
        bounds.check_business_time(at, f"customer {self.customer_id!r}: business time")
        self.trigger_event(event_class, timestamp=at, customer_id=self.customer_id, actor=actor, **fields)

    def check_open(self) -> None:
        if self.closed:
            raise AccountClosed(self.customer_id)

    # --- billing profile -------------------------------------------------------------

    class ProfileChanged(Event):
        name: str
        payment_terms_days: int
        tax_rate: Decimal

        def apply(self, account: CustomerAccount) -> None:
            account.name = self.name
            account.payment_terms_days = self.payment_terms_days
            account.tax_rate = self.tax_rate

    def change_profile(
        self, name: str, payment_terms_days: int, tax_rate: Decimal, *, at: datetime, actor: str
    ) -> bool:
        self.check_open()
        check_profile(self.customer_id, name, payment_terms_days, tax_rate)
        if (name, payment_terms_days, tax_rate) == (self.name, self.payment_terms_days, self.tax_rate):
            return False
        self._emit(self.ProfileChanged, at, actor, name=name, payment_terms_days=payment_terms_days, tax_rate=tax_rate)
        return True

    class CollectionsPolicyAssigned(Event):
        policy_name: str

        def apply(self, account: CustomerAccount) -> None:
            account.policy_name = self.policy_name

    def assign_policy(self, policy_name: str, *, at: datetime, actor: str) -> bool:
        self.check_open()
        bounds.check_id(policy_name, f"customer {self.customer_id!r}: collections policy")
        if policy_name == self.policy_name:
            return False
        self._emit(self.CollectionsPolicyAssigned, at, actor, policy_name=policy_name)
        return True

    # --- subscriptions ---------------------------------------------------------------

    class MeteredSubscriptionAdded(Event):
        subscription_id: str
        product: str
        meter: str
        unit: str
        unit_price: Decimal
        markup_percent: Decimal

        def apply(self, account: CustomerAccount) -> None:
            account.subscriptions[self.subscription_id] = MeteredSubscription(
                self.subscription_id, self.product, self.meter, self.unit, self.unit_price, self.markup_percent
            )

    def add_metered_subscription(
        self, subscription_id: str, product: str, meter: str, unit: str, unit_price: Decimal,
        markup_percent: Decimal = Decimal(0), *, at: datetime, actor: str,
    ) -> bool:
        """Returns False when the same subscription was added before (a harmless retry)."""
        self.check_open()
        self._check_subscription_terms(subscription_id, product, unit_price)
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_text(meter, f"{where}: meter")
        bounds.check_text(unit, f"{where}: unit")
        bounds.check_decimal(markup_percent, bounds.RATE_PLACES, f"{where}: markup", minimum=None)
        wanted = MeteredSubscription(subscription_id, product, meter, unit, unit_price, markup_percent)
        existing = self.subscriptions.get(subscription_id)
        if existing is not None:
            if existing != wanted:
                raise AlreadyExists(
                    f"customer {self.customer_id!r} already has subscription {subscription_id!r} with other terms"
                )
            return False
        self._check_new_subscription_id(subscription_id)
        if markup_percent <= -100:
            raise InvalidCommand(f"subscription {subscription_id!r}: a discount of 100% or more is not a price")
        self._emit(
            self.MeteredSubscriptionAdded, at, actor, subscription_id=subscription_id, product=product, meter=meter,
            unit=unit, unit_price=unit_price, markup_percent=markup_percent,
        )
        return True

    class SeatSubscriptionAdded(Event):
        subscription_id: str
        product: str
        seats: int
        price_per_seat: Decimal
        starts_on: date

        def apply(self, account: CustomerAccount) -> None:
            account.seat_subscriptions[self.subscription_id] = SeatSubscription(
                self.subscription_id, self.product, self.price_per_seat, self.starts_on, ((self.starts_on, self.seats),)
            )

    def add_seat_subscription(
        self, subscription_id: str, product: str, seats: int, price_per_seat: Decimal, starts_on: date,
        *, at: datetime, actor: str,
    ) -> bool:
        self.check_open()
        self._check_subscription_terms(subscription_id, product, price_per_seat)
        bounds.check_business_day(starts_on, f"customer {self.customer_id!r}: subscription {subscription_id!r} starts on")
        self._check_seats(subscription_id, seats, price_per_seat)
        existing = self.seat_subscriptions.get(subscription_id)
        if existing is not None:
            if (existing.product, existing.price_per_seat, existing.starts_on, existing.seat_changes[0][1]) != (
                product, price_per_seat, starts_on, seats,
            ):
                raise AlreadyExists(
                    f"customer {self.customer_id!r} already has subscription {subscription_id!r} with other terms"
                )
            return False
        self._check_new_subscription_id(subscription_id)
        self._emit(
            self.SeatSubscriptionAdded, at, actor, subscription_id=subscription_id, product=product, seats=seats,
            price_per_seat=price_per_seat, starts_on=starts_on,
        )
        return True

    class SeatsChanged(Event):
        subscription_id: str
        seats: int
        effective_on: date

        def apply(self, account: CustomerAccount) -> None:
            subscription = account.seat_subscriptions[self.subscription_id]
            account.seat_subscriptions[self.subscription_id] = subscription.with_seats(self.seats, self.effective_on)

    def change_seats(self, subscription_id: str, seats: int, effective_on: date, *, at: datetime, actor: str) -> bool:
        self.check_open()
        subscription = self.seat_subscriptions.get(subscription_id)
        if subscription is None:
            raise UnknownSubscription(self.customer_id, subscription_id)
        self._check_seats(subscription_id, seats, subscription.price_per_seat)
        if effective_on < subscription.starts_on:
            raise InvalidCommand(f"subscription {subscription_id!r} starts on {subscription.starts_on}")
        if subscription.with_seats(seats, effective_on) == subscription:
            return False  # the same change again: a retry
        if self.invoiced_through is not None and effective_on < self.invoiced_through:
            raise InvalidCommand(
                f"subscription {subscription_id!r}: seats cannot change from {effective_on}, "
                f"a day already invoiced (invoiced through {self.invoiced_through})"
            )
        self._emit(self.SeatsChanged, at, actor, subscription_id=subscription_id, seats=seats, effective_on=effective_on)
        return True

    def _check_subscription_terms(self, subscription_id: str, product: str, price: Decimal) -> None:
        bounds.check_id(subscription_id, f"customer {self.customer_id!r}: subscription id")
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_text(product, f"{where}: product")
        bounds.check_decimal(price, bounds.PRICE_PLACES, f"{where}: price")

    def _check_seats(self, subscription_id: str, seats: int, price_per_seat: Decimal) -> None:
        """Seats within bounds, and a month of them one owed amount the ledger carries (a seat
        line bills about that much a month: an invoice past the bound is refused when issued)."""
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_count(seats, f"{where}: seats", largest=bounds.MAX_SEATS)
        monthly = to_minor_units(Fraction(price_per_seat) * seats, self.currency)
        bounds.check_amount(monthly, f"{where}: a month of {seats:,} seats at {price_per_seat}")

    def _check_new_subscription_id(self, subscription_id: str) -> None:
        if subscription_id in self.subscriptions or subscription_id in self.seat_subscriptions:
            raise AlreadyExists(f"customer {self.customer_id!r} already has subscription {subscription_id!r}")

    def all_subscription_ids(self) -> list[str]:
        return sorted([*self.subscriptions, *self.seat_subscriptions])

    def subscription_for_usage(self, subscription_id: str) -> MeteredSubscription:
        self.check_open()
        try:
            return self.subscriptions[subscription_id]
        except KeyError:
            raise UnknownSubscription(self.customer_id, subscription_id) from None

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

    class InvoiceIssued(Event):
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
        # v2: the exact amount of the usage it bills, which leaves unbilled usage with it.
        # None on a v1 invoice: each line it billed had a UsageLine.Invoiced event of its own.
        billed_usage: Decimal | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["billed_usage"] = None

        def apply(self, account: CustomerAccount) -> None:
            subscriptions = sorted({line["subscription_id"] for line in self.lines if line["amount"]})
            account.invoices[self.invoice_number] = InvoiceState(
                self.invoice_number, self.issue_date, self.due_date, self.total, self.total, tuple(subscriptions)
            )
            account.invoiced_through = self.period_end
            account.totals["invoiced"] += self.total

    class CreditBalanceApplied(Event):
        invoice_number: str
        amount: int

        def apply(self, account: CustomerAccount) -> None:
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
            # the flat lines as dicts: what asdict gives, without its deep copy of every field
            lines=[dict(vars(line)) for line in draft.lines], subtotal=draft.subtotal, tax=draft.tax, total=draft.total,
            billed_usage=draft.billed_usage,
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

    class PaymentReceived(Event):
        payment_id: str
        amount: int
        currency: str
        method: str
        reference: str
        received_on: date
        allocations: list
        to_credit_balance: int

        def apply(self, account: CustomerAccount) -> None:
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

    class PaymentReversed(Event):
        payment_id: str
        amount: int
        reason: str
        reversed_on: date
        reopened: list  # invoice number and amount owed again
        from_credit_balance: int  # taken back from the credit balance
        credit_reclaimed: list  # credit balance applications undone (also in `reopened`)

        def apply(self, account: CustomerAccount) -> None:
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
        undone = reversal(payment, self.credit_balance, self.credit_applied)
        self._emit(
            self.PaymentReversed, at, actor, payment_id=payment_id, amount=payment.amount, reason=reason,
            reversed_on=at.date(), reopened=_amounts(undone.reopened), from_credit_balance=undone.from_credit_balance,
            credit_reclaimed=_amounts(undone.credit_reclaimed),
        )
        if policy.resuspend_on_reversal:
            self.suspend_by_policy(policy, at=at, actor=actor)
        return True

    class Refunded(Event):
        refund_id: str
        amount: int
        method: str
        reference: str
        refunded_on: date

        def apply(self, account: CustomerAccount) -> None:
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

    class CreditNoteIssued(Event):
        credit_note_id: str
        invoice_number: str
        amount: int
        reason: str

        def apply(self, account: CustomerAccount) -> None:
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

    class InvoiceWrittenOff(Event):
        invoice_number: str
        amount: int
        reason: str

        def apply(self, account: CustomerAccount) -> None:
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

    # --- collections: the policy run ----------------------------------------------------

    def on_hold(self, as_of: date) -> bool:
        return self.hold is not None and as_of <= self.hold.until

    def next_action(self, policy: CollectionsPolicy, as_of: date) -> NextAction | None:
        return next_action(policy, as_of, self.invoices.values(), self.suspensions.values(), self.hold,
                           self.all_subscription_ids())

    def collect(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        """Emit what the policy says is due on `at`'s date; running it twice emits nothing more."""
        as_of = at.date()
        if self.hold is not None and as_of > self.hold.until:
            self._emit(self.CollectionsHoldReleased, at, actor, reason=f"hold ended on {self.hold.until}")
        for invoice in list(self.open_invoices()):
            if as_of >= policy.write_off_day(invoice.due_date):
                self.write_off(invoice.number, f"{policy.write_off_after_days} days past due", at=at, actor=actor)
        if not self.on_hold(as_of):
            for invoice, step in reminders_due(self.open_invoices(), policy, as_of):
                self._emit(self.ReminderSent, at, actor, invoice_number=invoice.number, step=step,
                           days_past_due=days_past_due(invoice.due_date, as_of))
            self.suspend_by_policy(policy, at=at, actor=actor)
        for deadline, subscription_ids in warnings_due(self.suspensions.values(), policy, as_of).items():
            self._emit(self.DeprovisioningWarningSent, at, actor, subscription_ids=subscription_ids,
                       deprovision_deadline=deadline)

    class ReminderSent(Event):
        invoice_number: str
        step: int
        days_past_due: int

        def apply(self, account: CustomerAccount) -> None:
            account._change_invoice(self.invoice_number, reminder_step=self.step)

    class SubscriptionsSuspended(Event):
        subscription_ids: list
        reason: str
        invoice_numbers: list
        suspended_on: date
        deprovision_deadline: date
        by_policy: bool
        scope: str

        def apply(self, account: CustomerAccount) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions[subscription_id] = Suspension(
                    subscription_id, self.suspended_on, self.reason, tuple(self.invoice_numbers),
                    self.deprovision_deadline, self.by_policy, self.scope,
                )

    def suspend_by_policy(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        as_of = at.date()
        if self.on_hold(as_of):
            return
        due = suspension_due(
            self.open_invoices(), policy, as_of, self.currency, self.suspensions, self.all_subscription_ids()
        )
        if due is not None:
            self._emit(
                self.SubscriptionsSuspended, at, actor, subscription_ids=due.subscription_ids,
                reason=f"invoice {due.oldest.number} is {days_past_due(due.oldest.due_date, as_of)} days past due",
                invoice_numbers=sorted(i.number for i in due.invoices), suspended_on=as_of,
                deprovision_deadline=policy.deprovision_deadline(as_of), by_policy=True, scope=due.scope,
            )

    class SubscriptionsReinstated(Event):
        subscription_ids: list
        reason: str

        def apply(self, account: CustomerAccount) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions.pop(subscription_id, None)

    def reinstate_cleared(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        """Lift, at once, each policy suspension whose overdue debt is cleared."""
        cleared = cleared_suspensions(self.suspensions.values(), list(self.invoices.values()), policy, at.date())
        if cleared:
            self._emit(self.SubscriptionsReinstated, at, actor, subscription_ids=cleared,
                       reason="nothing overdue any more")

    class DeprovisioningWarningSent(Event):
        subscription_ids: list
        deprovision_deadline: date

        def apply(self, account: CustomerAccount) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions[subscription_id] = replace(account.suspensions[subscription_id], warned=True)

    # --- collections: by hand ---------------------------------------------------------------

    class CollectionsHoldPlaced(Event):
        kind: str
        until: date
        reason: str

        def apply(self, account: CustomerAccount) -> None:
            account.hold = Hold(self.kind, self.until, self.reason)

    class CollectionsHoldReleased(Event):
        reason: str

        def apply(self, account: CustomerAccount) -> None:
            account.hold = None

    def place_hold(self, kind: str, until: date, reason: str, *, at: datetime, actor: str) -> bool:
        if kind not in HOLD_KINDS:
            raise InvalidCommand(f"a collections hold is one of {', '.join(HOLD_KINDS)}, not {kind!r}")
        bounds.check_business_day(until, f"customer {self.customer_id!r}: hold until")
        self._check_reason("hold", reason)
        if until < at.date():
            raise InvalidCommand(f"customer {self.customer_id!r}: a hold must end on or after {at.date()}")
        if self.hold == Hold(kind, until, reason):
            return False
        self._emit(self.CollectionsHoldPlaced, at, actor, kind=kind, until=until, reason=reason)
        return True

    def release_hold(self, reason: str, *, at: datetime, actor: str) -> bool:
        self._check_reason("release", reason)
        if self.hold is None:
            return False
        self._emit(self.CollectionsHoldReleased, at, actor, reason=reason)
        return True

    def suspend(self, subscription_ids: list[str] | None, reason: str, policy: CollectionsPolicy,
                *, at: datetime, actor: str) -> bool:
        if not reason.strip():
            raise InvalidCommand("a suspension by hand needs a reason")
        self._check_reason("suspension", reason)
        targets = [s for s in self._chosen_subscriptions(subscription_ids) if s not in self.suspensions]
        if not targets:
            return False
        self._emit(
            self.SubscriptionsSuspended, at, actor, subscription_ids=targets, reason=reason, invoice_numbers=[],
            suspended_on=at.date(), deprovision_deadline=policy.deprovision_deadline(at.date()), by_policy=False,
            scope="subscription" if subscription_ids else "account",
        )
        return True

    def reinstate(self, subscription_ids: list[str] | None, reason: str, *, at: datetime, actor: str) -> bool:
        if not reason.strip():
            raise InvalidCommand("a reinstatement by hand needs a reason")
        self._check_reason("reinstatement", reason)
        chosen = self._chosen_subscriptions(subscription_ids) if subscription_ids else sorted(self.suspensions)
        targets = [s for s in chosen if s in self.suspensions]
        if not targets:
            return False
        self._emit(self.SubscriptionsReinstated, at, actor, subscription_ids=targets, reason=reason)
        return True

    def _chosen_subscriptions(self, subscription_ids: list[str] | None) -> list[str]:
        known = self.all_subscription_ids()
        for subscription_id in subscription_ids or ():
            if subscription_id not in known:
                raise UnknownSubscription(self.customer_id, subscription_id)
        return sorted(subscription_ids) if subscription_ids else known

    def _check_reason(self, of: str, reason: str) -> None:
        bounds.check_text(reason, f"customer {self.customer_id!r}: reason for the {of}", bounds.MAX_TEXT_LENGTH)

    # --- closing ---------------------------------------------------------------------

    class Closed(Event):
        def apply(self, account: CustomerAccount) -> None:
            account.closed = True

    def close(self, *, at: datetime, actor: str) -> bool:
        if self.closed:
            return False
        self._emit(self.Closed, at, actor)
        return True


def _check_method_and_reference(where: str, method: str, reference: str) -> None:
    bounds.check_text(method, f"{where}: method")
    bounds.check_text(reference, f"{where}: reference")


def _amounts(pairs) -> list[dict]:
    return [{"invoice_number": number, "amount": amount} for number, amount in pairs]

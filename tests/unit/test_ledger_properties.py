"""Invariants of the ledger under random sequences of commands (hypothesis).

The account aggregate is pure, so the state machine drives it directly, thousands of
commands a run; replaying its events must give the same state. The gap-free invoice
series with writers racing each other is proven on the real store
(tests/integration/test_invoice_numbers_with_writers_racing.py).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.accounts import CustomerAccount
from domain.accounts.invoicing import InvoiceDraft, InvoiceLine
from domain.errors import LedgerError
from domain.policy import CollectionsPolicy

SUBSCRIPTIONS = ["S-1", "S-2", "S-3"]
POLICY = CollectionsPolicy(grace_days=3, reminder_days=(1, 7), suspend_after_days=20,
                           suspend_min_overdue=Decimal("10"), write_off_after_days=90)
ACTOR = "prop@reseller.example"


def owes_overdue(account: CustomerAccount, as_of: date, subscription_id: str | None) -> bool:
    """The rule, written again independently of the domain's code."""
    for invoice in account.invoices.values():
        bills_it = subscription_id is None or subscription_id in invoice.subscription_ids
        overdue = invoice.open_amount > 0 and as_of > invoice.due_date + timedelta(days=POLICY.grace_days)
        if bills_it and (overdue or invoice.written_off > 0):
            return True
    return False


class AccountMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.day = date(2026, 1, 1)
        self.account = CustomerAccount.open("P", "Property", "EUR", 14, Decimal(0), at=self.at(), actor=ACTOR)
        for subscription_id in SUBSCRIPTIONS:
            self.account.add_seat_subscription(subscription_id, "Seats", 1, Decimal(1), self.day, at=self.at(),
                                               actor=ACTOR)
        self.period = date(2026, 1, 1)
        self.next_number = 1
        self.next_id = 1

    def at(self) -> datetime:
        return datetime.combine(self.day, time(9), timezone.utc)

    def new_id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}-{self.next_id}"

    def run(self, command) -> None:
        before = {s.subscription_id for s in self.account.suspensions.values()}
        try:
            command()
        except LedgerError:
            pass  # a refused command must change nothing: checked by the replay invariant
        self.check_new_suspensions_were_due(before)

    def check_new_suspensions_were_due(self, before: set[str]) -> None:
        for subscription_id, suspension in self.account.suspensions.items():
            if subscription_id in before:
                continue
            assert suspension.by_policy
            assert not self.account.on_hold(self.day)
            past = [
                i for i in self.account.invoices.values()
                if i.open_amount and (self.day - i.due_date).days >= POLICY.suspend_after_days
                and (suspension.scope == "account" or subscription_id in i.subscription_ids)
            ]
            assert past, f"{subscription_id} suspended on {self.day} with nothing {POLICY.suspend_after_days} days due"

    @rule(days=st.integers(0, 25))
    def time_passes(self, days):
        self.day += timedelta(days=days)

    @rule(amounts=st.lists(st.integers(0, 30_000), min_size=1, max_size=3))
    def a_month_is_invoiced(self, amounts):
        end = (self.period + timedelta(days=32)).replace(day=1)
        self.day = max(self.day, end)
        lines = tuple(
            InvoiceLine("seats", SUBSCRIPTIONS[n], "Seats", Decimal(1), "seat-days", self.period, end, amount)
            for n, amount in enumerate(amounts)
        )
        draft = InvoiceDraft(lines, sum(amounts), 0, sum(amounts))
        number = f"INV-{self.next_number:06d}"
        self.run(lambda: self.account.issue_invoice(number, draft, self.period, end, at=self.at(), actor=ACTOR))
        self.next_number += 1
        self.period = end

    @rule(amount=st.integers(1, 40_000), name_one=st.booleans())
    def a_payment_arrives(self, amount, name_one):
        named = next(iter(self.account.invoices), None) if name_one else None
        self.run(lambda: self.account.receive_payment(self.new_id("PAY"), amount, "EUR", "card", "", named, POLICY,
                                                      at=self.at(), actor=ACTOR))

    @precondition(lambda self: self.account.payments)
    @rule(data=st.data())
    def a_payment_bounces(self, data):
        payment_id = data.draw(st.sampled_from(sorted(self.account.payments)))
        self.run(lambda: self.account.reverse_payment(payment_id, "bounced", POLICY, at=self.at(), actor=ACTOR))

    @precondition(lambda self: self.account.invoices)
    @rule(data=st.data(), amount=st.integers(1, 20_000))
    def a_credit_note_is_issued(self, data, amount):
        number = data.draw(st.sampled_from(sorted(self.account.invoices)))
        self.run(lambda: self.account.issue_credit_note(self.new_id("CN"), number, amount, "goodwill", POLICY,
                                                        at=self.at(), actor=ACTOR))

    @rule(amount=st.integers(1, 20_000))
    def credit_is_refunded(self, amount):
        self.run(lambda: self.account.refund(self.new_id("REF"), amount, "transfer", "", at=self.at(), actor=ACTOR))

    @rule()
    def collections_run(self):
        self.run(lambda: self.account.collect(POLICY, at=self.at(), actor=ACTOR))

    @rule(days=st.integers(0, 30))
    def a_hold_is_placed(self, days):
        self.run(lambda: self.account.place_hold("promise-to-pay", self.day + timedelta(days=days), "promised",
                                                 at=self.at(), actor=ACTOR))

    @invariant()
    def balance_is_what_was_invoiced_less_credits_and_payments_plus_reversals_and_refunds(self):
        t = self.account.totals
        expected = t["invoiced"] - t["credited"] - t["written_off"] - t["paid"] + t["reversed"] + t["refunded"]
        assert self.account.balance == expected

    @invariant()
    def nothing_settles_more_than_an_invoice_or_a_payment_holds(self):
        for invoice in self.account.invoices.values():
            assert 0 <= invoice.open_amount <= invoice.total
        for payment in self.account.payments.values():
            assert sum(a.amount for a in payment.allocations) + payment.to_credit_balance == payment.amount

    @invariant()
    def a_policy_suspension_lasts_exactly_while_something_it_owes_is_overdue(self):
        last = self.account.pending_events[-1] if self.account.pending_events else None
        if type(last).__name__ not in ("PaymentReceived", "CreditNoteIssued", "SubscriptionsReinstated"):
            return  # reinstatement is checked right after what can clear a debt
        for s in self.account.suspensions.values():
            if s.by_policy:
                subject = None if s.scope == "account" else s.subscription_id
                assert owes_overdue(self.account, self.day, subject), f"{s.subscription_id} should be reinstated"

    @invariant()
    def replaying_the_events_gives_the_same_account(self):
        replayed = None
        for event in self.account.pending_events:
            replayed = event.mutate(replayed)
        assert replayed.balance == self.account.balance
        assert replayed.invoices == self.account.invoices
        assert replayed.suspensions == self.account.suspensions


AccountMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestAccountInvariants = AccountMachine.TestCase

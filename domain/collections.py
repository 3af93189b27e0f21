"""Collections of an account: reminders, suspension for non-payment, reinstatement, holds.

Part of CustomerAccount (see account.py). The policy comes in as an argument; business
time comes in as `at`, and "today" for the policy is `at`'s date.

Rules:
- an invoice is overdue once its due date plus the policy's grace days has passed;
- access is suspended when an open invoice is `suspend_after_days` past due and the
  overdue total reaches the policy's minimum; per subscription (those the overdue
  invoices bill) or the whole account, as the policy says;
- a suspension by the policy is lifted, at once, when nothing the subscription (or,
  for an account-wide suspension, the account) owes is overdue any more. A written-off
  invoice is still owed: it keeps its subscriptions suspended.
- a hold (a promise to pay, a dispute) pauses reminders and suspension until its end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from domain import bounds
from domain.account_event import AccountEvent
from domain.errors import InvalidCommand, UnknownSubscription
from domain.money import to_minor_units
from domain.policy import CollectionsPolicy

HOLD_KINDS = ("promise-to-pay", "dispute")


@dataclass(frozen=True)
class Suspension:
    subscription_id: str
    since: date
    reason: str
    invoice_numbers: tuple[str, ...]
    deprovision_deadline: date
    by_policy: bool
    scope: str
    warned: bool = False


@dataclass(frozen=True)
class Hold:
    kind: str
    until: date
    reason: str


class Collections:
    def __init__(self):
        self.suspensions: dict[str, Suspension] = {}
        self.hold: Hold | None = None

    def on_hold(self, as_of: date) -> bool:
        return self.hold is not None and as_of <= self.hold.until

    def days_past_due(self, due_date: date, as_of: date) -> int:
        return (as_of - due_date).days

    def owes_overdue(self, policy: CollectionsPolicy, as_of: date, subscription_id: str | None = None) -> bool:
        """Whether anything the subscription (None: the account) owes is overdue on that day."""
        return any(
            (invoice.written_off or (invoice.open_amount and policy.is_overdue(invoice.due_date, as_of)))
            and (subscription_id is None or subscription_id in invoice.subscription_ids)
            for invoice in self.invoices.values()
        )

    # --- the policy run ------------------------------------------------------------------

    def collect(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        """Emit what the policy says is due on `at`'s date; running it twice emits nothing more."""
        as_of = at.date()
        if self.hold is not None and as_of > self.hold.until:
            self._emit(self.CollectionsHoldReleased, at, actor, reason=f"hold ended on {self.hold.until}")
        for invoice in list(self.open_invoices()):
            if self.days_past_due(invoice.due_date, as_of) >= policy.write_off_after_days:
                self.write_off(invoice.number, f"{policy.write_off_after_days} days past due", at=at, actor=actor)
        if not self.on_hold(as_of):
            self._send_reminders(policy, as_of, at, actor)
            self.suspend_by_policy(policy, at=at, actor=actor)
        self._warn_before_deprovisioning(policy, as_of, at, actor)

    class ReminderSent(AccountEvent):
        invoice_number: str
        step: int
        days_past_due: int

        def apply(self, account) -> None:
            account._change_invoice(self.invoice_number, reminder_step=self.step)

    def _send_reminders(self, policy: CollectionsPolicy, as_of: date, at: datetime, actor: str) -> None:
        for invoice in self.open_invoices():
            if not policy.is_overdue(invoice.due_date, as_of):
                continue
            days = self.days_past_due(invoice.due_date, as_of)
            due_steps = [n for n, day in enumerate(policy.reminder_days, 1) if days >= policy.grace_days + day]
            # Only the latest step due is sent: a run that was missed does not send three at once.
            if due_steps and due_steps[-1] > invoice.reminder_step:
                self._emit(self.ReminderSent, at, actor, invoice_number=invoice.number, step=due_steps[-1],
                           days_past_due=days)

    class SubscriptionsSuspended(AccountEvent):
        subscription_ids: list
        reason: str
        invoice_numbers: list
        suspended_on: date
        deprovision_deadline: date
        by_policy: bool
        scope: str

        def apply(self, account) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions[subscription_id] = Suspension(
                    subscription_id, self.suspended_on, self.reason, tuple(self.invoice_numbers),
                    self.deprovision_deadline, self.by_policy, self.scope,
                )

    def suspend_by_policy(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        as_of = at.date()
        if self.on_hold(as_of):
            return
        overdue = [i for i in self.open_invoices() if policy.is_overdue(i.due_date, as_of)]
        past_suspension = [i for i in overdue if self.days_past_due(i.due_date, as_of) >= policy.suspend_after_days]
        overdue_total = sum(i.open_amount for i in overdue)
        if not past_suspension or overdue_total < to_minor_units(policy.suspend_min_overdue, self.currency):
            return
        traced = sorted({s for i in past_suspension for s in i.subscription_ids})
        scope = policy.scope if traced else "account"
        targets = self.all_subscription_ids() if scope == "account" else traced
        targets = [s for s in targets if s not in self.suspensions]
        if targets:
            oldest = min(past_suspension, key=lambda i: i.due_date)
            self._emit(
                self.SubscriptionsSuspended, at, actor, subscription_ids=targets,
                reason=f"invoice {oldest.number} is {self.days_past_due(oldest.due_date, as_of)} days past due",
                invoice_numbers=sorted(i.number for i in past_suspension), suspended_on=as_of,
                deprovision_deadline=policy.deprovision_deadline(as_of), by_policy=True, scope=scope,
            )

    class SubscriptionsReinstated(AccountEvent):
        subscription_ids: list
        reason: str

        def apply(self, account) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions.pop(subscription_id, None)

    def reinstate_cleared(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> None:
        """Lift, at once, each policy suspension whose overdue debt is cleared."""
        as_of = at.date()
        cleared = [
            s.subscription_id
            for s in self.suspensions.values()
            if s.by_policy and not self.owes_overdue(policy, as_of, None if s.scope == "account" else s.subscription_id)
        ]
        if cleared:
            self._emit(self.SubscriptionsReinstated, at, actor, subscription_ids=sorted(cleared),
                       reason="nothing overdue any more")

    class DeprovisioningWarningSent(AccountEvent):
        subscription_ids: list
        deprovision_deadline: date

        def apply(self, account) -> None:
            for subscription_id in self.subscription_ids:
                account.suspensions[subscription_id] = replace(account.suspensions[subscription_id], warned=True)

    def _warn_before_deprovisioning(self, policy: CollectionsPolicy, as_of: date, at: datetime, actor: str) -> None:
        by_deadline: dict[date, list[str]] = {}
        for s in self.suspensions.values():
            if not s.warned and (s.deprovision_deadline - as_of).days <= policy.warn_days_before_deprovision:
                by_deadline.setdefault(s.deprovision_deadline, []).append(s.subscription_id)
        for deadline, subscription_ids in sorted(by_deadline.items()):
            self._emit(self.DeprovisioningWarningSent, at, actor, subscription_ids=sorted(subscription_ids),
                       deprovision_deadline=deadline)

    # --- by hand ---------------------------------------------------------------------------

    class CollectionsHoldPlaced(AccountEvent):
        kind: str
        until: date
        reason: str

        def apply(self, account) -> None:
            account.hold = Hold(self.kind, self.until, self.reason)

    class CollectionsHoldReleased(AccountEvent):
        reason: str

        def apply(self, account) -> None:
            account.hold = None

    def place_hold(self, kind: str, until: date, reason: str, *, at: datetime, actor: str) -> bool:
        if kind not in HOLD_KINDS:
            raise InvalidCommand(f"a collections hold is one of {', '.join(HOLD_KINDS)}, not {kind!r}")
        bounds.check_business_day(until, f"customer {self.customer_id!r}: hold until")
        _check_reason(self.customer_id, "hold", reason)
        if until < at.date():
            raise InvalidCommand(f"customer {self.customer_id!r}: a hold must end on or after {at.date()}")
        if self.hold == Hold(kind, until, reason):
            return False
        self._emit(self.CollectionsHoldPlaced, at, actor, kind=kind, until=until, reason=reason)
        return True

    def release_hold(self, reason: str, *, at: datetime, actor: str) -> bool:
        _check_reason(self.customer_id, "release", reason)
        if self.hold is None:
            return False
        self._emit(self.CollectionsHoldReleased, at, actor, reason=reason)
        return True

    def _chosen_subscriptions(self, subscription_ids: list[str] | None) -> list[str]:
        known = self.all_subscription_ids()
        for subscription_id in subscription_ids or ():
            if subscription_id not in known:
                raise UnknownSubscription(self.customer_id, subscription_id)
        return sorted(subscription_ids) if subscription_ids else known

    def suspend(self, subscription_ids: list[str] | None, reason: str, policy: CollectionsPolicy,
                *, at: datetime, actor: str) -> bool:
        if not reason.strip():
            raise InvalidCommand("a suspension by hand needs a reason")
        _check_reason(self.customer_id, "suspension", reason)
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
        _check_reason(self.customer_id, "reinstatement", reason)
        chosen = self._chosen_subscriptions(subscription_ids) if subscription_ids else sorted(self.suspensions)
        targets = [s for s in chosen if s in self.suspensions]
        if not targets:
            return False
        self._emit(self.SubscriptionsReinstated, at, actor, subscription_ids=targets, reason=reason)
        return True


def _check_reason(customer_id: str, of: str, reason: str) -> None:
    bounds.check_text(reason, f"customer {customer_id!r}: reason for the {of}", bounds.MAX_TEXT_LENGTH)

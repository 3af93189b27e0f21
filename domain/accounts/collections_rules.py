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

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from domain import bounds
from domain.account_event import AccountEvent
from domain.errors import InvalidCommand, UnknownSubscription
from domain.money import to_minor_units
from domain.policy import CollectionsPolicy
from domain.receivables import InvoiceState

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


# --- the rules, as pure functions: the policy run below uses them, and the collections view
# restates them in SQL (projections/collections.sql), pinned by one table of cases
# (tests/test_rules_domain_and_sql_agree.py).


def overdue(invoices: Iterable[InvoiceState], policy: CollectionsPolicy, as_of: date) -> list[InvoiceState]:
    """The invoices overdue on that day: something is open, and the due date plus the policy's
    grace days has passed."""
    return [i for i in invoices if i.open_amount > 0 and policy.is_overdue(i.due_date, as_of)]


def suspension_targets(
    policy: CollectionsPolicy, behind: Iterable[InvoiceState], suspended: Collection[str], subscription_ids: list[str]
) -> tuple[str, list[str]]:
    """The scope and the subscriptions a suspension for these invoices takes: those they bill
    (or every subscription of the account, `subscription_ids`, when the policy's scope is the
    account or they bill none), less those already suspended."""
    traced = sorted({s for i in behind for s in i.subscription_ids})
    scope = policy.scope if traced else "account"
    targets = subscription_ids if scope == "account" else traced
    return scope, [s for s in targets if s not in suspended]


@dataclass(frozen=True)
class NextAction:
    action: str  # "reminder 2 for invoice INV-000007", "suspension for invoice ...", ...
    due_on: date  # before the day asked about: the step is due, and the next run takes it


HOLD_END = "end of the hold: reminders and suspension resume"


def next_action(
    policy: CollectionsPolicy, as_of: date, invoices: Iterable[InvoiceState], suspensions: Iterable[Suspension],
    hold: Hold | None, subscription_ids: list[str],
) -> NextAction | None:
    """What the policy does next for an account, as of that day: the earliest of its steps,
    each on the day `collect` takes it (ties: the hold's end, reminders, suspensions,
    write-offs, warnings, then by name). It does not weigh `suspend_min_overdue`: whether
    enough is overdue for a suspension is known only on its day."""
    resumes_on = hold.until + timedelta(days=1) if hold is not None and hold.until >= as_of else None

    def after_hold(day: date) -> date:  # reminders and suspension wait for the hold's end
        return max(day, resumes_on) if resumes_on else day

    steps = [(resumes_on, 0, HOLD_END)] if resumes_on else []
    suspensions = list(suspensions)
    suspended = {s.subscription_id for s in suspensions}
    for invoice in (i for i in invoices if i.open_amount > 0):
        # the step the next run sends: the latest one due by then, else the one after those sent
        step = policy.latest_reminder_due(invoice.due_date, invoice.reminder_step, resumes_on or as_of)
        if step is None and invoice.reminder_step < len(policy.reminder_days):
            step = invoice.reminder_step + 1
        if step is not None:
            day = after_hold(policy.reminder_day(invoice.due_date, step))
            steps.append((day, 1, f"reminder {step} for invoice {invoice.number}"))
        if suspension_targets(policy, [invoice], suspended, subscription_ids)[1]:
            day = after_hold(policy.suspension_day(invoice.due_date))
            steps.append((day, 2, f"suspension for invoice {invoice.number}"))
        steps.append((policy.write_off_day(invoice.due_date), 3, f"write-off of invoice {invoice.number}"))
    for s in suspensions:
        if not s.warned:
            steps.append((policy.warning_day(s.deprovision_deadline), 4, f"de-provisioning warning for {s.subscription_id}"))
    if not steps:
        return None
    day, _, action = min(steps)
    return NextAction(action, day)


class Collections:
    def __init__(self):
        self.suspensions: dict[str, Suspension] = {}
        self.hold: Hold | None = None

    def on_hold(self, as_of: date) -> bool:
        return self.hold is not None and as_of <= self.hold.until

    def days_past_due(self, due_date: date, as_of: date) -> int:
        return (as_of - due_date).days

    def next_action(self, policy: CollectionsPolicy, as_of: date) -> NextAction | None:
        return next_action(policy, as_of, self.invoices.values(), self.suspensions.values(), self.hold,
                           self.all_subscription_ids())

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
            if as_of >= policy.write_off_day(invoice.due_date):
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
        for invoice in overdue(self.open_invoices(), policy, as_of):
            step = policy.latest_reminder_due(invoice.due_date, invoice.reminder_step, as_of)
            if step is not None:
                self._emit(self.ReminderSent, at, actor, invoice_number=invoice.number, step=step,
                           days_past_due=self.days_past_due(invoice.due_date, as_of))

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
        overdue_now = overdue(self.open_invoices(), policy, as_of)
        past_suspension = [i for i in overdue_now if as_of >= policy.suspension_day(i.due_date)]
        overdue_total = sum(i.open_amount for i in overdue_now)
        if not past_suspension or overdue_total < to_minor_units(policy.suspend_min_overdue, self.currency):
            return
        scope, targets = suspension_targets(policy, past_suspension, self.suspensions, self.all_subscription_ids())
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
            if not s.warned and as_of >= policy.warning_day(s.deprovision_deadline):
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

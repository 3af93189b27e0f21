"""The collections rules of an account: reminders, suspension for non-payment, reinstatement,
holds. Pure functions of the account's invoices and suspensions: the account's collections
commands (aggregate.py) call them and record what they decide; the collections view restates
some in SQL (projections/collections.sql), pinned by one table of cases
(tests/integration/test_rules_domain_and_sql_agree.py).

The policy comes in as an argument; "today" for the policy is the business time's date.

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
from dataclasses import dataclass
from datetime import date, timedelta

from domain.accounts.receivables import InvoiceState
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


def days_past_due(due_date: date, as_of: date) -> int:
    return (as_of - due_date).days


def owed_overdue(
    invoices: Iterable[InvoiceState], policy: CollectionsPolicy, as_of: date, subscription_id: str | None = None
) -> list[InvoiceState]:
    """What the subscription (None: the account) owes that is overdue on that day: what keeps
    it suspended. A written-off invoice is still owed."""
    return [
        invoice for invoice in invoices
        if (invoice.written_off or (invoice.open_amount and policy.is_overdue(invoice.due_date, as_of)))
        and (subscription_id is None or subscription_id in invoice.subscription_ids)
    ]


def owes_overdue(
    invoices: Iterable[InvoiceState], policy: CollectionsPolicy, as_of: date, subscription_id: str | None = None
) -> bool:
    """Whether anything the subscription (None: the account) owes is overdue on that day."""
    return bool(owed_overdue(invoices, policy, as_of, subscription_id))


def reminders_due(invoices: Iterable[InvoiceState], policy: CollectionsPolicy, as_of: date) -> list[tuple[InvoiceState, int]]:
    """Each overdue invoice with the reminder step due for it on that day, if any."""
    due = []
    for invoice in overdue(invoices, policy, as_of):
        step = policy.latest_reminder_due(invoice.due_date, invoice.reminder_step, as_of)
        if step is not None:
            due.append((invoice, step))
    return due


@dataclass(frozen=True)
class SuspensionDue:
    scope: str
    subscription_ids: list[str]
    invoices: list[InvoiceState]  # those past their suspension day

    @property
    def oldest(self) -> InvoiceState:
        return min(self.invoices, key=lambda i: i.due_date)


def suspension_due(
    invoices: Iterable[InvoiceState], policy: CollectionsPolicy, as_of: date, currency: str,
    suspended: Collection[str], subscription_ids: list[str],
) -> SuspensionDue | None:
    """The suspension the policy takes on that day: when an open invoice is past its suspension
    day and the overdue total reaches the policy's minimum; None when there is none to take."""
    overdue_now = overdue(invoices, policy, as_of)
    past_suspension = [i for i in overdue_now if as_of >= policy.suspension_day(i.due_date)]
    overdue_total = sum(i.open_amount for i in overdue_now)
    if not past_suspension or overdue_total < to_minor_units(policy.suspend_min_overdue, currency):
        return None
    scope, targets = suspension_targets(policy, past_suspension, suspended, subscription_ids)
    return SuspensionDue(scope, targets, past_suspension) if targets else None


def cleared_suspensions(
    suspensions: Iterable[Suspension], invoices: Collection[InvoiceState], policy: CollectionsPolicy, as_of: date
) -> list[str]:
    """The policy suspensions whose overdue debt is cleared: they are lifted at once."""
    return sorted(
        s.subscription_id
        for s in suspensions
        if s.by_policy and not owes_overdue(invoices, policy, as_of, None if s.scope == "account" else s.subscription_id)
    )


def warnings_due(suspensions: Iterable[Suspension], policy: CollectionsPolicy, as_of: date) -> dict[date, list[str]]:
    """The suspended subscriptions to warn of de-provisioning on that day, by deadline."""
    by_deadline: dict[date, list[str]] = {}
    for s in suspensions:
        if not s.warned and as_of >= policy.warning_day(s.deprovision_deadline):
            by_deadline.setdefault(s.deprovision_deadline, []).append(s.subscription_id)
    return {deadline: sorted(ids) for deadline, ids in sorted(by_deadline.items())}

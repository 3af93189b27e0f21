"""The support view in plain words: the sentences a helpdesk agent reads out to a customer.

One module, pure (no database, no clock: `today` and the facts come in), so that every
sentence has a unit test (tests/unit/test_console_explanations.py). The facts are the
views' rows as they are read (amounts in integer minor units, dates as dates), and for
what follows a hold, what the domain's own collections run would do (service/console/preview.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.money import format_minor_units

# The reason the domain gives when a payment or credit note clears what kept a policy
# suspension (domain/collections.py, reinstate_cleared): the policy lifted it, not the clerk.
CLEARED_REASON = "nothing overdue any more"
# Events the collections policy emits on its own during a run.
POLICY_EVENTS = frozenset({"ReminderSent", "DeprovisioningWarningSent"})


def money(minor: int, currency: str) -> str:
    return format_minor_units(minor, currency)


def day(value: date | str, today: date) -> str:
    """17 March (the year only when it is not this year's)."""
    value = date.fromisoformat(value) if isinstance(value, str) else value
    text = f"{value.day} {value:%B}"
    return text if value.year == today.year else f"{text} {value.year}"


def moment(value: datetime | str, time_zone: str) -> str:
    """A time in the staff member's zone: 2026-11-14 09:00 CET."""
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = value.astimezone(ZoneInfo(time_zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


# --- balance -------------------------------------------------------------------------------

def balance(amount: int, currency: str) -> str:
    """A negative balance is credit in the customer's favour, never "owes -30.00"."""
    if amount > 0:
        return f"owes {money(amount, currency)}"
    if amount < 0:
        return f"{money(-amount, currency)} in credit, in the customer's favour"
    return "owes nothing"


# --- suspensions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Invoice:
    number: str
    amount_open: int
    days_past_due: int = 0
    written_off: int = 0
    written_off_on: date | None = None


@dataclass(frozen=True)
class Reversal:
    """A reversed payment that had settled some of an invoice (the view's last payments)."""

    payment_id: str
    reversed_on: date
    reason: str
    settled: tuple[str, ...]  # the invoice numbers it had settled


@dataclass(frozen=True)
class Suspension:
    subscription_ids: tuple[str, ...]
    since: date
    reason: str
    by_policy: bool
    invoice_numbers: tuple[str, ...]
    deprovision_deadline: date


def suspension(s: Suspension, invoices: dict[str, Invoice], reversals: Iterable[Reversal], currency: str,
               today: date, to_pay: Sequence[Invoice] | None = None) -> str:
    """Why these subscriptions are suspended, how it ends, and what the vendor does meanwhile.
    `to_pay`: what keeps them suspended now (the overdue invoices they owe), when it is more
    than the invoices the suspension was for."""
    what = _and(s.subscription_ids)
    deadline = f"the vendor de-provisions on {day(s.deprovision_deadline, today)}"
    if not s.by_policy:
        return (f"{what} suspended by hand since {day(s.since, today)}: {s.reason}; reinstated only by hand; "
                f"{deadline}")
    behind = [invoices[n] for n in s.invoice_numbers if n in invoices]
    written_off = [i for i in behind if i.written_off and not i.amount_open]
    if written_off:
        told = _and([f"{i.number} was written off on {day(i.written_off_on, today)}" if i.written_off_on
                     else f"{i.number} was written off" for i in written_off])
        return (f"{told}; it is still owed ({money(sum(i.written_off for i in written_off), currency)}), "
                f"so {what} stays suspended until it is paid; {deadline}")
    open_ = [i for i in behind if i.amount_open] or behind
    because = _and([f"{i.number} ({money(i.amount_open, currency)}) is {_days(i.days_past_due)} past due"
                    for i in open_]) if open_ else s.reason
    charge_backs = [r for r in reversals if set(r.settled) & set(s.invoice_numbers)]
    reopened = "".join(
        f"; payment {r.payment_id} had paid it, but was reversed on {day(r.reversed_on, today)} ({r.reason})"
        for r in charge_backs
    )
    if to_pay and {i.number for i in to_pay} - {i.number for i in open_}:
        owed = (f"{_and([i.number for i in to_pay])} ({money(sum(i.amount_open for i in to_pay), currency)}) "
                f"{'is' if len(to_pay) == 1 else 'are'}")
    else:
        owed = "it is" if len(open_) <= 1 else "they are"
    return (f"{what} suspended since {day(s.since, today)} because {because}{reopened}; "
            f"reinstated as soon as {owed} paid; {deadline}")


# --- holds -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AfterHold:
    """What the domain's collections run would emit on the day after the hold ends."""

    events: tuple[str, ...]
    invoice_numbers: tuple[str, ...]


def hold(kind: str, until: date, reason: str, after: AfterHold | None, today: date) -> str:
    """A hold, and what follows it unless the customer pays: the agent warns of it now."""
    text = f"collections on hold ({kind}) until {day(until, today)}: {reason}"
    next_day = date.fromordinal(until.toordinal() + 1)
    unless = f" unless {_and(after.invoice_numbers)} {'is' if len(after.invoice_numbers) == 1 else 'are'} paid" \
        if after and after.invoice_numbers else ""
    if after is None or not (set(after.events) - {"CollectionsHoldReleased"}):
        return f"{text}; the hold ends on {day(until, today)} and nothing is due after it"
    if "SubscriptionsSuspended" in after.events:
        follows = f"the account is suspended on {day(next_day, today)}{unless}"
    elif "InvoiceWrittenOff" in after.events:
        follows = f"the invoice is written off on {day(next_day, today)}{unless}"
    elif "ReminderSent" in after.events:
        follows = f"a reminder goes out on {day(next_day, today)}{unless}"
    else:
        follows = f"the collections policy acts again on {day(next_day, today)}"
    return f"{text}; the hold ends on {day(until, today)}; {follows}"


# --- who did it ---------------------------------------------------------------------------

def acted_by(event_type: str, sentence: str, actor: str) -> str:
    """What the policy did is the policy's act; the person who ran the run or recorded the
    payment that triggered it is named as such, not as its author."""
    by_policy = (
        event_type in POLICY_EVENTS
        or (event_type == "SubscriptionsSuspended" and not sentence.startswith("Suspended by hand"))
        or (event_type == "SubscriptionsReinstated" and sentence.endswith(CLEARED_REASON))
    )
    if not by_policy:
        return f"by {actor}"
    if event_type == "SubscriptionsReinstated":
        return f"by the collections policy (after a change recorded by {actor})"
    return f"by the collections policy (run by {actor})"


# --- refusals ------------------------------------------------------------------------------

def credit_note_exceeds_open(credit_note_id: str, amount: int, invoice_number: str, open_amount: int,
                             currency: str) -> str:
    """A refusal in money shows money."""
    return (f"credit note {credit_note_id}: {money(amount, currency)} is more than invoice {invoice_number} "
            f"still has open ({money(open_amount, currency)})")


def refund_exceeds_credit(refund_id: str, amount: int, credit_balance: int, currency: str) -> str:
    return (f"refund {refund_id}: {money(amount, currency)} is more than the credit balance "
            f"({money(credit_balance, currency)})")

"""A customer's billing events in plain language, for the support view's timeline.

`sentence(event_type, event)` is pure: it returns the sentence as parts, text and
`Money` (integer minor units), because several events carry no currency; the writer
renders the money in the customer's currency. Decimals are shown without the trailing
zeros Avro's fixed scales add, so a sentence reads the same from Kafka and from the store.
Usage events are not in the timeline (they are thousands a month; invoices sum them up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from domain.money import format_minor_units, without_trailing_zeros

Event = dict[str, Any]


@dataclass(frozen=True)
class Money:
    minor: int


Parts = list[str | Money]


def render(parts: Parts, currency: str | None) -> str:
    """The sentence with its amounts in the currency (in minor units if none is known)."""
    return "".join(
        p if isinstance(p, str) else format_minor_units(p.minor, currency) if currency else f"{p.minor} minor units"
        for p in parts
    )


def _n(value: Decimal) -> str:
    return str(without_trailing_zeros(value))


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _list(items) -> str:
    return ", ".join(items)


def _opened(e: Event) -> Parts:
    return [f"Account opened for {e['name']}, billed in {e['currency']}, "
            f"payment terms {e['payment_terms_days']} days, tax {_n(e['tax_rate'])}%"]


def _profile(e: Event) -> Parts:
    return [f"Billing profile changed: name {e['name']}, payment terms {e['payment_terms_days']} days, "
            f"tax {_n(e['tax_rate'])}%"]


def _metered(e: Event) -> Parts:
    markup = e["markup_percent"]
    price = f"{_n(e['unit_price'])} per {e['unit']}"
    if markup:
        price += f" {'plus' if markup > 0 else 'less'} {_n(abs(markup))}%"
    return [f"Metered subscription {e['subscription_id']} added: {e['product']} ({e['meter']}) at {price}"]


def _invoice(e: Event) -> Parts:
    last_day = e["period_end"] - timedelta(days=1)
    return [f"Invoice {e['invoice_number']} issued for {e['period_start']} to {last_day}: ", Money(e["total"]),
            f", due on {e['due_date']}"]


def _payment(e: Event) -> Parts:
    parts: Parts = [f"Payment {e['payment_id']} of ", Money(e["amount"]), f" received by {e['method']}"]
    if e["reference"]:
        parts.append(f" (reference {e['reference']})")
    for n, allocation in enumerate(e["allocations"]):
        parts += ["; settled " if n == 0 else ", ", Money(allocation["amount"]), f" of {allocation['invoice_number']}"]
    if e["to_credit_balance"]:
        parts += ["; ", Money(e["to_credit_balance"]), " to the credit balance"]
    return parts


def _reversal(e: Event) -> Parts:
    parts: Parts = [f"Payment {e['payment_id']} of ", Money(e["amount"]), f" reversed: {e['reason']}"]
    for n, item in enumerate(e["reopened"]):
        parts += ["; owed again: " if n == 0 else ", ", Money(item["amount"]), f" of {item['invoice_number']}"]
    return parts


def _suspended(e: Event) -> Parts:
    how = "" if e["by_policy"] else " by hand"
    return [f"Suspended{how}: {_list(e['subscription_ids'])}: {e['reason']}; "
            f"the vendor de-provisions on {e['deprovision_deadline']}"]


def _escalated(e: Event) -> Parts:
    ticket = f", vendor ticket {e['vendor_ticket']}" if e["vendor_ticket"] else ""
    return [f"Support case {e['case_id']} escalated to {e['destination']} ({e['support_plan']}{ticket})"]


SENTENCES: dict[str, Callable[[Event], Parts]] = {
    "AccountOpened": _opened,
    "AccountProfileChanged": _profile,
    "AccountClosed": lambda e: ["Account closed"],
    "CollectionsPolicyAssigned": lambda e: [f"Collections policy set to {e['policy_name']}"],
    "MeteredSubscriptionAdded": _metered,
    "SeatSubscriptionAdded": lambda e: [
        f"Subscription {e['subscription_id']} added: {e['seats']} seats of {e['product']} at "
        f"{_n(e['price_per_seat'])} a seat a month from {e['starts_on']}"],
    "SeatsChanged": lambda e: [f"Subscription {e['subscription_id']} changed to {e['seats']} seats from {e['effective_on']}"],
    "InvoiceIssued": _invoice,
    "CreditBalanceApplied": lambda e: ["Credit balance of ", Money(e["amount"]), f" applied to {e['invoice_number']}"],
    "PaymentReceived": _payment,
    "PaymentReversed": _reversal,
    "Refunded": lambda e: [f"Refund {e['refund_id']} of ", Money(e["amount"]), f" paid by {e['method']}"],
    "CreditNoteIssued": lambda e: [f"Credit note {e['credit_note_id']} of ", Money(e["amount"]),
                                   f" on {e['invoice_number']}: {e['reason']}"],
    "InvoiceWrittenOff": lambda e: [f"Invoice {e['invoice_number']} written off (", Money(e["amount"]), f"): {e['reason']}"],
    "ReminderSent": lambda e: [f"Reminder {e['step']} sent for {e['invoice_number']}, {_days(e['days_past_due'])} past due"],
    "SubscriptionsSuspended": _suspended,
    "SubscriptionsReinstated": lambda e: [f"Reinstated: {_list(e['subscription_ids'])}: {e['reason']}"],
    "DeprovisioningWarningSent": lambda e: [
        f"Warned that {_list(e['subscription_ids'])} will be de-provisioned on {e['deprovision_deadline']}"],
    "CollectionsHoldPlaced": lambda e: [f"Collections on hold ({e['kind']}) until {e['until']}: {e['reason']}"],
    "CollectionsHoldReleased": lambda e: [f"Collections hold ended: {e['reason']}"],
    "SupportCaseOpened": lambda e: [
        f"Support case {e['case_id']} opened ({e['category']}): {e['subject']}"
        + (f"; about {_list(e['about'])}" if e["about"] else "")],
    "SupportCaseNoteAdded": lambda e: [f"Note on support case {e['case_id']}: {e['note']}"],
    "SupportCaseEscalated": _escalated,
    "SupportCaseResolved": lambda e: [f"Support case {e['case_id']} resolved: {e['resolution']}"],
    "SupportCaseReopened": lambda e: [f"Support case {e['case_id']} reopened: {e['reason']}"],
}


def sentence(event_type: str, event: Event) -> Parts:
    return SENTENCES[event_type](event)

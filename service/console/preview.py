"""What a collections run would do, without doing it: the domain's own `collect` run on
each account as the store holds it, and its pending events read instead of saved.

No rule is written twice: a preview is exactly what `POST /v1/collections/runs` would emit
on that day for each account it shows (unless another command changes an account in
between). Which accounts it shows, a page at a time, comes from the read models
(service/console/reads.py, collections_candidates): those the run could act on at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from domain.roles import Permission

# An event of the run, as the preview names it.
WORDS = {
    "ReminderSent": "reminder",
    "SubscriptionsSuspended": "suspension",
    "DeprovisioningWarningSent": "de-provisioning warning",
    "InvoiceWrittenOff": "write-off",
    "CollectionsHoldReleased": "end of hold",
}


PLURALS = {"end of hold": "ends of holds"}  # the others take an s


def actions_in_words(actions: dict[str, int]) -> str:
    """A run's summary of events per type, as the preview names them: "2 reminders, 1 write-off"."""
    def named(kind: str, n: int) -> str:
        word = WORDS.get(kind, kind)
        return word if n == 1 else PLURALS.get(word, word + "s")

    return ", ".join(f"{n} {named(kind, n)}" for kind, n in sorted(actions.items()))


@dataclass(frozen=True)
class Planned:
    customer_id: str
    event_type: str
    invoice_numbers: tuple[str, ...]
    subscription_ids: tuple[str, ...]

    @property
    def what(self) -> str:
        return WORDS.get(self.event_type, self.event_type)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def account_plan(ledger, customer_id: str, day: date, actor: str, account=None, book=None) -> list[Planned]:
    """The events the run of `day` would emit for one account (never saved); `account` and
    `book`, when given, as the store holds them (a page reads its accounts at once)."""
    account = account or ledger.get_account(customer_id)
    book = book or ledger.policy_book()
    account.collect(book.policy(account.policy_name), at=start_of(day), actor=actor)
    return [_planned(customer_id, event) for event in account.collect_events()]


def run_plan(ledger, day: date, actor: str, customer_ids: list[str]) -> list[Planned]:
    """These accounts' plans for `day`; refused like the run itself to whom may not run it.
    The accounts are read as the collections run reads a batch (one query per kind, not a
    load per account) and the policy book once."""
    ledger.authorize(actor, Permission.RUN_COLLECTIONS)
    book = ledger.policy_book()
    stored = ledger.index.accounts(customer_ids)
    return [p for customer_id in customer_ids
            for p in account_plan(ledger, customer_id, day, actor, stored.get(customer_id), book)]


def _planned(customer_id: str, event) -> Planned:
    numbers = getattr(event, "invoice_numbers", None) or [getattr(event, "invoice_number", None)]
    return Planned(customer_id, type(event).__name__, tuple(n for n in numbers if n),
                   tuple(getattr(event, "subscription_ids", ()) or ()))

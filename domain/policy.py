"""The published collections policy: data the billing team reads and changes.

A policy says when reminders go out, when access is suspended for non-payment (per
subscription, or the whole account), when the vendor's de-provisioning deadline is
warned of, and when an unpaid invoice is written off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.errors import InvalidCommand

POLICY_BOOK_ID = uuid5(NAMESPACE_URL, "billing-ledger:collections-policies")
DEFAULT_POLICY = "standard"
SCOPES = ("subscription", "account")


@dataclass(frozen=True)
class CollectionsPolicy:
    name: str = DEFAULT_POLICY
    grace_days: int = 0  # days after the due date before an invoice counts as overdue
    reminder_days: tuple[int, ...] = (1, 7, 14)  # days past due of each reminder step
    suspend_after_days: int = 30  # days past due at which access is suspended...
    suspend_min_overdue: Decimal = Decimal(0)  # ...if at least this much (major units) is overdue
    scope: str = "subscription"  # suspend the subscriptions the overdue invoices bill, or the account
    vendor_deprovision_days: int = 60  # the vendor de-provisions a subscription this long after suspension
    warn_days_before_deprovision: int = 7
    write_off_after_days: int = 120
    resuspend_on_reversal: bool = True  # a bounced payment suspends again at once if overdue enough

    def check_valid(self) -> None:
        bounds.check_id(self.name, "collections policy name")
        where = f"collections policy {self.name!r}"
        if self.scope not in SCOPES:
            raise InvalidCommand(f"{where}: scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        numbers = {
            "grace days": self.grace_days,
            "suspension day": self.suspend_after_days,
            "de-provisioning days": self.vendor_deprovision_days,
            "warning days": self.warn_days_before_deprovision,
            "write-off day": self.write_off_after_days,
        }
        for label, value in numbers.items():
            bounds.check_count(value, f"{where}: {label}", largest=bounds.MAX_DAYS)
        for day in self.reminder_days:
            bounds.check_count(day, f"{where}: reminder day", largest=bounds.MAX_DAYS)
        if list(self.reminder_days) != sorted(set(self.reminder_days)):
            raise InvalidCommand(f"{where}: reminder days must be increasing")
        bounds.check_decimal(self.suspend_min_overdue, bounds.RATE_PLACES, f"{where}: minimum overdue amount")
        if self.write_off_after_days < self.suspend_after_days:
            raise InvalidCommand(f"{where}: write-off cannot come before suspension")

    def is_overdue(self, due_date: date, as_of: date) -> bool:
        return as_of > due_date + timedelta(days=self.grace_days)

    def deprovision_deadline(self, suspended_on: date) -> date:
        return suspended_on + timedelta(days=self.vendor_deprovision_days)

    # The day each step of the policy falls due. A collections run takes a step on or after
    # its day; the collections view names the earliest one ahead (its SQL restates these,
    # pinned by tests/test_rules_domain_and_sql_agree.py).

    def reminder_day(self, due_date: date, step: int) -> date:
        """Reminder `step` (from 1): its days past due after the grace days, and never before
        the invoice is overdue (a step at day 0 waits for the day after due + grace)."""
        return due_date + timedelta(days=self.grace_days + max(self.reminder_days[step - 1], 1))

    def latest_reminder_due(self, due_date: date, sent: int, on: date) -> int | None:
        """The latest reminder step after the `sent` ones that is due on that day: a run that
        was missed sends only it, not every step it missed."""
        steps = range(sent + 1, len(self.reminder_days) + 1)
        return max((n for n in steps if self.reminder_day(due_date, n) <= on), default=None)

    def suspension_day(self, due_date: date) -> date:
        """`suspend_after_days` past due, and never before the invoice is overdue."""
        return due_date + timedelta(days=max(self.suspend_after_days, self.grace_days + 1))

    def write_off_day(self, due_date: date) -> date:
        return due_date + timedelta(days=self.write_off_after_days)

    def warning_day(self, deprovision_deadline: date) -> date:
        return deprovision_deadline - timedelta(days=self.warn_days_before_deprovision)

    def as_terms(self) -> dict:
        terms = asdict(self)
        terms["reminder_days"] = list(self.reminder_days)
        return terms


class PolicyBook(Aggregate):
    """Every published policy by name; the built-in default stands until one is published."""

    class Event(Aggregate.Event):
        actor: str

    class Created(Event, Aggregate.Created):
        pass

    def __init__(self, actor: str):
        self.policies: dict[str, CollectionsPolicy] = {}

    @classmethod
    def create(cls, *, at: datetime, actor: str) -> PolicyBook:
        return cls._create(cls.Created, id=POLICY_BOOK_ID, timestamp=at, actor=actor)

    def policy(self, name: str) -> CollectionsPolicy:
        if name in self.policies:
            return self.policies[name]
        if name == DEFAULT_POLICY:
            return CollectionsPolicy()
        raise InvalidCommand(f"there is no collections policy {name!r}")

    class PolicyPublished(Event):
        name: str
        terms: dict

        def apply(self, book: PolicyBook) -> None:
            terms = dict(self.terms)
            terms["reminder_days"] = tuple(terms["reminder_days"])
            terms["suspend_min_overdue"] = Decimal(str(terms["suspend_min_overdue"]))
            book.policies[self.name] = CollectionsPolicy(**terms)

    def publish(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> bool:
        policy.check_valid()
        bounds.check_business_time(at, f"collections policy {policy.name!r}: business time")
        if self.policies.get(policy.name) == policy:
            return False
        self.trigger_event(self.PolicyPublished, timestamp=at, actor=actor, name=policy.name, terms=policy.as_terms())
        return True

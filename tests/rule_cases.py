"""The table of dated situations that pins each billing rule the SQL views restate to the
domain function that defines it (tests/test_rules_domain_and_sql_agree.py runs every case
through both). Named cases first (docs/rules.md shows them: `python -m tests.rule_cases`),
then the cross product of every boundary, so that no day around a step goes unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import product

from domain.accounts.collections_rules import Hold, Suspension, next_action, overdue
from domain.accounts.receivables import InvoiceState
from domain.policy import CollectionsPolicy

DUE = date(2026, 10, 15)  # every case's first invoice falls due on this day
STANDARD = CollectionsPolicy()
ACCOUNT_WIDE = replace(STANDARD, scope="account")
GRACE = replace(STANDARD, grace_days=3, reminder_days=(0, 5))
LATE_SUSPENSION_IN_GRACE = replace(STANDARD, grace_days=15, suspend_after_days=10, write_off_after_days=20)


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


def invoice(number: str = "A", due: int = 0, total: int = 10_000, open_amount: int | None = None, reminded: int = 0,
            subscriptions: tuple[str, ...] = ("S-vm", "S-365"), credited: int = 0, written_off: int = 0) -> InvoiceState:
    return InvoiceState(number, day(due - 30), day(due), total, total if open_amount is None else open_amount,
                        subscriptions, credited, written_off, reminded)


def suspension(subscription_id: str, since: int, by_policy: bool = True, warned: bool = False,
               policy: CollectionsPolicy = STANDARD) -> Suspension:
    return Suspension(subscription_id, day(since), "test", ("A",) if by_policy else (), policy.deprovision_deadline(day(since)),
                      by_policy, "subscription", warned)


@dataclass(frozen=True)
class Situation:
    """An account on a day: its open and settled invoices, its policy, hold and suspensions."""

    name: str
    as_of: date
    invoices: tuple[InvoiceState, ...] = ()
    policy: CollectionsPolicy = STANDARD
    hold: Hold | None = None
    suspensions: tuple[Suspension, ...] = ()
    subscription_ids: tuple[str, ...] = field(default=("S-365", "S-vm"))

    def overdue_amount(self) -> int:
        return sum(i.open_amount for i in overdue(self.invoices, self.policy, self.as_of))

    def next_action(self) -> tuple[str, date] | None:
        action = next_action(self.policy, self.as_of, self.invoices, self.suspensions, self.hold, list(self.subscription_ids))
        return None if action is None else (action.action, action.due_on)

    def statuses(self) -> dict[str, str]:
        return {i.number: i.status for i in self.invoices}


def hold(until: int) -> Hold:
    return Hold("promise-to-pay", day(until), "pays after budget review")


NAMED: list[Situation] = [
    Situation("nothing is owed", day(10)),
    Situation("open, not due yet", day(-5), (invoice(),)),
    Situation("open, on its due date", day(0), (invoice(),)),
    Situation("open, one day past due", day(1), (invoice(),)),
    Situation("grace 3 days: the day after due + grace", day(4), (invoice(),), GRACE),
    Situation("grace 3 days: on due + grace", day(3), (invoice(),), GRACE),
    Situation("reminder 1 sent, 3 days past due", day(3), (invoice(reminded=1),)),
    Situation("late run: nothing sent, 15 days past due", day(15), (invoice(),)),
    Situation("late run: reminder 1 sent, 20 days past due", day(20), (invoice(reminded=1),)),
    Situation("every reminder sent, 20 days past due", day(20), (invoice(reminded=3),)),
    Situation("hold to day 20, 10 days past due", day(10), (invoice(reminded=1),), hold=hold(20)),
    Situation("hold to today", day(10), (invoice(reminded=1),), hold=hold(10)),
    Situation("hold ended yesterday, not released yet", day(10), (invoice(reminded=1),), hold=hold(9)),
    Situation("hold past the suspension day", day(25), (invoice(reminded=3),), hold=hold(40)),
    Situation("suspension day inside the grace days", day(12), (invoice(reminded=3),), LATE_SUSPENSION_IN_GRACE),
    Situation("one of the two subscriptions suspended", day(31), (invoice(reminded=3),),
              suspensions=(suspension("S-vm", 30),)),
    Situation("both subscriptions suspended, not warned", day(31), (invoice(reminded=3),),
              suspensions=(suspension("S-vm", 30), suspension("S-365", 30))),
    Situation("suspended and warned", day(85), (invoice(reminded=3),),
              suspensions=(suspension("S-vm", 30, warned=True), suspension("S-365", 30, warned=True))),
    Situation("account-wide policy, one subscription suspended by hand", day(31), (invoice(reminded=3),), ACCOUNT_WIDE,
              suspensions=(suspension("S-vm", 5, by_policy=False),)),
    Situation("account-wide policy, everything suspended", day(31), (invoice(reminded=3),), ACCOUNT_WIDE,
              suspensions=(suspension("S-vm", 30), suspension("S-365", 30))),
    Situation("two warnings due on one day", day(84), (invoice(reminded=3, subscriptions=("S-b", "S-B")),),
              suspensions=(suspension("S-b", 30), suspension("S-B", 30)), subscription_ids=("S-B", "S-b")),
    Situation("two invoices: the older one's step comes first", day(3),
              (invoice("A", due=0, reminded=1), invoice("B", due=-2, reminded=1))),
    Situation("two invoices due the same day", day(1), (invoice("B"), invoice("A"))),
    Situation("paid in part", day(5), (invoice(open_amount=2_500),)),
    Situation("paid", day(5), (invoice(open_amount=0),)),
    Situation("a zero invoice", day(5), (invoice(total=0, open_amount=0),)),
    Situation("credited in full", day(5), (invoice(open_amount=0, credited=10_000),)),
    Situation("credited in part, the rest paid", day(5), (invoice(open_amount=0, credited=4_000),)),
    Situation("credited in part, the rest open", day(5), (invoice(open_amount=6_000, credited=4_000),)),
    Situation("written off", day(121), (invoice(open_amount=0, written_off=10_000, reminded=3),)),
    Situation("paid in part, the rest written off", day(121), (invoice(open_amount=0, written_off=7_500),)),
    Situation("an invoice that bills no subscription", day(31), (invoice(reminded=3, subscriptions=()),)),
]

# Around every boundary of the standard and the other policies: due, grace, each reminder,
# suspension, write-off; with steps sent or not, holds, suspensions, two invoices.
OFFSETS = (-1, 0, 1, 3, 4, 6, 7, 8, 13, 14, 15, 16, 29, 30, 31, 60, 83, 84, 89, 90, 119, 120, 121)
POLICIES = (STANDARD, ACCOUNT_WIDE, GRACE, LATE_SUSPENSION_IN_GRACE)
HOLDS = (None, hold(9), hold(16), hold(35))
SUSPENDED = ((), (suspension("S-vm", 30),), (suspension("S-vm", 30, warned=True), suspension("S-365", 31)))


def generated() -> list[Situation]:
    cases = []
    for offset, sent, policy, on_hold, suspended, second in product(OFFSETS, (0, 1, 3), POLICIES, HOLDS, SUSPENDED, (False, True)):
        invoices = (invoice(reminded=sent),) + ((invoice("B", due=5, open_amount=4_000, subscriptions=("S-vm",)),) if second else ())
        name = f"day {offset}, {sent} sent, {policy.scope}/{policy.grace_days}, hold {on_hold and on_hold.until}, {len(suspended)} suspended, {len(invoices)} invoices"
        cases.append(Situation(name, day(offset), invoices, policy, on_hold, suspended))
    return cases


def markdown(cases: list[Situation] = NAMED) -> str:
    """The named cases as a Markdown table, with what the domain (and so the view) says."""
    lines = ["| situation | as of (days past due) | overdue | invoice status | next action | on (days past due) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for case in cases:
        action = case.next_action()
        statuses = ", ".join(f"{n}: {s}" for n, s in case.statuses().items()) or "-"
        lines.append(
            f"| {case.name} | {(case.as_of - DUE).days} | {case.overdue_amount() / 100:.2f} | {statuses} | "
            f"{action[0] if action else '-'} | {(action[1] - DUE).days if action else '-'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

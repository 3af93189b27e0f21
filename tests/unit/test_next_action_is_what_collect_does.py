"""The next action the domain names (`CustomerAccount.next_action`, which the collections view
restates) is what the policy run does: run `collect` on the action's day (or on the day asked
about, when the action is already due) and it takes exactly that step, from the first reminder
to the write-off, through a hold and a late run."""

from __future__ import annotations

from datetime import date, datetime, timezone

from domain.accounts import CustomerAccount
from tests.billing_life import BILLING, CUSTOMER, invoice_september, on, open_acme


def events_of(account: CustomerAccount, app, after_version: int) -> list:
    return list(app.events.get(account.id, gt=after_version))


def taken(event) -> str | None:
    """The action an event of a policy run is, in the words of `next_action`."""
    name = type(event).__name__
    if name == "ReminderSent":
        return f"reminder {event.step} for invoice {event.invoice_number}"
    if name == "SubscriptionsSuspended":
        return f"suspension for invoice {event.invoice_numbers[0]}" if event.by_policy else None
    if name == "InvoiceWrittenOff":
        return f"write-off of invoice {event.invoice_number}"
    if name == "DeprovisioningWarningSent":
        return f"de-provisioning warning for {event.subscription_ids[0]}"
    if name == "CollectionsHoldReleased":
        return "end of the hold: reminders and suspension resume"
    return None


def test_each_next_action_the_domain_names_is_the_step_collect_takes_on_its_day(app):
    open_acme(app)
    invoice_september(app)  # due 15 October
    # a hold over the first reminders, then runs skipped until a late one on 3 November
    app.place_hold(CUSTOMER, "promise-to-pay", date(2026, 10, 20), "pays on the 20th", at=on(10, 10), actor=BILLING)
    as_of, followed = date(2026, 10, 10), []
    while True:
        account = app.get_account(CUSTOMER)
        action = account.next_action(app.policy_for(account), as_of)
        if action is None:
            break
        run_on = max(action.due_on, as_of)  # a step already due is taken by the next run
        app.collect(at=datetime.combine(run_on, datetime.min.time(), timezone.utc), actor=BILLING)
        actions = [taken(e) for e in events_of(account, app, account.version)]
        assert action.action in actions, f"{run_on}: next action {action.action!r}, the run did {actions}"
        followed.append(action.action)
        # after the hold, nobody runs collections until 3 November: a late run
        as_of = date(2026, 11, 3) if run_on == date(2026, 10, 21) else run_on
    assert followed == [
        "end of the hold: reminders and suspension resume",
        "reminder 3 for invoice INV-000001",  # the late run: reminders 1 and 2 are skipped
        "suspension for invoice INV-000001",
        "de-provisioning warning for ACME-365",
        "write-off of invoice INV-000001",
    ]

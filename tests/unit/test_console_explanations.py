"""Each sentence the console says to a helpdesk agent (service/console/explanations.py)."""

from __future__ import annotations

from datetime import date

from service.console import explanations as say

TODAY = date(2026, 3, 24)
INV1 = say.Invoice("INV-000001", 28400, days_past_due=30)


def suspended(**changes) -> say.Suspension:
    values = dict(subscription_ids=("SUB-365",), since=date(2026, 3, 17), reason="invoice INV-000001 is 30 days past due",
                  by_policy=True, invoice_numbers=("INV-000001",), deprovision_deadline=date(2026, 5, 16))
    return say.Suspension(**{**values, **changes})


def test_a_policy_suspension_says_since_when_why_in_money_how_it_ends_and_what_the_vendor_does():
    assert say.suspension(suspended(), {"INV-000001": INV1}, [], "EUR", TODAY) == (
        "SUB-365 suspended since 17 March because INV-000001 (284.00 EUR) is 30 days past due; "
        "reinstated as soon as it is paid; the vendor de-provisions on 16 May"
    )


def test_a_suspension_after_a_charge_back_says_the_payment_was_reversed():
    reversal = say.Reversal("PAY-1", date(2026, 3, 2), "charged back by the card issuer", ("INV-000001",))
    assert say.suspension(suspended(), {"INV-000001": INV1}, [reversal], "EUR", TODAY) == (
        "SUB-365 suspended since 17 March because INV-000001 (284.00 EUR) is 30 days past due; payment PAY-1 had "
        "paid it, but was reversed on 2 March (charged back by the card issuer); reinstated as soon as it is paid; "
        "the vendor de-provisions on 16 May"
    )


def test_a_reversal_of_another_invoice_is_not_told_as_the_reason():
    reversal = say.Reversal("PAY-9", date(2026, 3, 2), "bounced", ("INV-000007",))
    assert "PAY-9" not in say.suspension(suspended(), {"INV-000001": INV1}, [reversal], "EUR", TODAY)


def test_a_written_off_invoice_still_owed_explains_why_the_subscription_stays_suspended():
    written_off = say.Invoice("INV-000003", 0, 0, written_off=12000, written_off_on=date(2025, 7, 13))
    sentence = say.suspension(suspended(invoice_numbers=("INV-000003",)), {"INV-000003": written_off}, [], "EUR", TODAY)
    assert sentence == ("INV-000003 was written off on 13 July 2025; it is still owed (120.00 EUR), so SUB-365 stays "
                        "suspended until it is paid; the vendor de-provisions on 16 May")


def test_a_suspension_by_hand_gives_its_reason_and_that_only_a_person_lifts_it():
    sentence = say.suspension(suspended(by_policy=False, reason="fraud check", invoice_numbers=(),
                                        subscription_ids=("SUB-365", "SUB-vm")), {}, [], "EUR", TODAY)
    assert sentence == ("SUB-365 and SUB-vm suspended by hand since 17 March: fraud check; reinstated only by hand; "
                        "the vendor de-provisions on 16 May")


def test_a_negative_balance_reads_as_credit_in_the_customers_favour():
    assert say.balance(-3000, "EUR") == "30.00 EUR in credit, in the customer's favour"
    assert say.balance(28400, "EUR") == "owes 284.00 EUR"
    assert say.balance(0, "JPY") == "owes nothing"


def test_a_holds_next_action_warns_what_follows_it():
    after = say.AfterHold(("CollectionsHoldReleased", "SubscriptionsSuspended"), ("INV-000001",))
    assert say.hold("promise-to-pay", date(2026, 4, 28), "pays on the 28th", after, TODAY) == (
        "collections on hold (promise-to-pay) until 28 April: pays on the 28th; the hold ends on 28 April; "
        "the account is suspended on 29 April unless INV-000001 is paid"
    )


def test_a_hold_followed_by_a_reminder_or_nothing_says_so():
    reminder = say.AfterHold(("CollectionsHoldReleased", "ReminderSent"), ("INV-000001",))
    assert say.hold("dispute", date(2026, 4, 28), "seats", reminder, TODAY).endswith(
        "a reminder goes out on 29 April unless INV-000001 is paid")
    nothing = say.AfterHold(("CollectionsHoldReleased",), ())
    assert say.hold("dispute", date(2026, 4, 28), "seats", nothing, TODAY).endswith(
        "the hold ends on 28 April and nothing is due after it")


def test_what_the_policy_did_is_the_policys_act_not_the_clerks():
    assert say.acted_by("SubscriptionsSuspended", "Suspended: SUB-365: invoice INV-000001 is 30 days past due; ...",
                        "bea") == "by the collections policy (run by bea)"
    assert say.acted_by("ReminderSent", "Reminder 1 sent for INV-000001, 7 days past due", "bea") == \
        "by the collections policy (run by bea)"
    assert say.acted_by("SubscriptionsReinstated", "Reinstated: SUB-365: nothing overdue any more", "bea") == \
        "by the collections policy (after a change recorded by bea)"
    assert say.acted_by("SubscriptionsSuspended", "Suspended by hand: SUB-365: fraud check", "bea") == "by bea"
    assert say.acted_by("PaymentReceived", "Payment PAY-1 of 10.00 EUR received", "bea") == "by bea"


def test_a_refusal_in_money_shows_money():
    assert say.credit_note_exceeds_open("CN-1", 60000, "INV-000001", 58769, "GBP") == (
        "credit note CN-1: 600.00 GBP is more than invoice INV-000001 still has open (587.69 GBP)"
    )


def test_times_are_shown_in_the_staff_members_zone():
    assert say.moment("2026-03-17T09:00:00+00:00", "Europe/Berlin") == "2026-03-17 10:00 CET"
    assert say.moment("2026-03-17T09:00:00+00:00", "UTC") == "2026-03-17 09:00 UTC"


def test_a_suspension_names_every_overdue_invoice_that_must_be_paid_to_end_it():
    later = say.Invoice("INV-000002", 12000, days_past_due=5)
    sentence = say.suspension(suspended(), {"INV-000001": INV1, "INV-000002": later}, [], "EUR", TODAY,
                              to_pay=[INV1, later])
    assert sentence == (
        "SUB-365 suspended since 17 March because INV-000001 (284.00 EUR) is 30 days past due; "
        "reinstated as soon as INV-000001 and INV-000002 (404.00 EUR) are paid; the vendor de-provisions on 16 May"
    )


def test_a_refused_refund_shows_money():
    assert say.refund_exceeds_credit("REF-1", 1000, 250, "EUR") == \
        "refund REF-1: 10.00 EUR is more than the credit balance (2.50 EUR)"

"""The balances projection's changes: exact whatever the digits of an amount (rated usage has
24 decimals, and Python's default context keeps 28 digits), and a batch folded into one change
per customer exactly as chaining its changes one by one would."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext

from hypothesis import given, settings, strategies as st

from domain.bounds import EXACT
from projections.balances import ADDED, BalancesProjection, change_for, fold

AT = datetime(2026, 9, 2, tzinfo=timezone.utc)
LONG = Decimal("1234567.891000000000000000000001")  # 31 digits
RATED = Decimal("1e-24")  # the places of a rated amount (UsageRecorded v2)


def test_an_invoiced_amount_leaves_unbilled_usage_exactly_whatever_its_digits():
    terms = {"customer_id": "CUST-1", "notification_id": 5, "occurred_at": AT}

    invoiced = change_for("UsageInvoiced", terms | {"amount": rated(LONG)})
    billed = change_for("InvoiceIssued", terms | {"billed_usage": rated(LONG), "total": 123})

    assert str(invoiced.unbilled_usage) == str(billed.unbilled_usage) == "-1234567.891000000000000000000001"


amounts = st.decimals(min_value=-10**15, max_value=10**15, places=24, allow_nan=False, allow_infinity=False)
events = st.lists(
    st.tuples(
        st.sampled_from(["UsageRecorded", "UsageInvoiced", "AccountOpened", "AccountProfileChanged", "AccountClosed",
                         "MeteredSubscriptionAdded", "PaymentReceived", "InvoiceIssued"]),
        st.sampled_from(["CUST-1", "CUST-2", "CUST-3"]), amounts, st.integers(0, 10**9), st.text(min_size=1, max_size=3)),
    max_size=25)


@settings(max_examples=150, deadline=None)
@given(events)
def test_a_batch_folds_into_the_changes_chaining_each_customers_changes_gives(drawn):
    batch = [ledger_event(n, *fields) for n, fields in enumerate(drawn, 1)]
    changes = [change_for(event_type, event) for event_type, event in batch]
    chained: dict = {}
    for change in changes:
        if change is not None:
            earlier = chained.get(change.customer_id)
            chained[change.customer_id] = change if earlier is None else earlier.then(change)

    folded = BalancesProjection().changes(batch)

    assert folded == fold([c for c in changes if c is not None]) == list(chained.values())
    for change in folded:  # equal and written with the same digits
        assert str(change.unbilled_usage) == str(chained[change.customer_id].unbilled_usage)
        assert all(type(getattr(change, name)) is type(getattr(chained[change.customer_id], name)) for name in ADDED)


def ledger_event(n: int, event_type: str, customer: str, amount: Decimal, minor: int, name: str) -> tuple[str, dict]:
    event = {"customer_id": customer, "notification_id": n, "occurred_at": AT + timedelta(seconds=n)}
    if event_type in ("UsageRecorded", "UsageInvoiced"):
        event["amount"] = rated(amount)
    elif event_type in ("AccountOpened", "AccountProfileChanged"):
        event.update(name=name, currency="EUR")
    elif event_type == "PaymentReceived":
        event.update(amount=minor, allocations=[{"amount": minor // 2}], to_credit_balance=minor - minor // 2)
    elif event_type == "InvoiceIssued":
        event.update(total=minor, billed_usage=rated(abs(amount)))
    return event_type, event


def rated(amount: Decimal) -> Decimal:
    with localcontext(EXACT):  # the default context's 28 digits cannot hold 24 places and more
        return amount.quantize(RATED)

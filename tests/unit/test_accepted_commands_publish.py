"""Whatever a command accepts, the relay can publish: the events of every accepted command,
with values drawn up to and past the bounds (domain/bounds.py), convert to ledger records and
encode with their Avro schemas. A command either refuses (a LedgerError, nothing emitted) or
emits events the ledger topic can carry. Pure: the domain, the relay's conversion, the schemas."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from consumers.ledger_events import to_ledger_record
from domain import bounds
from domain.accounts import CustomerAccount
from domain.accounts.invoicing import UsageToBill, draft_invoice
from domain.errors import LedgerError
from domain.money import MINOR_UNIT_EXPONENT
from domain.policy import CollectionsPolicy, PolicyBook
from domain.roles import Role, StaffDirectory
from domain.support import SupportCase
from schemas import encode_with

AT = datetime(2026, 10, 1, tzinfo=timezone.utc)
ACTOR = "bea@partner.example"

ids = st.one_of(st.from_regex(bounds.ID_PATTERN, fullmatch=True), st.text(max_size=3))
# Any character, NUL and lone surrogates included: those a command must refuse.
texts = st.text(st.characters(exclude_categories=()), max_size=bounds.MAX_NAME_LENGTH + 2)
amounts = st.one_of(st.integers(-2, 10**6), st.integers(bounds.MAX_AMOUNT_MINOR - 2, bounds.MAX_AMOUNT_MINOR + 2))
counts = st.one_of(st.integers(-1, 400), st.integers(bounds.MAX_DAYS - 1, bounds.MAX_SEATS + 1), st.just(2**31))
days = st.dates(min_value=date(1999, 12, 30), max_value=date(2026, 12, 31))


def decimals(places: int, largest: Decimal):
    """Decimals up to the bound and just past it: too many places, too many digits, NaN, infinities."""
    return st.one_of(
        st.decimals(min_value=-largest, max_value=largest, places=places),
        st.decimals(min_value=0, max_value=10, places=places),
        st.sampled_from([largest, -largest, largest + 1, largest.next_plus(), Decimal("1e-10"), Decimal("NaN"),
                         Decimal("Infinity")]),
    )


quantities = decimals(bounds.QUANTITY_PLACES, bounds.MAX_QUANTITY)
prices = decimals(bounds.PRICE_PLACES, bounds.MAX_PRICE)
rates = decimals(bounds.RATE_PLACES, bounds.MAX_RATE)


def accepted(command) -> bool:
    try:
        command()
    except LedgerError:
        return False  # refused: the property is about what is accepted
    return True


attempt = accepted


def assert_publishable(*aggregates) -> int:
    """Convert and encode every pending event as the relay does; return how many there were."""
    events = [event for aggregate in aggregates for event in aggregate.collect_events()]
    for notification_id, event in enumerate(events, 1):
        schema, record = to_ledger_record(event, notification_id)
        encode_with(schema, record)  # raises if any field is past what its Avro type carries
    return len(events)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    customer=ids, name=texts, currency=st.sampled_from(sorted(MINOR_UNIT_EXPONENT)), terms=counts, tax=rates,
    subscription=ids, seats=counts, seat_price=prices, starts_on=days, unit_price=prices, markup=rates,
    usage=st.lists(quantities, max_size=4), payment=ids, paid=amounts, refunded=amounts, credited=amounts,
    reference=texts, reason=st.text(st.characters(exclude_categories=()), max_size=bounds.MAX_TEXT_LENGTH + 2),
    until=days,
)
def test_what_account_commands_accept_the_relay_can_publish(
    customer, name, currency, terms, tax, subscription, seats, seat_price, starts_on, unit_price, markup, usage,
    payment, paid, refunded, credited, reference, reason, until,
):
    try:
        account = CustomerAccount.open(customer, name, currency, terms, tax, at=AT, actor=ACTOR)
    except LedgerError:
        return
    policy = CollectionsPolicy()
    attempt(lambda: account.add_seat_subscription(subscription, name, seats, seat_price, starts_on, at=AT, actor=ACTOR))
    attempt(lambda: account.add_metered_subscription("vm", name, "m", "h", unit_price, markup, at=AT, actor=ACTOR))
    billed = [
        UsageToBill(f"u-{n}", "vm", name, "h", quantity, account.subscriptions["vm"].price(quantity),
                    date(2026, 9, 1), date(2026, 9, 2))
        for n, quantity in enumerate(usage)
        if "vm" in account.subscriptions and accepted(lambda: bounds.check_decimal(quantity, 9, "usage quantity"))
    ]

    def invoice():
        draft = draft_invoice(account.seat_subscriptions.values(), billed, date(2026, 9, 1), date(2026, 10, 1),
                              account.tax_rate, account.currency)
        account.issue_invoice("INV-000001", draft, date(2026, 9, 1), date(2026, 10, 1), at=AT, actor=ACTOR)

    attempt(invoice)
    attempt(lambda: account.issue_credit_note("CN-1", "INV-000001", credited, reason, policy, at=AT, actor=ACTOR))
    attempt(lambda: account.receive_payment(payment, paid, currency, reference, reference, None, policy,
                                            at=AT, actor=ACTOR))
    attempt(lambda: account.refund("REF-1", refunded, "transfer", reference, at=AT, actor=ACTOR))
    attempt(lambda: account.place_hold("dispute", until, reason, at=AT - timedelta(days=400), actor=ACTOR))
    attempt(lambda: account.write_off("INV-000001", reason, at=AT, actor=ACTOR))
    attempt(lambda: account.change_seats(subscription, seats, date(2026, 10, 1), at=AT, actor=ACTOR))
    attempt(lambda: account.change_profile(name, terms, tax, at=AT, actor=ACTOR))
    attempt(lambda: account.close(at=AT, actor=ACTOR))
    assert assert_publishable(account) >= 1


@settings(max_examples=100, deadline=None)
@given(case_id=ids, subject=texts, about=st.lists(ids, max_size=3), note=texts, ticket=st.none() | texts,
       user=ids, policy_name=ids, policy_days=counts, minimum=rates)
def test_what_support_staff_and_policy_commands_accept_the_relay_can_publish(
    case_id, subject, about, note, ticket, user, policy_name, policy_days, minimum,
):
    try:
        case = SupportCase.open(case_id, "ACME", "technical", subject, about, at=AT, actor=ACTOR)
    except LedgerError:
        case = None
    if case is not None:
        attempt(lambda: case.add_note(note, at=AT, actor=ACTOR))
        attempt(lambda: case.escalate(partner_support_plan=subject, vendor_ticket=ticket, at=AT, actor=ACTOR))
        attempt(lambda: case.resolve(note, at=AT, actor=ACTOR))
        attempt(lambda: case.reopen(subject, at=AT, actor=ACTOR))
        assert_publishable(case)

    directory = StaffDirectory.create(at=datetime.min.replace(tzinfo=timezone.utc), actor="system:ledger")
    attempt(lambda: directory.bootstrap(ACTOR, at=AT, actor="operator"))
    attempt(lambda: directory.grant(user, Role.BILLING_ADMIN, at=AT, actor=ACTOR))
    book = PolicyBook.create(at=datetime.min.replace(tzinfo=timezone.utc), actor="system:ledger")
    attempt(lambda: book.publish(
        CollectionsPolicy(name=policy_name, grace_days=policy_days, suspend_after_days=policy_days,
                          write_off_after_days=policy_days, suspend_min_overdue=minimum),
        at=AT, actor=ACTOR,
    ))
    assert assert_publishable(directory, book) >= 2

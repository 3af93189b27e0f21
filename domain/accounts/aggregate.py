"""A customer's account: billing profile, subscriptions, receivables and collections state.

The account is the consistency boundary for money: an invoice, a payment and what they
settle change it in one event. Receivables (`billing.py`) and collections
(`collections.py`) are parts of it kept in modules of their own; their events are
nested in CustomerAccount like these.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.account_event import AccountEvent
from domain.billing import Billing
from domain.collections import Collections
from domain.errors import AccountClosed, AlreadyExists, InvalidCommand, UnknownSubscription
from domain.money import check_currency, to_minor_units
from domain.policy import DEFAULT_POLICY
from domain.subscriptions import MeteredSubscription, SeatSubscription

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:customer-account")


def account_id(customer_id: str) -> UUID:
    """An account's aggregate id follows from the customer id, so a retry finds it."""
    return uuid5(ACCOUNT_NAMESPACE, customer_id)


def check_profile(customer_id: str, name: str, payment_terms_days: int, tax_rate: Decimal) -> None:
    bounds.check_text(name, f"customer {customer_id!r}: name")
    bounds.check_count(payment_terms_days, f"customer {customer_id!r}: payment terms (days)", largest=bounds.MAX_DAYS)
    bounds.check_decimal(tax_rate, bounds.RATE_PLACES, f"customer {customer_id!r}: tax rate")
    if not tax_rate < Decimal(100):
        raise InvalidCommand(f"customer {customer_id!r}: tax rate {tax_rate} is not a percentage")


class CustomerAccount(Billing, Collections, Aggregate):
    class Event(AccountEvent):
        pass

    class Opened(Event, Aggregate.Created):
        name: str
        currency: str
        payment_terms_days: int
        tax_rate: Decimal

    def __init__(
        self,
        customer_id: str,
        actor: str,
        name: str,
        currency: str,
        payment_terms_days: int,
        tax_rate: Decimal,
    ):
        self.customer_id = customer_id
        self.name = name
        self.currency = currency
        self.payment_terms_days = payment_terms_days
        self.tax_rate = tax_rate
        self.policy_name = DEFAULT_POLICY
        self.subscriptions: dict[str, MeteredSubscription] = {}
        self.seat_subscriptions: dict[str, SeatSubscription] = {}
        self.closed = False
        Billing.__init__(self)
        Collections.__init__(self)

    @classmethod
    def open(
        cls,
        customer_id: str,
        name: str,
        currency: str,
        payment_terms_days: int,
        tax_rate: Decimal,
        *,
        at: datetime,
        actor: str,
    ) -> CustomerAccount:
        bounds.check_id(customer_id, "customer id")
        check_currency(currency)
        check_profile(customer_id, name, payment_terms_days, tax_rate)
        bounds.check_business_time(at, f"customer {customer_id!r}: business time")
        return cls._create(
            cls.Opened,
            id=account_id(customer_id),
            timestamp=at,
            customer_id=customer_id,
            actor=actor,
            name=name,
            currency=currency,
            payment_terms_days=payment_terms_days,
            tax_rate=tax_rate,
        )

    def check_same_opening(self, name: str, currency: str, payment_terms_days: int, tax_rate: Decimal) -> None:
        """Opening twice with the same details is a retry; with other details, a conflict."""
        if (self.name, self.currency, self.payment_terms_days, self.tax_rate) != (
            name,
            currency,
            payment_terms_days,
            tax_rate,
        ):
            raise AlreadyExists(f"customer {self.customer_id!r} already has an account with other details")

    def _emit(self, event_class: type[AccountEvent], at: datetime, actor: str, **fields) -> None:
        # Every event of an account passes here: its business time is checked once, here.
        bounds.check_business_time(at, f"customer {self.customer_id!r}: business time")
        self.trigger_event(event_class, timestamp=at, customer_id=self.customer_id, actor=actor, **fields)

    def check_open(self) -> None:
        if self.closed:
            raise AccountClosed(self.customer_id)

    # --- billing profile -------------------------------------------------------------

    class ProfileChanged(Event):
        name: str
        payment_terms_days: int
        tax_rate: Decimal

        def apply(self, account: CustomerAccount) -> None:
            account.name = self.name
            account.payment_terms_days = self.payment_terms_days
            account.tax_rate = self.tax_rate

    def change_profile(
        self, name: str, payment_terms_days: int, tax_rate: Decimal, *, at: datetime, actor: str
    ) -> bool:
        self.check_open()
        check_profile(self.customer_id, name, payment_terms_days, tax_rate)
        if (name, payment_terms_days, tax_rate) == (self.name, self.payment_terms_days, self.tax_rate):
            return False
        self._emit(self.ProfileChanged, at, actor, name=name, payment_terms_days=payment_terms_days, tax_rate=tax_rate)
        return True

    class CollectionsPolicyAssigned(Event):
        policy_name: str

        def apply(self, account: CustomerAccount) -> None:
            account.policy_name = self.policy_name

    def assign_policy(self, policy_name: str, *, at: datetime, actor: str) -> bool:
        self.check_open()
        bounds.check_id(policy_name, f"customer {self.customer_id!r}: collections policy")
        if policy_name == self.policy_name:
            return False
        self._emit(self.CollectionsPolicyAssigned, at, actor, policy_name=policy_name)
        return True

    # --- subscriptions ---------------------------------------------------------------

    class MeteredSubscriptionAdded(Event):
        subscription_id: str
        product: str
        meter: str
        unit: str
        unit_price: Decimal
        markup_percent: Decimal

        def apply(self, account: CustomerAccount) -> None:
            account.subscriptions[self.subscription_id] = MeteredSubscription(
                self.subscription_id, self.product, self.meter, self.unit, self.unit_price, self.markup_percent
            )

    def add_metered_subscription(
        self,
        subscription_id: str,
        product: str,
        meter: str,
        unit: str,
        unit_price: Decimal,
        markup_percent: Decimal = Decimal(0),
        *,
        at: datetime,
        actor: str,
    ) -> bool:
        """Returns False when the same subscription was added before (a harmless retry)."""
        self.check_open()
        self._check_subscription_terms(subscription_id, product, unit_price)
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_text(meter, f"{where}: meter")
        bounds.check_text(unit, f"{where}: unit")
        bounds.check_decimal(markup_percent, bounds.RATE_PLACES, f"{where}: markup", minimum=None)
        wanted = MeteredSubscription(subscription_id, product, meter, unit, unit_price, markup_percent)
        existing = self.subscriptions.get(subscription_id)
        if existing is not None:
            if existing != wanted:
                raise AlreadyExists(
                    f"customer {self.customer_id!r} already has subscription {subscription_id!r} with other terms"
                )
            return False
        self._check_new_subscription_id(subscription_id)
        if markup_percent <= -100:
            raise InvalidCommand(f"subscription {subscription_id!r}: a discount of 100% or more is not a price")
        self._emit(
            self.MeteredSubscriptionAdded,
            at,
            actor,
            subscription_id=subscription_id,
            product=product,
            meter=meter,
            unit=unit,
            unit_price=unit_price,
            markup_percent=markup_percent,
        )
        return True

    class SeatSubscriptionAdded(Event):
        subscription_id: str
        product: str
        seats: int
        price_per_seat: Decimal
        starts_on: date

        def apply(self, account: CustomerAccount) -> None:
            account.seat_subscriptions[self.subscription_id] = SeatSubscription(
                self.subscription_id, self.product, self.price_per_seat, self.starts_on, ((self.starts_on, self.seats),)
            )

    def add_seat_subscription(
        self, subscription_id: str, product: str, seats: int, price_per_seat: Decimal, starts_on: date,
        *, at: datetime, actor: str,
    ) -> bool:
        self.check_open()
        self._check_subscription_terms(subscription_id, product, price_per_seat)
        bounds.check_business_day(starts_on, f"customer {self.customer_id!r}: subscription {subscription_id!r} starts on")
        self._check_seats(subscription_id, seats, price_per_seat)
        existing = self.seat_subscriptions.get(subscription_id)
        if existing is not None:
            if (existing.product, existing.price_per_seat, existing.starts_on, existing.seat_changes[0][1]) != (
                product, price_per_seat, starts_on, seats,
            ):
                raise AlreadyExists(
                    f"customer {self.customer_id!r} already has subscription {subscription_id!r} with other terms"
                )
            return False
        self._check_new_subscription_id(subscription_id)
        self._emit(
            self.SeatSubscriptionAdded, at, actor, subscription_id=subscription_id, product=product, seats=seats,
            price_per_seat=price_per_seat, starts_on=starts_on,
        )
        return True

    class SeatsChanged(Event):
        subscription_id: str
        seats: int
        effective_on: date

        def apply(self, account: CustomerAccount) -> None:
            subscription = account.seat_subscriptions[self.subscription_id]
            account.seat_subscriptions[self.subscription_id] = subscription.with_seats(self.seats, self.effective_on)

    def change_seats(self, subscription_id: str, seats: int, effective_on: date, *, at: datetime, actor: str) -> bool:
        self.check_open()
        subscription = self.seat_subscriptions.get(subscription_id)
        if subscription is None:
            raise UnknownSubscription(self.customer_id, subscription_id)
        self._check_seats(subscription_id, seats, subscription.price_per_seat)
        if effective_on < subscription.starts_on:
            raise InvalidCommand(f"subscription {subscription_id!r} starts on {subscription.starts_on}")
        if subscription.with_seats(seats, effective_on) == subscription:
            return False  # the same change again: a retry
        if self.invoiced_through is not None and effective_on < self.invoiced_through:
            raise InvalidCommand(
                f"subscription {subscription_id!r}: seats cannot change from {effective_on}, "
                f"a day already invoiced (invoiced through {self.invoiced_through})"
            )
        self._emit(self.SeatsChanged, at, actor, subscription_id=subscription_id, seats=seats, effective_on=effective_on)
        return True

    def _check_subscription_terms(self, subscription_id: str, product: str, price: Decimal) -> None:
        bounds.check_id(subscription_id, f"customer {self.customer_id!r}: subscription id")
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_text(product, f"{where}: product")
        bounds.check_decimal(price, bounds.PRICE_PLACES, f"{where}: price")

    def _check_seats(self, subscription_id: str, seats: int, price_per_seat: Decimal) -> None:
        """Seats within bounds, and a month of them one owed amount the ledger carries (a seat
        line bills about that much a month: an invoice past the bound is refused when issued)."""
        where = f"customer {self.customer_id!r}: subscription {subscription_id!r}"
        bounds.check_count(seats, f"{where}: seats", largest=bounds.MAX_SEATS)
        monthly = to_minor_units(Fraction(price_per_seat) * seats, self.currency)
        bounds.check_amount(monthly, f"{where}: a month of {seats:,} seats at {price_per_seat}")

    def _check_new_subscription_id(self, subscription_id: str) -> None:
        if subscription_id in self.subscriptions or subscription_id in self.seat_subscriptions:
            raise AlreadyExists(f"customer {self.customer_id!r} already has subscription {subscription_id!r}")

    def all_subscription_ids(self) -> list[str]:
        return sorted([*self.subscriptions, *self.seat_subscriptions])

    def subscription_for_usage(self, subscription_id: str) -> MeteredSubscription:
        self.check_open()
        try:
            return self.subscriptions[subscription_id]
        except KeyError:
            raise UnknownSubscription(self.customer_id, subscription_id) from None

    # --- closing ---------------------------------------------------------------------

    class Closed(Event):
        def apply(self, account: CustomerAccount) -> None:
            account.closed = True

    def close(self, *, at: datetime, actor: str) -> bool:
        if self.closed:
            return False
        self._emit(self.Closed, at, actor)
        return True

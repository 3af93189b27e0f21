"""A customer's account: its billing profile and the subscriptions it is billed for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import AccountClosed, AlreadyExists, InvalidCommand, UnknownSubscription
from domain.money import check_currency, price_usage

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:customer-account")


def account_id(customer_id: str) -> UUID:
    """An account's aggregate id follows from the customer id, so a retry finds it."""
    return uuid5(ACCOUNT_NAMESPACE, customer_id)


@dataclass(frozen=True)
class MeteredSubscription:
    subscription_id: str
    product: str
    meter: str
    unit: str
    unit_price: Decimal
    markup_percent: Decimal

    def price(self, quantity: Decimal) -> Decimal:
        return price_usage(quantity, self.unit_price, self.markup_percent)


class CustomerAccount(Aggregate):
    class Event(Aggregate.Event):
        customer_id: str
        actor: str

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
        self.subscriptions: dict[str, MeteredSubscription] = {}
        self.closed = False

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
        if not customer_id.strip():
            raise InvalidCommand("a customer id must not be blank")
        check_currency(currency)
        if payment_terms_days < 0:
            raise InvalidCommand(f"customer {customer_id!r}: payment terms must not be negative")
        if not Decimal(0) <= tax_rate < Decimal(100):
            raise InvalidCommand(f"customer {customer_id!r}: tax rate {tax_rate} is not a percentage")
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

    def _emit(self, event_class: type[Event], at: datetime, actor: str, **fields) -> None:
        self.trigger_event(event_class, timestamp=at, customer_id=self.customer_id, actor=actor, **fields)

    def check_open(self) -> None:
        if self.closed:
            raise AccountClosed(self.customer_id)

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
        wanted = MeteredSubscription(subscription_id, product, meter, unit, unit_price, markup_percent)
        existing = self.subscriptions.get(subscription_id)
        if existing is not None:
            if existing != wanted:
                raise AlreadyExists(
                    f"customer {self.customer_id!r} already has subscription {subscription_id!r} with other terms"
                )
            return False
        if unit_price < 0:
            raise InvalidCommand(f"subscription {subscription_id!r}: unit price must not be negative")
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

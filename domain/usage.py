"""Rated usage: one aggregate per usage line, so that recording it costs the same on a new
account and on one with years of history, and so that the event store itself refuses a
second recording of the same usage id (its first event has a fixed aggregate id and version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.account import CustomerAccount
from domain.errors import InvalidCommand
from domain.ids import name_based_id
from domain.money import check_places
from domain.invoicing import UsageToBill

USAGE_NAMESPACE = uuid5(NAMESPACE_URL, "billing-ledger:usage-line")
_NAMESPACE_BYTES = USAGE_NAMESPACE.bytes


def usage_line_id(usage_id: str) -> UUID:
    return name_based_id(_NAMESPACE_BYTES, usage_id)


@dataclass(frozen=True)
class UsageReport:
    """What an upstream system reports: a quantity of a meter, over a period."""

    usage_id: str
    source: str
    customer_id: str
    subscription_id: str
    product: str
    meter: str
    quantity: Decimal
    unit: str
    period_start: datetime
    period_end: datetime
    observed_at: datetime
    attributes: dict[str, str] = field(default_factory=dict)

    def check_valid(self) -> None:
        where = f"usage {self.usage_id!r}"
        if not self.usage_id.strip():
            raise InvalidCommand("a usage id must not be blank")
        if not self.quantity.is_finite():
            raise InvalidCommand(f"{where}: quantity {self.quantity} is not a finite number")
        if self.quantity < 0:
            raise InvalidCommand(f"{where}: quantity {self.quantity} is negative")
        check_places(self.quantity, 9, f"{where}: quantity")
        if self.period_end < self.period_start:
            raise InvalidCommand(
                f"{where}: usage period ends ({self.period_end.isoformat()}) "
                f"before it starts ({self.period_start.isoformat()})"
            )


class UsageLine(Aggregate):
    class Recorded(Aggregate.Created):
        customer_id: str
        actor: str
        usage_id: str
        source: str
        subscription_id: str
        product: str
        meter: str
        quantity: Decimal
        unit: str
        period_start: datetime
        period_end: datetime
        currency: str
        unit_price: Decimal
        markup_percent: Decimal
        amount: Decimal
        attributes: dict

    def __init__(
        self,
        customer_id: str,
        actor: str,
        usage_id: str,
        source: str,
        subscription_id: str,
        product: str,
        meter: str,
        quantity: Decimal,
        unit: str,
        period_start: datetime,
        period_end: datetime,
        currency: str,
        unit_price: Decimal,
        markup_percent: Decimal,
        amount: Decimal,
        attributes: dict,
    ):
        # A usage line keeps what invoicing needs; the full report stays in its event.
        self.customer_id = customer_id
        self.usage_id = usage_id
        self.subscription_id = subscription_id
        self.product = product
        self.period_start = period_start
        self.period_end = period_end
        self.amount = amount
        self.currency = currency
        self.unit = unit
        self.quantity = quantity
        self.unit_price = unit_price
        self.markup_percent = markup_percent
        self.invoice_number: str | None = None

    def to_bill(self) -> UsageToBill:
        return UsageToBill(
            self.usage_id, self.subscription_id, self.product, self.unit, self.quantity, self.amount,
            self.period_start.date(), self.period_end.date(),
        )

    class Invoiced(Aggregate.Event):
        customer_id: str
        actor: str
        usage_id: str
        invoice_number: str
        # the price again, so that a reader of the ledger topic can take the line off unbilled usage
        quantity: Decimal
        unit_price: Decimal
        markup_percent: Decimal

        def apply(self, line: UsageLine) -> None:
            line.invoice_number = self.invoice_number

    def mark_invoiced(self, invoice_number: str, *, at: datetime, actor: str) -> None:
        if self.invoice_number is None:
            self.trigger_event(
                self.Invoiced, timestamp=at, customer_id=self.customer_id, actor=actor, usage_id=self.usage_id,
                invoice_number=invoice_number, quantity=self.quantity, unit_price=self.unit_price,
                markup_percent=self.markup_percent,
            )

    @classmethod
    def rate(
        cls, report: UsageReport, account: CustomerAccount, *, actor: str, line_id: UUID | None = None
    ) -> UsageLine.Recorded:
        """Rate a usage report against the account's price: the event that records the line.

        Only the event: the recording path stores it and never reads the line back (at
        ingest rates, building each line object cost more than rating it); `mutate(None)`
        on the event gives the line. `line_id` saves hashing the usage id again.
        """
        report.check_valid()
        subscription = account.subscription_for_usage(report.subscription_id)
        where = f"usage {report.usage_id!r} for subscription {report.subscription_id!r}"
        if (report.product, report.meter) != (subscription.product, subscription.meter):
            raise InvalidCommand(
                f"{where}: product/meter {report.product}/{report.meter} do not match the "
                f"subscription's {subscription.product}/{subscription.meter}"
            )
        if report.unit != subscription.unit:
            raise InvalidCommand(f"{where}: unit {report.unit!r} is not the subscription's {subscription.unit!r}")
        # The fields in the dataclass's order (the stored JSON keeps it), set without its
        # frozen __init__ (one object.__setattr__ per field: a third of rating a report).
        # Its one check, a UUID originator id, holds by construction.
        recorded = object.__new__(cls.Recorded)
        recorded.__dict__.update(
            originator_id=line_id or usage_line_id(report.usage_id),
            originator_version=cls.INITIAL_VERSION,
            timestamp=report.observed_at,
            originator_topic=USAGE_LINE_TOPIC,
            customer_id=report.customer_id,
            actor=actor,
            usage_id=report.usage_id,
            source=report.source,
            subscription_id=report.subscription_id,
            product=report.product,
            meter=report.meter,
            quantity=report.quantity,
            unit=report.unit,
            period_start=report.period_start,
            period_end=report.period_end,
            currency=account.currency,
            unit_price=subscription.unit_price,
            markup_percent=subscription.markup_percent,
            amount=subscription.price(report.quantity),
            attributes=dict(report.attributes),
        )
        return recorded


USAGE_LINE_TOPIC = get_topic(UsageLine)

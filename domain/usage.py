"""Rated usage: one aggregate per usage line, so that recording it costs the same on a new
account and on one with years of history, and so that the event store itself refuses a
second recording of the same usage id (its first event has a fixed aggregate id and version).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cache
from datetime import datetime
from decimal import Decimal, localcontext
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain import bounds
from domain.accounts import CustomerAccount
from domain.accounts.invoicing import UsageToBill
from domain.errors import AlreadyExists, InvalidCommand
from domain.ids import name_based_id
from domain.money import MINOR_UNIT_EXPONENT

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

    def check_valid(self, now: datetime | None = None) -> None:
        """Refuse, naming the rule broken, a report the ledger cannot carry (domain/bounds.py).

        `now` is the recording clock when the caller has one (the ingest does): business
        time may then be at most bounds.MAX_CLOCK_SKEW ahead of it.
        """
        # Every report is checked twice (at ingest, then when rated): a quick look first,
        # bounds' own checks (which name what is wrong) only for a report that fails it.
        if not self._within_bounds(now):
            self._refuse(now)
        if self.period_end < self.period_start:
            raise InvalidUsageReport(
                "period_ends_before_start",
                f"usage {self.usage_id!r}: usage period ends ({self.period_end.isoformat()}) "
                f"before it starts ({self.period_start.isoformat()})",
            )

    def _within_bounds(self, now: datetime | None) -> bool:
        """True when _refuse would find nothing: the same bounds, without the messages."""
        is_id, longest, earliest = bounds.ID_PATTERN.fullmatch, bounds.MAX_ATTRIBUTE_LENGTH, bounds.EARLIEST_BUSINESS_TIME
        start, end, observed, quantity = self.period_start, self.period_end, self.observed_at, self.quantity
        if not (
            isinstance(self.usage_id, str) and isinstance(self.customer_id, str) and isinstance(self.subscription_id, str)
            and is_id(self.usage_id) is not None and is_id(self.customer_id) is not None
            and is_id(self.subscription_id) is not None
            and max(len(self.source), len(self.product), len(self.meter), len(self.unit)) <= bounds.MAX_NAME_LENGTH
            and quantity.is_finite() and 0 <= quantity <= bounds.MAX_QUANTITY
            # same_quantum: the exponent a decoded quantity has (scale 9), without as_tuple()'s cost
            and (quantity.same_quantum(_NINE_PLACES) or quantity.as_tuple().exponent >= -bounds.QUANTITY_PLACES)
            and None not in (start.tzinfo, end.tzinfo, observed.tzinfo)
            and start >= earliest and end >= earliest and observed >= earliest
        ):
            return False
        if now is not None:
            latest = now + bounds.MAX_CLOCK_SKEW
            if start > latest or end > latest or observed > latest:
                return False
        attributes = self.attributes
        return not attributes or (
            len(attributes) <= bounds.MAX_ATTRIBUTES
            and all(len(k) <= longest and len(v) <= longest for k, v in attributes.items())
        )

    def _refuse(self, now: datetime | None) -> None:
        """Raise for the first bound broken, in bounds' own words, under its reason code."""
        if not self.usage_id.strip():
            raise InvalidUsageReport("blank_usage_id", "the usage event id is blank")
        where = f"usage {bounds.printable(self.usage_id[: bounds.MAX_ID_LENGTH + 1])}"
        for value, what in ((self.usage_id, "usage id"), (self.customer_id, "customer id"), (self.subscription_id, "subscription id")):
            _broken("invalid_id", bounds.check_id, value, f"{where}: {what}")
        where = f"usage {self.usage_id!r}"  # an id now: safe to print
        for value, what in ((self.source, "source system"), (self.product, "product"), (self.meter, "meter"), (self.unit, "unit")):
            _broken("text_too_long", bounds.check_text, value, f"{where}: {what}")
        self._check_attributes(where)
        self._check_quantity(where)
        for at, what in ((self.period_start, "usage_start"), (self.period_end, "usage_end"), (self.observed_at, "observed_at")):
            _broken("dated_too_early", bounds.check_business_time, at, f"{where}: {what}")
            if now is not None:
                _broken("dated_in_future", bounds.check_business_time, at, f"{where}: {what}", now=now)

    def _check_attributes(self, where: str) -> None:
        # Free text, stored as given (control characters included: it is evidence), but
        # bounded, so that the ledger event that carries it stays small.
        if len(self.attributes) > bounds.MAX_ATTRIBUTES:
            raise InvalidUsageReport(
                "too_many_attributes", f"{where}: {len(self.attributes):,} attributes; at most {bounds.MAX_ATTRIBUTES} are kept"
            )
        for key, value in self.attributes.items():
            _broken("attribute_too_long", bounds.check_text, key, f"{where}: attribute name {bounds.printable(key[:40])}", bounds.MAX_ATTRIBUTE_LENGTH)
            _broken("attribute_too_long", bounds.check_text, value, f"{where}: attribute {bounds.printable(key[:40])}", bounds.MAX_ATTRIBUTE_LENGTH)

    def _check_quantity(self, where: str) -> None:
        quantity = self.quantity
        if not quantity.is_finite():
            raise InvalidUsageReport("non_finite_quantity", f"{where}: quantity {quantity} is not a finite number")
        if quantity < 0:
            raise InvalidUsageReport("negative_quantity", f"{where}: quantity {quantity} is negative")
        too_many_places = quantity.as_tuple().exponent < -bounds.QUANTITY_PLACES
        # In EXACT: check_decimal's abs() would round a 38-digit quantity in the default context.
        with localcontext(bounds.EXACT):
            _broken(
                "too_many_decimals" if too_many_places else "out_of_range",
                bounds.check_decimal, quantity, bounds.QUANTITY_PLACES, f"{where}: quantity",
            )

    def differences(self, other: UsageReport) -> list[str]:
        """The fields in which another report of the same usage id differs from this one."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


class InvalidUsageReport(InvalidCommand):
    """A usage report that breaks one of the ledger's bounds; `reason` names the rule (the
    ingest's dead-letter reason, consumers/dead_letters.REASONS)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


_NINE_PLACES = Decimal(1).scaleb(-bounds.QUANTITY_PLACES)


def _broken(reason: str, check: Callable, *args, **kwargs) -> None:
    """Run one of bounds' checks; what it refuses is refused under `reason`."""
    try:
        check(*args, **kwargs)
    except InvalidCommand as error:
        raise InvalidUsageReport(reason, str(error)) from None


class ConflictingUsage(AlreadyExists):
    """The usage id was recorded before with other content: the first recording stands."""

    reason = "conflicting_duplicate"

    def __init__(self, usage_id: str, differing: list[str]):
        super().__init__(
            f"usage {usage_id!r} was recorded before with another {', '.join(differing)}: the first recording stands"
        )
        self.usage_id = usage_id
        self.differing = differing


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

    @staticmethod
    def to_bill(recorded: UsageLine.Recorded) -> UsageToBill:
        """What invoicing needs of a line, read off the event that recorded it (a bill run
        reads a hundred thousand accounts' lines: building each line aggregate cost more)."""
        return UsageToBill(
            recorded.usage_id, recorded.subscription_id, recorded.product, recorded.unit, recorded.quantity,
            recorded.amount, recorded.period_start.date(), recorded.period_end.date(),
        )

    @staticmethod
    def report_of(recorded: UsageLine.Recorded) -> UsageReport:
        """The report a Recorded event was rated from (to compare a later copy with it)."""
        return UsageReport(
            recorded.usage_id, recorded.source, recorded.customer_id, recorded.subscription_id, recorded.product,
            recorded.meter, recorded.quantity, recorded.unit, recorded.period_start, recorded.period_end,
            recorded.timestamp, dict(recorded.attributes),
        )

    class Invoiced(Aggregate.Event):
        """Stored by ledgers from before invoices named the usage lines they bill (the
        InvoiceIssued's lines, usage_ids): no longer emitted, still read and published."""

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
        amount = subscription.price(report.quantity)
        largest = _largest_amount(account.currency)
        if abs(amount) > largest:
            raise InvalidUsageReport(
                "amount_out_of_range", f"{where}: priced at {amount} {account.currency}, more than one line may owe ({largest})"
            )
        return cls.Recorded(
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
            amount=amount,
            attributes=dict(report.attributes),
        )


USAGE_LINE_TOPIC = get_topic(UsageLine)


@cache
def _largest_amount(currency: str) -> Decimal:
    """bounds.MAX_AMOUNT_MINOR in major units of the currency: what one usage line may owe."""
    return Decimal(bounds.MAX_AMOUNT_MINOR).scaleb(-MINOR_UNIT_EXPONENT[currency])

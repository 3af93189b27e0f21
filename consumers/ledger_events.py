"""How a stored domain event becomes an Avro ledger event on `billing.ledger.v1`.

The fields of each ledger schema are read off the domain event by name; the few
common ones that the library names differently are mapped here. Events of no customer
(staff, policies, number series) carry an empty customer id, and so share one key.
A field that a stored event does not hold is derived from it here (`DERIVED_FIELDS`), with
the domain's own functions: the relay restates no rule.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.accounts import CustomerAccount
from domain.ids import name_based_id, name_based_id_text
from domain.money import price_usage
from domain.numbering import NumberSeries
from domain.policy import PolicyBook
from domain.roles import StaffDirectory
from domain.support import SupportCase
from domain.usage import UsageLine
from schemas import SchemaVersion, registry

_ACCOUNT = CustomerAccount
SCHEMA_OF_EVENT: dict[type, str] = {
    _ACCOUNT.Opened: "billing.ledger.AccountOpened",
    _ACCOUNT.ProfileChanged: "billing.ledger.AccountProfileChanged",
    _ACCOUNT.CollectionsPolicyAssigned: "billing.ledger.CollectionsPolicyAssigned",
    _ACCOUNT.MeteredSubscriptionAdded: "billing.ledger.MeteredSubscriptionAdded",
    _ACCOUNT.SeatSubscriptionAdded: "billing.ledger.SeatSubscriptionAdded",
    _ACCOUNT.SeatsChanged: "billing.ledger.SeatsChanged",
    _ACCOUNT.Closed: "billing.ledger.AccountClosed",
    _ACCOUNT.InvoiceIssued: "billing.ledger.InvoiceIssued",
    _ACCOUNT.CreditBalanceApplied: "billing.ledger.CreditBalanceApplied",
    _ACCOUNT.PaymentReceived: "billing.ledger.PaymentReceived",
    _ACCOUNT.PaymentReversed: "billing.ledger.PaymentReversed",
    _ACCOUNT.Refunded: "billing.ledger.Refunded",
    _ACCOUNT.CreditNoteIssued: "billing.ledger.CreditNoteIssued",
    _ACCOUNT.InvoiceWrittenOff: "billing.ledger.InvoiceWrittenOff",
    _ACCOUNT.ReminderSent: "billing.ledger.ReminderSent",
    _ACCOUNT.SubscriptionsSuspended: "billing.ledger.SubscriptionsSuspended",
    _ACCOUNT.SubscriptionsReinstated: "billing.ledger.SubscriptionsReinstated",
    _ACCOUNT.DeprovisioningWarningSent: "billing.ledger.DeprovisioningWarningSent",
    _ACCOUNT.CollectionsHoldPlaced: "billing.ledger.CollectionsHoldPlaced",
    _ACCOUNT.CollectionsHoldReleased: "billing.ledger.CollectionsHoldReleased",
    UsageLine.Recorded: "billing.ledger.UsageRecorded",
    UsageLine.Invoiced: "billing.ledger.UsageInvoiced",
    StaffDirectory.Created: "billing.ledger.StaffDirectoryCreated",
    StaffDirectory.RoleGranted: "billing.ledger.RoleGranted",
    StaffDirectory.RoleRevoked: "billing.ledger.RoleRevoked",
    PolicyBook.Created: "billing.ledger.PolicyBookCreated",
    PolicyBook.PolicyPublished: "billing.ledger.CollectionsPolicyPublished",
    NumberSeries.Started: "billing.ledger.NumberSeriesStarted",
    NumberSeries.NumberTaken: "billing.ledger.NumberTaken",
    SupportCase.Opened: "billing.ledger.SupportCaseOpened",
    SupportCase.NoteAdded: "billing.ledger.SupportCaseNoteAdded",
    SupportCase.Escalated: "billing.ledger.SupportCaseEscalated",
    SupportCase.Resolved: "billing.ledger.SupportCaseResolved",
    SupportCase.Reopened: "billing.ledger.SupportCaseReopened",
}


# Fields of a ledger schema that its stored event does not hold. A usage line's Invoiced event
# (stored since the first release) carries the line's price terms, not its amount: the amount
# it publishes is the line's rated amount, from the same terms by the same function.
DERIVED_FIELDS: dict[type, dict[str, Callable[[Any], Any]]] = {
    UsageLine.Invoiced: {"amount": lambda e: price_usage(e.quantity, e.unit_price, e.markup_percent)},
}


def ledger_event_id(aggregate_id: UUID, version: int) -> UUID:
    """The same stored event gets the same id however often it is published:
    uuid5(aggregate_id, str(version))."""
    return name_based_id(aggregate_id.bytes, str(version))


def ledger_event_id_text(aggregate_id: UUID, version: int) -> str:
    """str(ledger_event_id(aggregate_id, version)): what the record and the header carry."""
    return name_based_id_text(aggregate_id.bytes, str(version))


# Every ledger schema starts with these, in this order (the record keeps the schema's order).
COMMON_FIELDS = ("event_id", "notification_id", "aggregate_id", "aggregate_version", "customer_id", "occurred_at")


@cache
def _layout(event_type: type) -> tuple[SchemaVersion, tuple[str, ...], Callable[[Any], tuple]]:
    """The event type's ledger schema, the fields read off the event (not the common ones),
    in the schema's order, and a getter of their values, all at once."""
    schema = registry().latest(SCHEMA_OF_EVENT[event_type])
    own_fields = tuple(f["name"] for f in schema.parsed["fields"] if f["name"] not in COMMON_FIELDS)
    derived = DERIVED_FIELDS.get(event_type, {})
    if derived or len(own_fields) < 2:  # attrgetter of one name gives the value, not a tuple
        def values(event: Any) -> tuple:
            return tuple(derived[name](event) if name in derived else getattr(event, name) for name in own_fields)

        return schema, own_fields, values
    return schema, own_fields, attrgetter(*own_fields)


def to_ledger_record(event: Any, notification_id: int) -> tuple[SchemaVersion, dict[str, Any]]:
    schema, own_fields, values = _layout(type(event))
    record = {
        "event_id": ledger_event_id_text(event.originator_id, event.originator_version),
        "notification_id": notification_id,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        # staff, policy and number-series events belong to no customer
        "customer_id": getattr(event, "customer_id", ""),
        "occurred_at": event.timestamp,
    }
    record.update(zip(own_fields, values(event)))
    return schema, record

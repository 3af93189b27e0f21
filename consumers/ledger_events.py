"""How a stored domain event becomes an Avro ledger event on `billing.ledger.v1`.

The fields of each ledger schema are read off the domain event by name; the few
common ones that the library names differently are mapped here. Events of no customer
(staff, policies, number series) carry an empty customer id, and so share one key.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from domain.account import CustomerAccount
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


def ledger_event_id(aggregate_id: UUID, version: int) -> UUID:
    """The same stored event gets the same id however often it is published."""
    return uuid5(aggregate_id, str(version))


def to_ledger_record(event: Any, notification_id: int) -> tuple[SchemaVersion, dict[str, Any]]:
    schema = registry().latest(SCHEMA_OF_EVENT[type(event)])
    common = {
        "event_id": str(ledger_event_id(event.originator_id, event.originator_version)),
        "notification_id": notification_id,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "occurred_at": event.timestamp,
        # staff, policy and number-series events belong to no customer
        "customer_id": getattr(event, "customer_id", ""),
    }
    record = {
        field["name"]: common[field["name"]] if field["name"] in common else getattr(event, field["name"])
        for field in schema.parsed["fields"]
    }
    return schema, record

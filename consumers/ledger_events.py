"""How a stored domain event becomes an Avro ledger event on `billing.ledger.v1`.

The fields of each ledger schema are read off the domain event by name; the few
common ones that the library names differently are mapped here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from domain.account import CustomerAccount
from domain.usage import UsageLine
from schemas import SchemaVersion, registry

SCHEMA_OF_EVENT: dict[type, str] = {
    CustomerAccount.Opened: "billing.ledger.AccountOpened",
    CustomerAccount.MeteredSubscriptionAdded: "billing.ledger.MeteredSubscriptionAdded",
    CustomerAccount.Closed: "billing.ledger.AccountClosed",
    UsageLine.Recorded: "billing.ledger.UsageRecorded",
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
    }
    record = {
        field["name"]: common[field["name"]] if field["name"] in common else getattr(event, field["name"])
        for field in schema.parsed["fields"]
    }
    return schema, record

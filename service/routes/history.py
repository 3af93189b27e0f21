"""A customer's history from the event store, and its balance as it was at a moment.

The history pages by notification id (the store's order, which a customer's events follow);
each event is the record the ledger topic carries (schemas/billing.ledger.*), its amounts
(the fields the schemas document as integer minor units) as money.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Query, Request
from psycopg.rows import tuple_row
from psycopg.sql import SQL
from pydantic import BaseModel, Field

from domain.roles import Permission
from readside.event_log import COLUMNS, events_table, to_ledger_events
from projections.balances import BALANCES_VIEW
from schemas import registry
from service.auth import context, endpoint
from service.errors import ServiceError
from service.routes import new_router
from service.routes.views import row_model, row_out
from service.values import UtcTime, as_json, paged

router = new_router("history")
MINOR_UNITS = "integer minor units"
OWN = {"notification_id", "occurred_at", "actor", "customer_id"}  # shown beside the record, not in it


@cache
def money_fields() -> frozenset[str]:
    """The fields every ledger schema documents as integer minor units, nested records included."""
    found: set[str] = set()

    def visit(schema: Any) -> None:
        if isinstance(schema, list):
            for branch in schema:
                visit(branch)
        elif isinstance(schema, dict):
            for field in schema.get("fields", []):
                if MINOR_UNITS in field.get("doc", ""):
                    found.add(field["name"])
                visit(field["type"])
            visit(schema.get("items"))
            visit(schema.get("values"))

    for name, versions in registry().versions_of.items():
        if name.startswith("billing.ledger."):
            visit(versions[-1].source)
    return frozenset(found)


def with_money(value: Any, currency: str | None, name: str | None = None) -> Any:
    if name in money_fields() and isinstance(value, int) and not isinstance(value, bool) and currency:
        return {"amount": value, "currency": currency}
    if isinstance(value, dict):
        return {k: with_money(v, currency, k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_money(v, currency) for v in value]
    return as_json(value)


class HistoryEvent(BaseModel):
    notification_id: int = Field(description="its place in the event store's log")
    occurred_at: UtcTime = Field(description="business time")
    recorded_at: UtcTime | None = Field(description="when the database committed it (null: stored before the store kept it)")
    event: str = Field(description="the ledger event type (schemas/billing.ledger.<event>.v1.avsc)")
    actor: str
    record: dict[str, Any] = Field(description="the event's fields as the ledger topic carries them; amounts as money")


class HistoryPage(BaseModel):
    data: list[HistoryEvent]
    has_more: bool
    next: str | None = Field(description="pass as `starting_after` for the next page (a notification id)")


@endpoint(router, "GET", "/customers/{customer_id}/history", needs=Permission.READ_BILLING_VIEWS,
          response_model=HistoryPage, summary="the customer's events from the event store, in order")
def history(customer_id: str, request: Request, limit: int = Query(100, ge=1, le=1000),
            starting_after: int = Query(0, ge=0, description="the notification id the previous page ended with")) -> HistoryPage:
    ctx = context(request)
    currency = ctx.ledger.get_account(customer_id).currency  # 404 for a customer without an account
    statement = SQL("SELECT " + COLUMNS + ", recorded_at FROM {} WHERE customer_id = %s AND notification_id > %s "
                    "ORDER BY notification_id LIMIT %s").format(events_table(ctx.settings.store_schema))
    with ctx.views_pool.connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as cursor:
        rows = cursor.execute(statement, (customer_id, starting_after, limit + 1)).fetchall()
    # The cursor is the last row read, decoded or not (an event type the topic does not carry is skipped).
    page = paged(rows, limit, lambda row: str(row[0]))
    recorded = {row[0]: row[-1] for row in page["data"]}
    events = to_ledger_events([row[:-1] for row in page["data"]], ctx.ledger.mapper)
    page["data"] = [
        HistoryEvent(notification_id=record["notification_id"], occurred_at=record["occurred_at"],
                     recorded_at=recorded[record["notification_id"]], event=event_type, actor=record["actor"],
                     record=with_money({k: v for k, v in record.items() if k not in OWN}, currency))
        for event_type, record in events
    ]
    return HistoryPage(**page)


BalanceRow = row_model(BALANCES_VIEW)


@endpoint(router, "GET", "/customers/{customer_id}/balance", needs=Permission.READ_BILLING_VIEWS,
          response_model=BalanceRow, summary="the customer's balance as it was at a moment (business time)")
def balance_as_of(customer_id: str, request: Request,
                  as_of: datetime = Query(description="RFC 3339 with a zone")) -> dict:
    from readside.history import balance_as_of as folded

    if as_of.tzinfo is None:
        raise ServiceError(400, "malformed_request", "as_of: give a time zone (RFC 3339)", field="as_of")
    row = folded(context(request).settings, customer_id, as_of)
    if row is None:
        raise ServiceError(404, "unknown_customer", f"customer {customer_id!r} had no account at {as_of.isoformat()}",
                           customer_id=customer_id)
    return row_out(BALANCES_VIEW, row)

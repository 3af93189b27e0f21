"""One customer's events from the event store: `ledger history` and `ledger balance --as-of`.

A customer's events are spread over many aggregates (the account, one usage line per usage,
support cases...). They are found by the event store's index on its customer column, with
the notification id (eventstore/postgres.py), so one index range gives them in order. Why the store and not a read model: the history is the store's truth, current to the
last commit (a projector-maintained index lags by the projector's delay), and the index
costs the writers of the store a little per event instead of a second row per usage event
on the projector's hot path. It relies on the state being plain JSON, as the application
stores it (no cipher, no compression configured).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from domain.money import MINOR_UNIT_EXPONENT
from domain.policy import PolicyBook
from eventstore.postgres import open_application
from projections.balances import BALANCES_VIEW, BalancesProjection, usage_amount
from projections.base import LedgerEvent, Projection
from projections.registry import all_projections
from projections.views import create_helpers, view_statement
from readside.event_log import COLUMNS, events_table, to_ledger_events
from readside.settings import ReadSideSettings

# occurred_at: the business time the command carried; recorded_at: when the database committed
# the event (its transaction's time, which nobody passes; None for an event stored before the
# store kept it: unknown, never invented).
HISTORY_COLUMNS = ["notification_id", "occurred_at", "recorded_at", "event", "actor", "amount", "details"]
# Events of no customer that a customer's rows read: the policy its overdue is counted by.
SHARED_EVENTS = (PolicyBook.PolicyPublished,)
COMMON_FIELDS = {"event_id", "notification_id", "aggregate_id", "aggregate_version", "customer_id", "occurred_at", "actor"}


def customer_events(settings: ReadSideSettings, customer_id: str, shared: bool = False) -> list[LedgerEvent]:
    """The customer's ledger events in notification order, converted as the relay converts them;
    with `shared`, the events of no customer that its rows read too (SHARED_EVENTS)."""
    app = open_application(settings)  # also sets up the store and its customer index
    try:
        where, params = "customer_id = %s", [customer_id]
        if shared:
            where += " OR (customer_id = '' AND topic = ANY(%s))"
            params.append([get_topic(t) for t in SHARED_EVENTS])
        statement = SQL("SELECT " + COLUMNS + " FROM {} WHERE " + where + " ORDER BY notification_id").format(
            events_table(settings.store_schema)
        )
        with psycopg.connect(settings.database_url) as conn, conn.cursor(binary=True) as cursor:
            rows = cursor.execute(statement, params).fetchall()
        return to_ledger_events(rows, app.mapper)
    finally:
        app.close()


def recorded_times(settings: ReadSideSettings, customer_id: str) -> dict[int, datetime | None]:
    """When each of the customer's events was committed, by notification id."""
    statement = SQL("SELECT notification_id, recorded_at FROM {} WHERE customer_id = %s").format(events_table(settings.store_schema))
    with psycopg.connect(settings.database_url) as conn:
        return dict(conn.execute(statement, (customer_id,)).fetchall())


def customer_history(settings: ReadSideSettings, customer_id: str) -> list[dict]:
    currency = None
    rows = []
    events = customer_events(settings, customer_id)
    recorded = recorded_times(settings, customer_id)
    for event_type, record in events:
        currency = record.get("currency") or currency
        rows.append(
            {
                "notification_id": record["notification_id"],
                "occurred_at": record["occurred_at"],
                "recorded_at": recorded.get(record["notification_id"]),
                "event": event_type,
                "actor": record["actor"],
                "amount": amount_of(event_type, record, currency),
                "details": details_of(record),
            }
        )
    return rows


def amount_of(event_type: str, record: dict[str, Any], currency: str | None) -> Decimal | None:
    """The money an event moves, in the currency's units: usage at its exact price; the
    integer minor units of invoices, payments and credits scaled to the currency."""
    if event_type == "UsageRecorded":
        return usage_amount(record)  # the amount the ledger rated, as the event carries it
    if event_type == "UsageInvoiced":
        return None  # billing a line moves no money: the invoice does
    for name in ("total", "amount"):
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value).scaleb(-MINOR_UNIT_EXPONENT.get(currency or "", 2))
        if isinstance(value, Decimal):
            return value
    return None


def details_of(record: dict[str, Any]) -> str:
    shown = []
    for name, value in record.items():
        if name in COMMON_FIELDS or name in ("total", "amount") or value in (None, "", [], {}):
            continue
        shown.append(f"{name}={value.isoformat() if isinstance(value, datetime) else value}")
    return " ".join(shown)


def fold_in_temp(conn: psycopg.Connection, projection: Projection, events: list[LedgerEvent]) -> None:
    """Apply events to the projection's tables created in pg_temp: the same pure functions
    and the same SQL as the live projector, on this session's private copy."""
    with conn.cursor() as cursor:
        cursor.execute("SET search_path TO pg_temp")
        projection.create(cursor)
        projection.write(cursor, projection.changes(projection.relevant(events)))


def balance_as_of(settings: ReadSideSettings, customer_id: str, as_of: datetime) -> dict | None:
    """The customer's balance row, every column of the view, from the events whose business
    time is at or before `as_of`, read through the balances view as of that day. Its overdue
    reads the invoices and the collections read models, so every projection is folded, with
    the policies published by then (the customer's policy may be a published one)."""
    events = [(t, e) for t, e in customer_events(settings, customer_id, shared=True) if e["occurred_at"] <= as_of]
    with psycopg.connect(settings.database_url) as conn:
        if conn.execute("SELECT to_regprocedure(%s)", (f'"{settings.views_schema}".today()',)).fetchone()[0] is None:
            with conn.cursor() as cursor:
                create_helpers(cursor, settings.views_schema)  # no projector has run here yet
        for projection in all_projections():
            fold_in_temp(conn, projection, events)
        conn.execute("SELECT set_config('ledger.as_of', %s, false)", (as_of.date().isoformat(),))
        select = view_statement(BalancesProjection(), BALANCES_VIEW, "pg_temp", settings.views_schema)
        columns = list(BALANCES_VIEW.columns)
        cursor = conn.execute(
            SQL("SELECT {} FROM ({}) AS balances WHERE customer_id = %s").format(
                SQL(", ").join(map(Identifier, columns)), select
            ),
            (customer_id,),
        )
        row = cursor.fetchone()
        return None if row is None else dict(zip(columns, row))

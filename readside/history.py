"""One customer's events from the event store, and its balance as of a moment (the API's
history and balance, `ledger history` and `ledger balance --as-of`).

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

import psycopg
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from domain.policy import PolicyBook
from eventstore.postgres import open_application
from projections.balances import BALANCES_VIEW, BalancesProjection
from projections.base import LedgerEvent, Projection
from projections.registry import all_projections
from projections.views import create_helpers, view_statement
from readside.event_log import COLUMNS, events_table, to_ledger_events
from readside.settings import ReadSideSettings

# Events of no customer that a customer's rows read: the policy its overdue is counted by.
SHARED_EVENTS = (PolicyBook.PolicyPublished,)


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

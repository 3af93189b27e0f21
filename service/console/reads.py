"""What the console's pages read: the same views as the API (service/routes/views.read), as
of the staff member's day, plus the two reads a person needs that a view filter does not
give: a search by part of a name, and the timeline with the kind of each event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import psycopg
from psycopg.sql import SQL, Identifier, Literal

from projections import load_sql
from readside.queries import ViewQuery
from projections.balances import BALANCES_VIEW
from projections.collections import COLLECTIONS_VIEW, STATUSES
from projections.invoices import INVOICES_VIEW
from projections.support import SUPPORT_VIEW
from service.auth import context
from service.routes.views import read

SEARCH_LIMIT = 50
# The invoices view's ageing buckets, as a person reads them.
BUCKETS = {"not_due": "current", "0-30": "1–30 days", "31-60": "31–60 days", "61-90": "61–90 days", ">90": "over 90 days"}


def one(request, view, customer_id: str, today: date) -> dict | None:
    rows = read(request, ViewQuery(view, key=customer_id, as_of=today))
    return rows[0] if rows else None


def support(request, customer_id: str, today: date) -> dict | None:
    return one(request, SUPPORT_VIEW, customer_id, today)


def collection(request, customer_id: str, today: date) -> dict | None:
    return one(request, COLLECTIONS_VIEW, customer_id, today)


def invoices(request, customer_id: str, today: date) -> list[dict]:
    return read(request, ViewQuery(INVOICES_VIEW, key=customer_id, as_of=today))


def search(request, text: str, today: date) -> list[dict]:
    """Customers whose id is the text, or whose name contains it (case ignored)."""
    ctx = context(request)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = SQL("SELECT customer_id, customer_name, currency, balance, overdue, days_past_due FROM {} "
                "WHERE customer_id = %s OR customer_name ILIKE %s ORDER BY customer_id LIMIT %s").format(
        Identifier(ctx.settings.views_schema, BALANCES_VIEW.name))
    return _as_of(ctx, today, query, (text, pattern, SEARCH_LIMIT))


def _as_of(ctx, today: date, query, params: tuple | dict) -> list[dict]:
    """A query of the views as of the day (the views' `today()`); nothing projected yet: no rows."""
    try:
        with ctx.views_pool.connection() as conn, conn.transaction():
            conn.execute("SELECT set_config('ledger.as_of', %s, true)", (today.isoformat(),))
            return conn.execute(query, params).fetchall()
    except psycopg.errors.UndefinedTable:
        return []


def timeline(request, customer_id: str, limit: int = 200) -> list[dict]:
    """The support view's timeline with each event's kind (to say whose act it was)."""
    ctx = context(request)
    query = SQL("SELECT occurred_at, event_type, sentence, actor FROM {} WHERE customer_id = %s "
                "ORDER BY notification_id DESC LIMIT %s").format(Identifier(ctx.settings.read_schema, "customer_timeline"))
    with ctx.views_pool.connection() as conn:
        return conn.execute(query, (customer_id, limit)).fetchall()


@dataclass(frozen=True)
class Bar:
    bucket: str
    label: str
    amount: int
    customers: int


PAGE = 50  # customers behind a bar, a page at a time


def _over_all(ctx, day: date) -> dict:
    """What the statements over all customers name: the read models, the views' rules, and
    the day as a constant of the query (the rules' two-argument forms: views.sql)."""
    return {"read": Identifier(ctx.settings.read_schema), "views": Identifier(ctx.settings.views_schema),
            "day": SQL("{}::date").format(Literal(day.isoformat()))}


# The invoices view's open invoices (status 'open': nothing written off, something open) and
# its ageing rule, read off the read model's partial index instead of the view's rows.
OPEN = "amount_open > 0 AND written_off = 0"


def ageing(request, today: date) -> dict[str, list[Bar]]:
    """Per currency, what open invoices hold in each ageing bucket, and how many customers:
    from the open invoices' index alone (invoices.sql, open_invoices_by_currency), grouped per
    customer first so that no customer is counted twice in a bucket."""
    ctx = context(request)
    rows = _as_of(ctx, today, SQL(
        "SELECT currency, ageing_bucket, sum(amount)::bigint AS amount, count(*) AS customers FROM ("
        "SELECT currency, {views}.ageing_bucket(due_date, {day}) AS ageing_bucket, customer_id, sum(amount_open) AS amount "
        "FROM {read}.invoices WHERE " + OPEN + " GROUP BY 1, 2, 3) per_customer GROUP BY 1, 2").format(
        **_over_all(ctx, today)), ())
    found = {(r["currency"], r["ageing_bucket"]): r for r in rows}
    return {
        currency: [Bar(bucket, label, found.get((currency, bucket), {}).get("amount", 0),
                       found.get((currency, bucket), {}).get("customers", 0)) for bucket, label in BUCKETS.items()]
        for currency in sorted({c for c, _ in found})
    }


def customers_in_bucket(request, today: date, currency: str, bucket: str, after: str = "",
                        limit: int = PAGE) -> list[dict]:
    """The customers behind a bar, by customer id after `after`, with what they have open in
    it: the open invoices' index walked in customer order, stopping at `limit` customers."""
    ctx = context(request)
    return _as_of(ctx, today, SQL(
        "SELECT customer_id, sum(amount_open)::bigint AS amount FROM {read}.invoices WHERE " + OPEN +
        " AND currency = %s AND customer_id > %s AND {views}.ageing_bucket(due_date, {day}) = %s "
        "GROUP BY customer_id ORDER BY customer_id LIMIT %s").format(**_over_all(ctx, today)),
        (currency, after, bucket, limit))


def balance_over_time(request, customer_id: str) -> list[tuple]:
    """(business time, balance after it) for each event that moved the balance, from the event
    store (the history's source), folded with the balances projection's own change rule."""
    from psycopg.rows import tuple_row

    from readside.event_log import COLUMNS, events_table, to_ledger_events
    from projections.balances import MONEY_EVENTS, change_for

    ctx = context(request)
    statement = SQL("SELECT " + COLUMNS + " FROM {} WHERE customer_id = %s ORDER BY notification_id").format(
        events_table(ctx.settings.store_schema))
    with ctx.views_pool.connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as cursor:
        rows = cursor.execute(statement, (customer_id,)).fetchall()
    points, total = [], None
    for event_type, record in to_ledger_events(rows, ctx.ledger.mapper, MONEY_EVENTS.__contains__):
        change = change_for(event_type, record)
        total = change if total is None else total.then(change)
        points.append((record["occurred_at"], total.outstanding - total.credit_balance))
    return points


@cache
def _statuses_text() -> str:
    return load_sql("collections")["statuses"]


def _statuses(ctx, day: date) -> SQL:
    """Every customer's collection status and days past due on the day, computed at once (collections.sql)."""
    return SQL(_statuses_text()).format(**_over_all(ctx, day))


def collection_statuses(request, today: date) -> list[Bar]:
    """How many customers are in each collection status as of the day, in the view's order of
    statuses (a bar's length is its number of customers)."""
    ctx = context(request)
    rows = _as_of(ctx, today, SQL("SELECT collection_status, count(*) AS customers FROM ({}) s GROUP BY 1").format(
        _statuses(ctx, today)), ())
    found = {r["collection_status"]: r["customers"] for r in rows}
    return [Bar(status, status, found.get(status, 0), found.get(status, 0)) for status in STATUSES]


# A condition every customer of a status meets, for the walk of its customers (collections.sql,
# `customers in status`): the rarer statuses walk an index of their own customers.
NARROWED = {
    "suspended": "c.customer_id IN (SELECT x.customer_id FROM {read}.suspensions x)",
    "written-off": "c.customer_id IN (SELECT d.customer_id FROM {read}.customer_dues d WHERE d.written_off)",
    "on-hold": "c.hold_until >= {day}",
    "in-dunning": "c.customer_id IN (SELECT d.customer_id FROM {read}.customer_dues d WHERE d.reminded)",
    "overdue": "true",
    "current": "true",
}


@cache
def _in_status_text() -> str:
    return load_sql("collections")["customers in status"]


def customers_in_status(request, today: date, status: str, after: str = "", limit: int = PAGE) -> list[dict]:
    """The customers behind a status bar, by customer id after `after`: the customers walked
    in the order of their index until `limit` in the status are found (collections.sql), then
    only theirs read from the collections view (its reason in words)."""
    ctx = context(request)
    over_all = _over_all(ctx, today)
    narrowed = SQL(NARROWED[status]).format(**over_all)
    chosen = [r["customer_id"] for r in _as_of(ctx, today, SQL(_in_status_text()).format(narrowed=narrowed, **over_all),
                                                 {"after": after, "status": status, "limit": limit})]
    rows = _as_of(ctx, today, SQL("SELECT customer_id, currency, days_past_due, overdue_amount, reason FROM {} "
                                  "WHERE customer_id = ANY(%s)").format(
        Identifier(ctx.settings.views_schema, COLLECTIONS_VIEW.name)), (chosen,))
    by_id = {r["customer_id"]: r for r in rows}
    return [by_id[c] for c in chosen if c in by_id]


def collections_candidates(request, day: date, after: str, limit: int) -> list[str]:
    """The projected accounts a collections run on `day` could act on, by customer id after
    `after`: a run only acts on an account with an open invoice due by then (reminders,
    suspension, write-off), a suspension (warning, reinstatement) or a hold (its end). A
    superset: the domain's own run decides (service/console/preview.py). Walks the
    customers in order and stops at `limit`: a page costs the same for 100 or 100,000."""
    ctx = context(request)
    read = Identifier(ctx.settings.read_schema)
    statement = SQL(
        "SELECT c.customer_id FROM {read}.customer_collections c WHERE c.customer_id > %s AND ("
        "c.hold_kind IS NOT NULL "
        "OR EXISTS (SELECT 1 FROM {read}.suspensions s WHERE s.customer_id = c.customer_id) "
        "OR EXISTS (SELECT 1 FROM {read}.invoices i WHERE i.customer_id = c.customer_id AND i.amount_open > 0 "
        "AND i.due_date <= %s)) ORDER BY c.customer_id LIMIT %s").format(read=read)
    return [r["customer_id"] for r in _as_of(ctx, day, statement, (after, day, limit))]

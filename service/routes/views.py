"""The four views, as analysts and the CLI read them (readside/queries.py): filters as query
parameters with the CLI's option names, keyset paging (`limit`, `starting_after`), `as_of`.

Each endpoint is built from its View (projections/): its columns, filters and permission
are the view's own, so that a column or filter added to a view appears here unchanged.
"""

from __future__ import annotations

import inspect
from datetime import date
from typing import Any

import orjson
from fastapi import Query, Request, Response
from pydantic import BaseModel, Field, create_model

from readside.queries import ViewQuery
from projections.base import View
from projections.registry import view_named
from service.auth import context, endpoint
from service.errors import ServiceError
from service.lanes import Lane, header_text
from service.versions import tag_answer
from service.routes import new_router
from service.values import Money, as_json, paged

router = new_router("views", tagged_reads=True)  # an ETag, and 304 to If-None-Match
MAX_PAGE = 500


def _json(value: Any, name: str | None, view: View, currency: str | None) -> Any:
    """An amount in integer minor units becomes Money; everything else `as_json`."""
    if name in view.amounts and isinstance(value, int) and not isinstance(value, bool) and currency:
        return {"amount": value, "currency": currency}
    if isinstance(value, list):
        return [_json(v, None, view, currency) for v in value]
    if isinstance(value, dict):
        return {k: _json(v, k, view, currency) for k, v in value.items()}
    return as_json(value)


def row_out(view: View, row: dict) -> dict:
    return {c: _json(row.get(c), c, view, row.get("currency")) for c in view.columns}


def row_model(view: View) -> type[BaseModel]:
    fields = {
        column: ((Money | str | None) if column in view.amounts else Any, Field(None, description=meaning))
        for column, meaning in view.columns.items()
    }
    return create_model(f"{view.name.title().replace('_', '')}Row", **fields)


def page_model(view: View, row: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        f"{row.__name__}Page", data=(list[row], ...), has_more=(bool, ...),
        next=(str | None, Field(None, description=f"pass as `starting_after` for the next page (a {view.key})")),
    )


def _filter_values(view: View, given: dict[str, Any]) -> list:
    chosen = []
    for option in view.filters:
        text = given.get(_keyword(option.option))
        if text is None:
            continue
        if option.choices and text not in option.choices:
            raise ServiceError(400, "malformed_request", f"{option.option}: {text!r} is not one of {', '.join(option.choices)}",
                               field=option.option)
        try:
            chosen.append((option, option.type(str(text))))
        except (ValueError, ArithmeticError):
            raise ServiceError(400, "malformed_request", f"{option.option}: {text!r} is not a valid value",
                               field=option.option) from None
    return chosen


def read(request: Request, query: ViewQuery) -> list[dict]:
    return rows_of(context(request), query)


def rows_of(ctx, query: ViewQuery) -> list[dict]:
    with ctx.views_pool.connection() as conn:
        return query.rows(conn, ctx.settings.views_schema)


def list_endpoint(query_name: str) -> None:
    _, view = view_named(query_name)
    page_of = page_model(view, row_model(view))

    def read_page(request: Request, **params: Any):
        filters = _filter_values(view, params)
        limit = params["limit"]
        query = ViewQuery(view, key=params["customer_id"], filters=filters, after=params["starting_after"],
                          limit=limit + 1, as_of=params["as_of"])
        rows = [row_out(view, r) for r in read(request, query)]
        return paged(rows, limit, lambda row: row[view.key])

    parameters = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        _query("customer_id", str | None, Query(None, description="only this customer's rows")),
        _query("as_of", date | None, Query(None, description="read as of this day: days past due, ageing, "
                                           "collection status (default: today, UTC)")),
        _query("limit", int, Query(100, ge=1, le=MAX_PAGE)),
        _query("starting_after", str | None,
               Query(None, description=f"the page after this {view.key} (the `next` of the previous page)")),
    ] + [
        _query(option.option, int | None if option.type is int else str | None,
               Query(None, alias=option.option,
                     description=option.help + (f" (one of {', '.join(option.choices)})" if option.choices else "")))
        for option in view.filters
    ]
    read_page.__signature__ = inspect.Signature(parameters)
    read_page.__name__ = f"read_{view.query_name}"
    endpoint(router, "GET", f"/views/{view.query_name}", needs=view.permission, response_model=page_of,
             summary=view.help)(read_page)


def _query(name: str, annotation: Any, query: Any) -> inspect.Parameter:
    # A filter keeps the CLI's option name (`min-days-past-due`) as its alias.
    return inspect.Parameter(_keyword(name), inspect.Parameter.KEYWORD_ONLY, default=query, annotation=annotation)


def _keyword(option: str) -> str:
    return option.replace("-", "_")


for _name in ("balances", "invoices", "collections"):
    list_endpoint(_name)

_, SUPPORT = view_named("support")
SupportRow = row_model(SUPPORT)


@endpoint(router, "GET", "/views/support/{customer_id}", needs=SUPPORT.permission, response_model=SupportRow,
          summary=SUPPORT.help)
def read_support(customer_id: str, request: Request, as_of: date | None = Query(None)) -> Response:
    return Response(support_answer(context(request), customer_id, as_of), media_type="application/json")


def support_answer(ctx, customer_id: str, as_of: date | None) -> bytes:
    """A customer's support view as the API answers it: its JSON, built once (the row is
    already what SupportRow declares; checking it again against the model cost more than the query)."""
    rows = rows_of(ctx, ViewQuery(SUPPORT, key=customer_id, as_of=as_of))
    if not rows:
        raise ServiceError(404, "not_projected", f"no support view for customer {customer_id!r} "
                           "(no such account, or not projected yet)", customer_id=customer_id)
    return orjson.dumps(row_out(SUPPORT, rows[0]))


class SupportViewLane(Lane):
    """A support view as of today (no query): read_support's answer, tagged the same way."""

    prefix = "/v1/views/support/"
    needs = SUPPORT.permission

    def answer(self, ctx, who, headers: dict[bytes, bytes], key: str, body: bytes) -> Response:
        return tag_answer(Response(support_answer(ctx, key, None), media_type="application/json"),
                          header_text(headers, b"if-none-match"))

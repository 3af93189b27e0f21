"""Values as the API writes them: money as integer minor units with the currency, decimals
as strings, times RFC 3339 in UTC, dates YYYY-MM-DD; and the business time a request may give."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from domain.bounds import MAX_AMOUNT_MINOR, check_business_time

# A decimal travels as a string ("0.0416"), never a JSON number: no float on the way.
DecimalString = Annotated[
    str, StringConstraints(pattern=r"^-?[0-9]{1,38}(\.[0-9]{1,38})?$"), Field(examples=["0.0416"])
]
UtcTime = Annotated[datetime, PlainSerializer(lambda t: rfc3339(t), return_type=str)]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Strict(BaseModel):
    """A request body: unknown fields are refused (400), so that nothing, an `actor` field
    included, is silently taken or dropped."""

    model_config = ConfigDict(extra="forbid")


class Money(BaseModel):
    amount: int = Field(description="integer minor units of the currency (cents for EUR)",
                        ge=-MAX_AMOUNT_MINOR, le=MAX_AMOUNT_MINOR)
    currency: str = Field(description="ISO 4217 code", examples=["EUR"], pattern=r"^[A-Z]{3}$")


def money(amount: int, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


class Command(Strict):
    at: datetime | None = Field(
        None, description="business time (RFC 3339 with a zone); default: the server's now. "
        "Not before 2000-01-01, not more than a day ahead of the server's clock.",
    )


def business_time(at: datetime | None, now: datetime) -> datetime:
    """The time a command takes effect: now, or what the caller gave within the bounds."""
    return now if at is None else check_business_time(at, "at", now=now)


def as_json(value: Any) -> Any:
    """A read model's value as JSON: decimals as strings, times RFC 3339 UTC, dates ISO."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


class Changed(BaseModel):
    changed: bool = Field(description="false when the same command was done before (a retry): nothing changed")


def paged(rows: list, limit: int, cursor: Callable[[Any], str]) -> dict[str, Any]:
    """A page (`data`, `has_more`, `next`) of rows fetched with one more than `limit`: keyset
    paging, the cursor of the next page is the key of the last row shown."""
    page = rows[:limit]
    more = len(rows) > limit
    return {"data": page, "has_more": more, "next": cursor(page[-1]) if more else None}

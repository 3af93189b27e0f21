"""Usage over HTTP, for upstream systems that do not speak Kafka: a door to the usage topic,
not a second ingest.

Each JSON usage event is converted field by field to the Avro UsageEvent (decimals as
strings, times RFC 3339 with a zone), encoded as the upstream system would encode it,
and decoded again by the ingest's own `decode_usage`: the same checks, the same
dead-letter reason codes (consumers/dead_letters.REASONS). What passes is published to
the usage topic, keyed by customer id, with the publishing principal in a header; the
ingest records it (a usage id once, however often it is posted). What the ledger itself
refuses (an unknown customer, a subscription's meter) is decided there, and dead-lettered.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from consumers.ingest import USAGE_SCHEMA, decode_usage
from domain.roles import Permission
from schemas import DecodeError, SchemaRegistry, encode_with, registry
from service.auth import Principal, context, current_principal, endpoint
from service.routes import new_router
from service.values import Strict

router = new_router("usage")
MAX_BATCH = 1000
PUBLISHED_BY = "published_by"  # the Kafka header naming who posted the usage


class UsageBatch(Strict):
    events: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH, description="UsageEvents as JSON: the fields of schemas/billing.usage.UsageEvent, "
        "quantity as a decimal string, times RFC 3339 with a zone",
    )


class UsageItem(BaseModel):
    index: int
    event_id: str | None
    status: Literal["accepted", "refused"]
    reason: str | None = Field(None, description="the dead-letter reason code the ingest would give")
    detail: str | None = None


class UsageResult(BaseModel):
    accepted: int
    refused: int
    data: list[UsageItem]


def _wrong_type(name: str, expected: str, value: Any) -> DecodeError:
    return DecodeError("wrong_type", f"{name} is {type(value).__name__} {str(value)[:60]!r}, not {expected}")


def _field_value(name: str, kind: Any, value: Any) -> Any:
    logical = kind.get("logicalType") if isinstance(kind, dict) else None
    if logical == "decimal":
        if not isinstance(value, str):
            raise _wrong_type(name, "a decimal string", value)
        try:
            return Decimal(value)
        except InvalidOperation:
            raise _wrong_type(name, "a decimal string", value) from None
    if logical == "timestamp-micros":
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise _wrong_type(name, "an RFC 3339 time", value) from None
        if moment.tzinfo is None:
            raise _wrong_type(name, "an RFC 3339 time with a zone", value)
        return moment
    if kind == "string" and not isinstance(value, str):
        raise _wrong_type(name, "a string", value)
    if isinstance(kind, dict) and kind.get("type") == "map":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _wrong_type(name, "an object of strings", value)
    return value


def encode_usage(item: dict[str, Any], codec: SchemaRegistry) -> tuple[bytes, str]:
    """The item as Avro single-object bytes and its customer id; DecodeError with the reason
    the ingest would dead-letter it for."""
    schema = codec.latest(USAGE_SCHEMA)
    fields = {f["name"]: f for f in schema.source["fields"]}
    unknown = sorted(set(item) - set(fields))
    if unknown:
        raise DecodeError("wrong_schema", f"{', '.join(unknown)}: not fields of {schema.file_name}")
    record = {}
    for name, field in fields.items():
        if name in item:
            record[name] = _field_value(name, field["type"], item[name])
        elif "default" in field:
            record[name] = field["default"]
        else:
            raise DecodeError("missing_field", f"{name} is required")
    try:
        data = encode_with(schema, record)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise DecodeError("wrong_type", f"not a {schema.file_name} record: {exc}") from exc
    return data, decode_usage(data, codec).customer_id


class UsageDoor:
    """The producer that publishes posted usage, made on first use (the topic ensured then)."""

    def __init__(self, settings):
        self.settings = settings
        self._producer = None
        self._lock = threading.Lock()

    def producer(self):
        with self._lock:
            if self._producer is None:
                from consumers import kafka_clients

                kafka_clients.ensure_topics(self.settings)
                self._producer = kafka_clients.producer(self.settings)
            return self._producer

    def publish(self, messages: list[tuple[bytes, bytes]], principal: str) -> None:
        producer = self.producer()
        headers = [(PUBLISHED_BY, principal.encode())]
        sent = [producer.send(self.settings.usage_topic, key=key, value=value, headers=headers) for key, value in messages]
        producer.flush()
        for future in sent:
            future.get(timeout=0)  # raises the broker's refusal: the whole batch is then a 503, to retry

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()


@endpoint(router, "POST", "/usage", needs=Permission.PUBLISH_USAGE, response_model=UsageResult,
          summary="publish a batch of usage events to the usage topic; per item accepted, or refused with "
          "its dead-letter reason (safe to retry: a usage id is recorded once)")
def post_usage(body: UsageBatch, request: Request, who: Principal = Depends(current_principal)) -> UsageResult:
    codec = registry()
    items, messages = [], []
    for index, item in enumerate(body.events):
        event_id = item.get("event_id") if isinstance(item.get("event_id"), str) else None
        try:
            data, customer_id = encode_usage(item, codec)
        except DecodeError as refused:
            items.append(UsageItem(index=index, event_id=event_id, status="refused", reason=refused.reason,
                                   detail=refused.detail))
            continue
        messages.append((customer_id.encode(), data))
        items.append(UsageItem(index=index, event_id=event_id, status="accepted"))
    if messages:
        context(request).usage.publish(messages, who.id)
    accepted = len(messages)
    return UsageResult(accepted=accepted, refused=len(items) - accepted, data=items)

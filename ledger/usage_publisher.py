"""What an upstream system does: encode UsageEvents (Avro single-object) and publish them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from kafka import KafkaProducer

from schemas import registry

USAGE_SCHEMA = "billing.usage.UsageEvent"
_TIMES = ("usage_start", "usage_end", "observed_at")


class BadUsageLine(ValueError):
    pass


def usage_from_json(line: str, where: str) -> dict[str, Any]:
    """A UsageEvent from one JSON object; decimals and times are given as strings."""
    try:
        raw = json.loads(line)
        record = dict(raw)
        record["quantity"] = Decimal(str(raw["quantity"]))
        for name in _TIMES:
            record[name] = datetime.fromisoformat(raw[name])
        record.setdefault("attributes", {})
        return record
    except (json.JSONDecodeError, KeyError, TypeError, ArithmeticError, ValueError) as exc:
        raise BadUsageLine(f"{where}: not a usage event: {exc!r}") from exc


def publish_usage(producer: KafkaProducer, topic: str, records: Iterable[dict[str, Any]]) -> int:
    codec = registry()
    count = 0
    for record in records:
        producer.send(topic, key=record["customer_id"].encode(), value=codec.encode(USAGE_SCHEMA, record))
        count += 1
    producer.flush()
    return count

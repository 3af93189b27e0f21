"""CPU per decode of the records the ingest and the projector read most, the way they read them
now and the ways they read them before, in the same run: microseconds of process time per
record, the best of five passes over distinct records (no services started).

    .venv/bin/python -m bench.decode_cost [--records 5000]

- UsageEvent (the ingest): `SchemaRegistry.decode` (a straight read: fastavro on the schema
  stripped of its logical types, then schemas/logical.py's conversions), against the same
  registry reading with fastavro on the full schema (its decode before), and both reads alone;
- UsageRecorded v2 (the projector): `LedgerDecoder`'s straight read, uuids kept as text,
  against fastavro on the schema with only the uuids stripped (its read before) and on the
  full schema; and fastavro on the schema stripped of every logical type, converting nothing:
  the floor under any conversion.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import fastavro

from bench.common import report, say, usage_records
from schemas import HEADER_LENGTH, SchemaRegistry, registry
from schemas.logical import straight_reader
from schemas.walk import stripped

USAGE = "billing.usage.UsageEvent"
RECORDED = "billing.ledger.UsageRecorded"
UUID_ONLY = frozenset({"uuid"})  # the projector's read before: only the uuids stripped


def usage_recorded(usage: dict, n: int) -> dict:
    """The ledger event a usage event becomes (distinct ids, an exact amount of 24 places)."""
    unit_price, markup = Decimal("0.041") + Decimal(n % 13) / 1000, Decimal(n % 7)
    return {
        "event_id": str(uuid4()), "notification_id": n + 1, "aggregate_id": str(uuid4()), "aggregate_version": 1,
        "customer_id": usage["customer_id"], "occurred_at": usage["observed_at"] + timedelta(microseconds=n),
        "actor": "ingest:bench-metering", "usage_id": usage["event_id"], "source": usage["source_system"],
        "subscription_id": usage["subscription_id"], "product": usage["product"], "meter": usage["meter"],
        "quantity": usage["quantity"], "unit": usage["unit"], "period_start": usage["usage_start"],
        "period_end": usage["usage_end"], "currency": "EUR", "unit_price": unit_price.quantize(Decimal("1E-9")),
        "markup_percent": markup.quantize(Decimal("1E-4")),
        "amount": (usage["quantity"] * unit_price * (1 + markup / 100)).quantize(Decimal("1E-24")),
        "attributes": usage["attributes"],
    }


def fastavro_on(schema: dict) -> Callable[[bytes], dict]:
    parsed = fastavro.parse_schema(schema)

    def decode(data: bytes) -> dict:
        body = io.BytesIO(data)
        body.seek(HEADER_LENGTH)
        return fastavro.schemaless_reader(body, parsed, None)

    return decode


def microseconds_per_decode(decode: Callable[[bytes], object], messages: list[bytes]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for message in messages:
            decode(message)
        best = min(best, time.process_time() - started)
    return best * 1e6 / len(messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000,
                        help="distinct records of each schema (more than a field's remembered values: schemas/logical.py)")
    options = parser.parse_args()
    codec = registry()
    usage = usage_records([f"CUST-{n:04d}" for n in range(200)], options.records)
    for n, record in enumerate(usage):  # its own instant and quantity, as in real usage (bench usage shares an hour's)
        record["observed_at"] += timedelta(microseconds=n)
        record["quantity"] += Decimal(n).scaleb(-9)
    usage_messages = [codec.encode(USAGE, record) for record in usage]
    recorded_messages = [codec.encode(RECORDED, usage_recorded(record, n)) for n, record in enumerate(usage)]
    usage_schema, recorded_schema = codec.latest(USAGE), codec.latest(RECORDED)
    projector_read = straight_reader(recorded_schema.source, uuid_as_text=True)
    ingest_read = straight_reader(usage_schema.source)

    before = SchemaRegistry(list(codec.by_fingerprint.values()))
    before.straight = dict.fromkeys(before.by_fingerprint)  # no straight reader: fastavro on the full schema, as before

    figures = {
        "usage_event_registry_decode_us": microseconds_per_decode(lambda m: codec.decode(m, expect=USAGE), usage_messages),
        "usage_event_registry_decode_before_us": microseconds_per_decode(lambda m: before.decode(m, expect=USAGE), usage_messages),
        "usage_event_straight_read_us": microseconds_per_decode(lambda m: ingest_read.read(m, HEADER_LENGTH), usage_messages),
        "usage_event_fastavro_full_schema_us": microseconds_per_decode(fastavro_on(usage_schema.source), usage_messages),
        "usage_event_fastavro_all_stripped_us": microseconds_per_decode(fastavro_on(stripped(usage_schema.source)), usage_messages),
        "usage_recorded_straight_read_us": microseconds_per_decode(lambda m: projector_read.read(m, HEADER_LENGTH), recorded_messages),
        "usage_recorded_fastavro_uuids_stripped_us": microseconds_per_decode(
            fastavro_on(stripped(recorded_schema.source, only=UUID_ONLY)), recorded_messages),
        "usage_recorded_fastavro_full_schema_us": microseconds_per_decode(fastavro_on(recorded_schema.source), recorded_messages),
        "usage_recorded_fastavro_all_stripped_us": microseconds_per_decode(fastavro_on(stripped(recorded_schema.source)), recorded_messages),
    }
    for name, value in figures.items():
        say(f"{name}: {value:.2f} µs")
    report("usage_recorded_decode_us", figures["usage_recorded_straight_read_us"], "µs",
           **{name: round(value, 2) for name, value in figures.items()})


if __name__ == "__main__":
    main()

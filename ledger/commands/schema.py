"""`ledger schema show usage`: what an integrator needs to publish usage the ledger reads.

The schema as written, its parsing canonical form (what the fingerprint is computed over:
logical types dropped, as the Avro specification says), its CRC-64-AVRO fingerprint, and a
sample single-object frame in hex to compare a producer's bytes with. Needs no services.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.errors import LedgerError
from ledger.commands import add_command, add_group
from ledger.config import Settings

if TYPE_CHECKING:
    from schemas import SchemaVersion

# Short names for the schemas integrators write; any full name works too.
SHORT_NAMES = {"usage": "billing.usage.UsageEvent"}

_START = datetime(2026, 9, 1, tzinfo=timezone.utc)
SAMPLE_USAGE = {
    "event_id": "usage-0001",
    "source_system": "metering",
    "customer_id": "CUST-1",
    "subscription_id": "CUST-1-vm",
    "product": "Virtual Machines",
    "meter": "vcpu-hours",
    "quantity": Decimal("2.5"),  # written at the schema's scale 9: 2500000000
    "unit": "h",
    "usage_start": _START,
    "usage_end": _START + timedelta(hours=1),
    "observed_at": _START + timedelta(hours=1, minutes=1),
    "attributes": {"region": "westeurope"},
}
SAMPLES = {"billing.usage.UsageEvent": SAMPLE_USAGE}


def describe(schema: SchemaVersion) -> str:
    from fastavro.schema import to_parsing_canonical_form

    from schemas import HEADER_LENGTH, MARKER, encode_with

    fingerprint = schema.fingerprint
    lines = [
        f"schema: {schema.file_name}",
        json.dumps(schema.source, indent=2),
        "",
        "parsing canonical form (the fingerprint is of these bytes; it has no logical types):",
        to_parsing_canonical_form(schema.parsed),
        "",
        f"fingerprint (CRC-64-AVRO): {fingerprint.hex()}  (the 8 bytes after C3 01, little-endian)",
        f"  as a 64-bit number: 0x{int.from_bytes(fingerprint, 'little'):016x}",
    ]
    sample = SAMPLES.get(schema.name)
    if sample is not None:
        frame = encode_with(schema, sample)
        lines += [
            "",
            "sample single-object frame: marker C3 01, fingerprint, Avro binary body",
            f"  record: {json.dumps(sample, default=str)}",
            f"  frame:  {MARKER.hex()} {frame[len(MARKER):HEADER_LENGTH].hex()} {frame[HEADER_LENGTH:].hex()}",
        ]
    return "\n".join(lines)


def schema_named(name: str) -> SchemaVersion:
    from schemas import registry

    full = SHORT_NAMES.get(name, name)
    try:
        return registry().latest(full)
    except KeyError:
        known = ", ".join(sorted(SHORT_NAMES))
        raise LedgerError(f"no schema {name!r}: give {known} or a full name such as billing.ledger.UsageRecorded") from None


def cmd_schema_show(settings: Settings, args) -> int:
    print(describe(schema_named(args.name)))
    return 0


def register(sub) -> None:
    schema = add_group(sub, "schema", "the Avro schemas of the messages the ledger reads and writes")
    p = add_command(schema, "show", cmd_schema_show, "print a schema, its CRC-64-AVRO fingerprint and a sample frame in hex")
    p.add_argument("name", help="usage, or a schema's full name (billing.ledger.<Event>)")

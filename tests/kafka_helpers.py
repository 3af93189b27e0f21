"""Small helpers for tests that drive the ingest through the real broker."""

from __future__ import annotations

import time

from consumers import kafka_clients
from ledger.processes import IngestProcess, ingest_process
from ledger.usage_publisher import publish_usage


def publish(settings, records: list[dict]) -> None:
    """Publish usage records as upstream systems do (Avro, keyed by customer)."""
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    publish_usage(producer, settings.usage_topic, records)
    producer.close()


def publish_raw(settings, messages: list[tuple[bytes, bytes]], headers=None) -> None:
    """Send these exact bytes (key, value) to the usage topic, as any producer could."""
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    for key, value in messages:
        producer.send(settings.usage_topic, key=key, value=value, headers=headers or [])
    producer.flush()
    producer.close()


def ingest_until_idle(process: IngestProcess, timeout: float = 60.0) -> None:
    """Step one ingest (one group member, so one join) until it has read its topic to the end."""
    deadline = time.monotonic() + timeout
    while not (process.step() == 0 and process.idle()):
        if time.monotonic() > deadline:
            raise AssertionError(f"ingest not idle after {timeout}s")


def ingest_all(settings, app, codec=None) -> IngestProcess:
    """A fresh ingest that reads everything there is, then stops: every partition taken by
    itself, as `ledger ingest --until-idle` does (no group join to wait for)."""
    process = ingest_process(settings, app, until_idle=True)
    if codec is not None:
        process.ingest.codec = codec
    try:
        ingest_until_idle(process)
    finally:
        process.close()
    return process

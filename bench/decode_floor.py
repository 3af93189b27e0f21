"""The floor under the consumers' ratio targets: how fast kafka-python consumes messages when
each is only decoded (Avro single-object, fastavro, as ingest and the projector decode them),
against the same consumer doing nothing with them, in the same run.

    .venv/bin/python -m bench.decode_floor [--events 100000] [--customers 200]

No consumer that decodes every message can go faster than this, whatever else it does or
does not do; so a ratio target above this floor's ratio cannot be met with kafka-python and
fastavro on this machine. Measured for the usage topic (what ingest reads) and the ledger
topic (what the projector reads).
"""

from __future__ import annotations

from bench.bench_projector import fill_ledger_topic
from bench.common import bench_settings, open_customers, raw_consume_rate, report, say, size_options
from bench.ingest import publish, usage_messages
from consumers import kafka_clients
from eventstore.postgres import open_application
from schemas import registry


def floor(settings, topic: str, count: int) -> tuple[float, float]:
    """(raw consume rate, consume-and-decode rate) of `count` messages of `topic`."""
    codec = registry()

    def decode_each(records) -> None:
        for record in records:
            codec.decode(record.value)

    return raw_consume_rate(settings, topic, count), raw_consume_rate(settings, topic, count, decode_each)


def main() -> None:
    options = size_options(__doc__, "usage messages (and the ledger events they make) to consume")
    with bench_settings() as settings:
        kafka_clients.ensure_topics(settings)
        app = open_application(settings)
        customers = open_customers(app, options.customers)
        app.close()
        publish(settings, usage_messages(customers, options.events))
        usage_raw, usage_decoded = floor(settings, settings.usage_topic, options.events)
        say(f"usage topic: raw {usage_raw:,.0f}/s, decoding each {usage_decoded:,.0f}/s ({usage_decoded / usage_raw:.2f} of raw)")
    with bench_settings() as settings:
        kafka_clients.ensure_topics(settings, settings.ledger_topic)
        total = fill_ledger_topic(settings, options.events, options.customers)
        ledger_raw, ledger_decoded = floor(settings, settings.ledger_topic, total)
        say(f"ledger topic: raw {ledger_raw:,.0f}/s, decoding each {ledger_decoded:,.0f}/s ({ledger_decoded / ledger_raw:.2f} of raw)")
    report(
        "consume_and_decode_usage_per_second", usage_decoded, "messages/s",
        raw_consume_per_second=round(usage_raw, 1), ratio=round(usage_decoded / usage_raw, 3),
        ledger_consume_and_decode_per_second=round(ledger_decoded, 1),
        ledger_raw_consume_per_second=round(ledger_raw, 1), ledger_ratio=round(ledger_decoded / ledger_raw, 3),
        ingest_target_ratio=0.6, projector_target_ratio=0.7,
    )


if __name__ == "__main__":
    main()

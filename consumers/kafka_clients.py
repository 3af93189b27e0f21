"""Kafka clients with the settings this project relies on: the one place a producer, a
consumer or an admin client is built (tests/unit/test_kafka_security_settings.py keeps it so),
so that each one gets the broker's security settings."""

from __future__ import annotations

from typing import Protocol

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


class KafkaSettings(Protocol):
    """Where the broker and topics are; the wiring's `ledger.config.Settings` provides it."""

    bootstrap_servers: str | None
    usage_topic: str
    ledger_topic: str
    topic_partitions: int

    # the broker's security: KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_CAFILE (ledger/config.py)
    kafka_security_protocol: str
    kafka_sasl_mechanism: str | None
    kafka_sasl_username: str | None
    kafka_sasl_password: str | None
    kafka_ssl_cafile: str | None

    @property
    def dlq_topic(self) -> str: ...


def security_options(settings: KafkaSettings) -> dict:
    """What every client is given to reach the broker: TLS (with the CA that signed the broker's
    certificate) and SASL credentials, as configured; plain text with none (the embedded broker)."""
    protocol = settings.kafka_security_protocol
    options: dict = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    if protocol in ("SSL", "SASL_SSL"):
        options |= {"ssl_check_hostname": True, **({"ssl_cafile": settings.kafka_ssl_cafile} if settings.kafka_ssl_cafile else {})}
    return options


# Message sizes, all derived from KafkaSettings.max_message_bytes (M), so that they agree:
# - the usage and ledger topics are created with max.message.bytes = M;
# - the dead-letter topic with M + DEAD_LETTER_HEADROOM: a dead letter is the original
#   message plus the ingest's headers (reason, a detail cut to MAX_DETAIL_CHARS, source);
# - producers send up to M + DEAD_LETTER_HEADROOM (the broker's topic limit is the one that
#   refuses), consumers fetch as much per partition;
# - the dead-letter producer sets no limit of its own: it must pass on whatever the usage
#   topic delivered, also from a broker that enforces no topic limit (the embedded one).
# A fetch as a whole asks for no more than one partition's worth (M + the headroom): what a
# consumer holds of a backlog then does not grow with it (32 MiB fetches grew the ingest by
# tens of MiB while it was behind), and one largest message still fits.
DEAD_LETTER_HEADROOM = 64 * 1024
UNLIMITED_REQUEST_BYTES = 2**31 - 1  # Kafka's own bound: sizes are int32 on the wire


def topic_limit(settings: KafkaSettings, topic: str) -> int:
    """max.message.bytes of a topic the ledger creates."""
    return settings.max_message_bytes + (DEAD_LETTER_HEADROOM if topic in (settings.dlq_topic, settings.ledger_dlq_topic) else 0)


def request_limit(settings: KafkaSettings) -> int:
    """What one produced or fetched message of any of the ledger's topics may weigh."""
    return settings.max_message_bytes + DEAD_LETTER_HEADROOM


# How long a member may go unheard before the group drops it, and how quickly the group
# moves on. The embedded broker answers a join after about half the session timeout, at the
# first join and at every rebalance (its source holds each JoinGroup until half the session
# timeout has passed, in one-second steps; nothing else in the request shortens that: see
# docs/performance.md, the rebalance stall), and the members read nothing meanwhile (measured, one
# member joined by a second: 5.0 s of no reading at 10 s, 3.0 s at 6 s, 2.0 s at 4 s, 1.0 s
# at 2 s; the heartbeat interval only moves when the first member hears of the rebalance).
# 6 s is the least a Kafka broker accepts by default (group.min.session.timeout.ms); a
# heartbeat every 500 ms tells a member of a rebalance within half a second. The rebalance
# timeout (kafka-python sends max.poll.interval.ms) bounds how long the group waits for a
# member to rejoin: a batch must be processed within it, which the batch sizes allow by far.
FAST_GROUP = {
    "session_timeout_ms": 6_000,
    "heartbeat_interval_ms": 500,
    "max_poll_interval_ms": 30_000,
}


# Seconds a producer's flush waits for the broker's acknowledgements; past it the batch is not
# committed (KafkaTimeoutError: an outage to ride out) and is handled again.
SEND_TIMEOUT = 30.0


def consumer(settings: KafkaSettings, group_id: str | None, **overrides) -> KafkaConsumer:
    return KafkaConsumer(**consumer_options(settings, group_id, **overrides))


def consumer_options(settings: KafkaSettings, group_id: str | None, **overrides) -> dict:
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        **security_options(settings),
        "group_id": group_id,
        "enable_auto_commit": False,  # positions live in PostgreSQL; Kafka's are a convenience
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": request_limit(settings),
        "fetch_max_bytes": request_limit(settings),
        **FAST_GROUP,
        **overrides,
    }


def producer(settings: KafkaSettings, **overrides) -> KafkaProducer:
    return KafkaProducer(**producer_options(settings, **overrides))


def producer_options(settings: KafkaSettings, **overrides) -> dict:
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        **security_options(settings),
        "enable_idempotence": True,  # a retried send is written once, in order
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": request_limit(settings),
        **overrides,
    }


def admin(settings: KafkaSettings) -> KafkaAdminClient:
    return KafkaAdminClient(**admin_options(settings))


def admin_options(settings: KafkaSettings) -> dict:
    return {"bootstrap_servers": settings.bootstrap_servers, **security_options(settings)}


def dead_letter_producer(settings: KafkaSettings) -> KafkaProducer:
    return producer(settings, max_request_size=UNLIMITED_REQUEST_BYTES)


def ensure_topics(settings: KafkaSettings, *names: str) -> None:
    topics = names or (settings.usage_topic, settings.dlq_topic, settings.ledger_topic)
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        wanted = [
            NewTopic(
                name, num_partitions=settings.topic_partitions, replication_factor=1,
                topic_configs={"max.message.bytes": str(topic_limit(settings, name))},
            )
            for name in topics
            if name not in existing
        ]
        if wanted:
            try:
                client.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created it first
    finally:
        client.close()

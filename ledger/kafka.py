"""Kafka clients with the settings this project relies on."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from ledger.config import Settings

# A group join waits up to the rebalance timeout (kafka-python sends max.poll.interval.ms)
# for members to rejoin; the embedded broker waits for all of it, so keep it short. A batch
# must be processed within it, which the batch sizes here allow by far.
FAST_GROUP = {
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 1_000,
    "max_poll_interval_ms": 30_000,
}


def consumer(settings: Settings, group_id: str, **overrides) -> KafkaConsumer:
    options = {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,  # positions live in PostgreSQL; Kafka's are a convenience
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_max_bytes": 32 * 1024 * 1024,
        **FAST_GROUP,
        **overrides,
    }
    return KafkaConsumer(**options)


def producer(settings: Settings, **overrides) -> KafkaProducer:
    options = {
        "bootstrap_servers": settings.bootstrap_servers,
        "enable_idempotence": True,  # a retried send is written once, in order
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        **overrides,
    }
    return KafkaProducer(**options)


def ensure_topics(settings: Settings, *names: str) -> None:
    topics = names or (settings.usage_topic, settings.dlq_topic, settings.ledger_topic)
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=1)
            for name in topics
            if name not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created it first
    finally:
        admin.close()

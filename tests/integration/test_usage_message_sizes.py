"""Every Kafka size comes from one setting (Settings.max_message_bytes), so that the dead-letter
topic and its producer take anything the usage topic took: a dead letter always keeps the
original bytes, also of a message larger than the limit from a broker that does not enforce it
(the embedded one)."""

from __future__ import annotations

from dataclasses import replace

from kafka import KafkaProducer

from consumers import kafka_clients
from consumers.dead_letters import read_dead_letters
from ledger.config import Settings
from tests.kafka_helpers import ingest_all

MB = 1024 * 1024


def test_topics_producers_and_consumers_take_their_sizes_from_one_setting():
    settings = replace(Settings(bootstrap_servers="localhost:1"), max_message_bytes=3 * MB)
    assert kafka_clients.topic_limit(settings, settings.usage_topic) == 3 * MB
    assert kafka_clients.topic_limit(settings, settings.ledger_topic) == 3 * MB
    assert kafka_clients.topic_limit(settings, settings.dlq_topic) == 3 * MB + kafka_clients.DEAD_LETTER_HEADROOM
    assert kafka_clients.request_limit(settings) == kafka_clients.topic_limit(settings, settings.dlq_topic)
    assert Settings.from_env({"LEDGER_MAX_MESSAGE_BYTES": "1048576"}).max_message_bytes == MB


def test_clients_are_built_with_those_sizes(settings):
    settings = replace(settings, max_message_bytes=3 * MB)
    producer, dead_letters = kafka_clients.producer(settings), kafka_clients.dead_letter_producer(settings)
    consumer = kafka_clients.consumer(settings, settings.group("sizes"))
    try:
        assert producer.config["max_request_size"] == kafka_clients.request_limit(settings)
        assert dead_letters.config["max_request_size"] == kafka_clients.UNLIMITED_REQUEST_BYTES
        assert consumer.config["max_partition_fetch_bytes"] >= kafka_clients.request_limit(settings)
        assert consumer.config["fetch_max_bytes"] >= kafka_clients.request_limit(settings)
    finally:
        for client in (producer, dead_letters, consumer):
            client.close()


def test_a_message_larger_than_the_limit_is_dead_lettered_with_its_original_bytes(settings, app):
    settings = replace(settings, max_message_bytes=1 * MB)
    kafka_clients.ensure_topics(settings)
    garbage = b"\x01not avro" * (3 * MB // 9)
    upstream = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, max_request_size=8 * MB)
    upstream.send(settings.usage_topic, key=b"CUST-1", value=garbage).get(timeout=30)
    upstream.close()

    process = ingest_all(settings, app)

    assert (process.ingest.counts.consumed, process.ingest.counts.dead_letters) == (1, 1)
    (letter,) = read_dead_letters(settings, settings.dlq_topic)
    assert letter.reason == "not_single_object" and letter.value == garbage

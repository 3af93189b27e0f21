"""The broker's security settings reach every Kafka client the ledger builds (the embedded
broker has no SASL or TLS, so this is proved on the clients' configuration), and every client
is built in consumers/kafka_clients.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from consumers import kafka_clients
from domain.errors import LedgerError
from ledger.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SASL_SSL = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker.example:9093",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "ledger",
    "KAFKA_SASL_PASSWORD": "k4fka-s3cret",
}


@pytest.fixture
def sasl_ssl(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return Settings.from_env({**SASL_SSL, "KAFKA_SSL_CAFILE": str(ca)})


def test_sasl_ssl_settings_reach_every_consumer_producer_and_admin_client(sasl_ssl):
    expected = {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "ledger",
        "sasl_plain_password": "k4fka-s3cret", "ssl_cafile": sasl_ssl.kafka_ssl_cafile, "ssl_check_hostname": True,
    }
    for options in (
        kafka_clients.consumer_options(sasl_ssl, "billing-ledger.projector"),
        kafka_clients.consumer_options(sasl_ssl, None),  # dead letters, replay from Kafka
        kafka_clients.producer_options(sasl_ssl),
        kafka_clients.producer_options(sasl_ssl, max_request_size=kafka_clients.UNLIMITED_REQUEST_BYTES),
        kafka_clients.admin_options(sasl_ssl),
    ):
        assert options.items() >= expected.items()
        assert options["bootstrap_servers"] == "broker.example:9093"


def test_without_settings_the_clients_speak_plain_text_as_the_embedded_broker_does():
    options = kafka_clients.producer_options(Settings.from_env({}))
    assert options["security_protocol"] == "PLAINTEXT" and "sasl_mechanism" not in options and "ssl_cafile" not in options


def test_the_sasl_password_is_never_in_the_settings_repr(sasl_ssl):
    assert "k4fka-s3cret" not in repr(sasl_ssl)


@pytest.mark.parametrize(("changes", "named"), [
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_TLS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({"KAFKA_SASL_MECHANISM": "GUESS"}, "KAFKA_SASL_MECHANISM"),
    ({"KAFKA_SASL_PASSWORD": ""}, "KAFKA_SASL_PASSWORD"),
    ({"KAFKA_SSL_CAFILE": "/nowhere/ca.pem"}, "KAFKA_SSL_CAFILE"),
])
def test_a_security_setting_that_cannot_work_is_refused_by_name(changes, named):
    with pytest.raises(LedgerError, match=named):
        Settings.from_env({**SASL_SSL, **changes})


def test_every_kafka_client_is_built_in_kafka_clients():
    built = re.compile(r"\b(KafkaConsumer|KafkaProducer|KafkaAdminClient)\(")
    elsewhere = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("consumers", "ledger", "readside", "service", "eventstore", "domain", "projections", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "kafka_clients.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if built.search(line)
    ]
    assert elsewhere == []

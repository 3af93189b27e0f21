"""The names the ledger's Kafka settings and topics use, in a module that imports no Kafka
client: the configuration (ledger/config.py) checks and derives them for every `ledger`
command, and a staff command, an HTTP client of the API, should not pay kafka-python's
import (~0.15 s) at each start."""

from __future__ import annotations

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def dead_letter_topic(source_topic: str) -> str:
    """Where the dead letters of a topic go: the usage topic's, and the ledger topic's (what
    the projector cannot read)."""
    return f"{source_topic}.dlq"

"""Configuration, read once from the environment.

Unset connection variables mean "use the embedded service": the defaults start a
real PostgreSQL server and a Kafka-compatible broker, so a new user needs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from consumers.kafka_names import SASL_MECHANISMS, SECURITY_PROTOCOLS, dead_letter_topic
from domain.errors import LedgerError


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("billing-ledger"))


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    bootstrap_servers: str | None = None
    home: Path = field(default_factory=_default_home)
    usage_topic: str = "billing.usage.v1"
    ledger_topic: str = "billing.ledger.v1"
    topic_partitions: int = 4
    # The largest message (key, value and headers) the usage and ledger topics take: every
    # Kafka size setting derives from it (consumers/kafka_clients.py; docs/usage-intake.md).
    max_message_bytes: int = 8 * 1024 * 1024
    group_prefix: str = "billing-ledger"
    # The event store and the read models live in schemas of their own, so that an
    # analyst role can be granted the views and nothing else.
    store_schema: str = "event_store"
    read_schema: str = "ledger_read"
    views_schema: str = "ledger_views"
    # The ledger's PostgreSQL roles are <prefix>_owner, <prefix>_app and <prefix>_projector
    # (readside/roles.py; docs/security.md says which process uses which).
    role_prefix: str = "ledger"
    # Seconds ingest, relay and projector keep reconnecting to an unreachable PostgreSQL or
    # broker before they exit (status 3): long enough for a restart or a failover, short
    # enough that a supervisor hears of an outage that lasts.
    outage_deadline: float = 300.0
    # The partner's support plan with the vendor: technical support cases are escalated to
    # its technical support. Configuration of the installation, not a choice made case by case.
    partner_support_plan: str = "Partner Success Advanced"
    # The broker's security (consumers/kafka_clients.security_options gives it to every client):
    # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; SASL PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)  # never in a repr or a log
    kafka_ssl_cafile: str | None = None

    @property
    def dlq_topic(self) -> str:
        """The usage topic's dead letters: what the ingest cannot record."""
        return dead_letter_topic(self.usage_topic)

    @property
    def ledger_dlq_topic(self) -> str:
        """The ledger topic's dead letters: what the projector cannot read."""
        return dead_letter_topic(self.ledger_topic)

    def group(self, process: str) -> str:
        return f"{self.group_prefix}.{process}"

    def with_services(self, database_url: str, bootstrap_servers: str) -> Settings:
        return replace(self, database_url=database_url, bootstrap_servers=bootstrap_servers)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("LEDGER_DATABASE_URL") or None,
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            home=Path(env["LEDGER_HOME"]) if env.get("LEDGER_HOME") else defaults.home,
            usage_topic=env.get("LEDGER_USAGE_TOPIC", defaults.usage_topic),
            ledger_topic=env.get("LEDGER_LEDGER_TOPIC", defaults.ledger_topic),
            topic_partitions=int(env.get("LEDGER_TOPIC_PARTITIONS", defaults.topic_partitions)),
            max_message_bytes=int(env.get("LEDGER_MAX_MESSAGE_BYTES", defaults.max_message_bytes)),
            group_prefix=env.get("LEDGER_GROUP_PREFIX", defaults.group_prefix),
            role_prefix=env.get("LEDGER_ROLE_PREFIX", defaults.role_prefix),
            outage_deadline=float(env.get("LEDGER_OUTAGE_DEADLINE", defaults.outage_deadline)),
            partner_support_plan=env.get("LEDGER_PARTNER_SUPPORT_PLAN") or defaults.partner_support_plan,
            **kafka_security(env),
        )


def kafka_security(env) -> dict:
    """KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and
    KAFKA_SSL_CAFILE, checked together: a setting that cannot work is refused here, by name."""
    protocol = (env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    mechanism = (env.get("KAFKA_SASL_MECHANISM") or "").upper() or None
    if protocol not in SECURITY_PROTOCOLS:
        raise LedgerError(f"KAFKA_SECURITY_PROTOCOL={protocol!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
    sasl = protocol.startswith("SASL_")
    if sasl and mechanism not in SASL_MECHANISMS:
        raise LedgerError(f"KAFKA_SASL_MECHANISM={mechanism!r} is not one of {', '.join(SASL_MECHANISMS)} (needed by {protocol})")
    if sasl and not (env.get("KAFKA_SASL_USERNAME") and env.get("KAFKA_SASL_PASSWORD")):
        raise LedgerError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    cafile = env.get("KAFKA_SSL_CAFILE") or None
    if cafile and not Path(cafile).is_file():
        raise LedgerError(f"KAFKA_SSL_CAFILE={cafile!r} is not a file")
    return {
        "kafka_security_protocol": protocol,
        "kafka_sasl_mechanism": mechanism if sasl else None,
        "kafka_sasl_username": env.get("KAFKA_SASL_USERNAME") if sasl else None,
        "kafka_sasl_password": env.get("KAFKA_SASL_PASSWORD") if sasl else None,
        "kafka_ssl_cafile": cafile,
    }

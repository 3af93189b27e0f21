"""Real services for the tests: the embedded PostgreSQL and broker, started once per session
(or the ones LEDGER_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS name). Each test gets a
database of its own and topics of its own, removed afterwards."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from kafka import KafkaAdminClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledger import embedded
from ledger.config import Settings


@pytest.fixture(scope="session")
def services() -> Settings:
    # Not under pytest's basetemp: pytest deletes old basetemps, and a second test run
    # beside this one (another developer's) would delete a running server's data.
    home = Path(tempfile.mkdtemp(prefix="ledger-tests-"))
    atexit.register(shutil.rmtree, home, True)  # registered first, so it runs after the server stops
    with embedded.services(replace(Settings.from_env(), home=home), announce=print) as resolved:
        yield resolved


def _admin_url(database_url: str) -> str:
    return make_conninfo(database_url, dbname="postgres") if conninfo_to_dict(database_url).get("dbname") else database_url


@pytest.fixture
def settings(services: Settings) -> Settings:
    name = "t_" + uuid4().hex[:12]
    admin_url = _admin_url(services.database_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    own = replace(
        services,
        database_url=make_conninfo(services.database_url, dbname=name),
        usage_topic=f"usage.{name}",
        ledger_topic=f"ledger.{name}",
        group_prefix=f"group.{name}",
    )
    yield own
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin = KafkaAdminClient(bootstrap_servers=services.bootstrap_servers)
    with contextlib.suppress(Exception):
        existing = set(admin.list_topics())
        topics = (own.usage_topic, own.dlq_topic, own.ledger_topic, f"{own.ledger_topic}.dlq")
        admin.delete_topics([t for t in topics if t in existing])
    admin.close()


@pytest.fixture
def app(settings: Settings):
    """The application on this test's database, with the factories' admin as global admin."""
    from ledger.store import open_application
    from tests.factories import ADMIN, OPENED_AT

    application = open_application(settings)
    application.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    yield application
    application.close()


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """The environment under which a `ledger` subprocess uses this test's database and topics."""
    return {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "LEDGER_USAGE_TOPIC": settings.usage_topic,
        "LEDGER_LEDGER_TOPIC": settings.ledger_topic,
        "LEDGER_GROUP_PREFIX": settings.group_prefix,
        "LEDGER_HOME": str(settings.home),
    }


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    """Poll a condition until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)

"""Real services for the tests: the embedded PostgreSQL and broker, started once per session
(or the ones LEDGER_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS name). Each test gets a
database of its own and topics of its own, removed afterwards.

The tests are in three layers, one folder each, and marked by their folder:
tests/unit (no service: the domain on the in-memory store, projections, schemas),
tests/integration (PostgreSQL and the broker), tests/e2e (processes, the CLI).
With pytest-xdist each worker is a session of its own and starts its own services:
each in a fresh directory, PostgreSQL on a Unix socket there and the broker on a free port.
"""

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

LAYERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).parent


def layer_of(item: pytest.Item) -> str | None:
    layer = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else None
    return layer if layer in LAYERS else None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if layer := layer_of(item):
            item.add_marker(layer)


@pytest.hookimpl(tryfirst=True)  # before its fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    if layer_of(item) == "unit" and "services" in item.fixturenames:
        pytest.fail(f"{item.nodeid} is a unit test but would start the embedded services (through the "
                    "settings, app or cli_env fixtures): move it to tests/integration", pytrace=False)


@pytest.fixture(scope="session")
def services() -> Settings:
    # Not under pytest's basetemp: pytest deletes old basetemps, and a second test run
    # beside this one (another developer's) would delete a running server's data.
    home = Path(tempfile.mkdtemp(prefix="ledger-tests-"))
    atexit.register(shutil.rmtree, home, True)  # registered first, so it runs after the server stops
    configured = Settings.from_env()
    with embedded.services(replace(configured, home=home), announce=print) as resolved:
        if configured.database_url is None:  # the session's own server, never one that was named
            without_fsync(resolved.database_url)
        yield resolved


def without_fsync(database_url: str) -> None:
    """The test server's data lives as long as the session: waiting for the disk at each commit
    and each DROP DATABASE buys nothing here. A crash of PostgreSQL loses nothing without fsync
    (the outage tests crash a server of their own, with the default settings): only a crash of
    the machine would."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("SELECT pg_reload_conf()")


def _admin_url(database_url: str) -> str:
    return make_conninfo(database_url, dbname="postgres") if conninfo_to_dict(database_url).get("dbname") else database_url


@pytest.fixture
def settings(services: Settings) -> Settings:
    with own_settings(services) as own:
        yield own


def settings_of_a_new_database(services: Settings, admin_url: str) -> Settings:
    """The services' settings with a new database (on the server `admin_url` names) and
    topic and group names of its own."""
    name = "t_" + uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return replace(
        services,
        database_url=make_conninfo(admin_url, dbname=name),
        usage_topic=f"usage.{name}",
        ledger_topic=f"ledger.{name}",
        group_prefix=f"group.{name}",
    )


@contextlib.contextmanager
def own_settings(services: Settings):
    """A database and topics of their own, removed afterwards: for a test (`settings`), or for
    a module whose tests share them (a module-scoped fixture of its own)."""
    admin_url = _admin_url(services.database_url)
    own = settings_of_a_new_database(services, admin_url)
    yield own
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{conninfo_to_dict(own.database_url)["dbname"]}" WITH (FORCE)')
    admin = KafkaAdminClient(bootstrap_servers=services.bootstrap_servers)
    with contextlib.suppress(Exception):
        existing = set(admin.list_topics())
        topics = (own.usage_topic, own.dlq_topic, own.ledger_topic, f"{own.ledger_topic}.dlq")
        admin.delete_topics([t for t in topics if t in existing])
    admin.close()


@pytest.fixture
def app(settings: Settings):
    """The application on this test's database, with the factories' admin as global admin."""
    from eventstore.postgres import open_application
    from tests.factories import ADMIN, OPENED_AT

    application = open_application(settings)
    application.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    yield application
    application.close()


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """The environment under which a `ledger` subprocess uses this test's database and topics."""
    return environment_of(settings)


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment under which a `ledger` subprocess uses these settings' services and names."""
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

"""Outages ridden out, as an operator sees them: `ledger ingest`, `relay` and `project` run as
real processes against a PostgreSQL server of this module's own, which the tests stop (as a
crash would) and start again at the same address, while usage keeps arriving on the real
broker; and against a broker of their own behind a proxy the tests cut and restore. Past the
outage deadline a process exits 3 with one line."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from consumers import kafka_clients
from ledger import embedded
from ledger.config import Settings
from ledger.usage_publisher import publish_usage
from tests.cli_helpers import ledger
from tests.conftest import environment_of, settings_of_a_new_database, wait_for
from tests.factories import ADMIN, OPENED_AT, open_customer, usage_record
from tests.network_cut import CuttableProxy

CUSTOMERS = [f"CUST-{n}" for n in range(1, 6)]


class OwnPostgres:
    """A PostgreSQL server for this module only, so that stopping it disturbs no other test."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="ledger-outages-"))
        self.url = embedded.start_postgres(self.home, keep_running=False)

    def crash(self) -> None:
        embedded.stop_postgres(self.home, mode="immediate")

    def start(self) -> None:
        embedded.restart_postgres(self.home)

    def close(self) -> None:
        embedded.stop_postgres(self.home)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres():
    server = OwnPostgres()
    yield server
    server.close()


@pytest.fixture
def outage_settings(own_postgres: OwnPostgres, services: Settings):
    """Like `settings`, on the module's own server (which every test leaves running)."""
    yield settings_of_a_new_database(services, own_postgres.url)
    own_postgres.start()  # a test that failed in the middle of an outage


@pytest.fixture
def outage_app(outage_settings: Settings):
    from eventstore.postgres import open_application

    application = open_application(outage_settings)
    application.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    for customer in CUSTOMERS:
        open_customer(application, customer, unit_price="0.5")
    yield application
    application.close()


def env_with(settings: Settings, **extra: str) -> dict[str, str]:
    return {**environment_of(settings), **extra}


class Processes:
    """`ledger ingest`, `relay` and `project`, each a process of its own with a heartbeat file."""

    def __init__(self, env: dict[str, str], workdir: Path, commands=("ingest", "relay", "project")):
        self.workdir = workdir
        self.running = {}
        for command in commands:
            stderr = open(workdir / f"{command}.err", "w")
            self.running[command] = subprocess.Popen(
                [sys.executable, "-m", "ledger.cli", command, "--heartbeat", str(self.heartbeat(command))],
                env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
            )
            stderr.close()

    def heartbeat(self, command: str) -> Path:
        return self.workdir / f"{command}.heartbeat"

    def health(self, command: str) -> str:
        try:
            return self.heartbeat(command).read_text().strip()
        except FileNotFoundError:
            return ""

    def stderr(self, command: str) -> str:
        return (self.workdir / f"{command}.err").read_text()

    def exited(self) -> dict[str, int]:
        return {c: p.returncode for c, p in self.running.items() if p.poll() is not None}

    def stop(self) -> dict[str, int]:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return {c: p.wait(timeout=60) for c, p in self.running.items()}


@pytest.fixture
def processes(tmp_path):
    started: list[Processes] = []

    def start(env, commands=("ingest", "relay", "project")) -> Processes:
        started.append(Processes(env, tmp_path, commands))
        return started[-1]

    yield start
    for group in started:
        for process in group.running.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def publish(settings: Settings, first: int, count: int) -> None:
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    records = [usage_record(f"u-{n}", CUSTOMERS[n % len(CUSTOMERS)], quantity="1") for n in range(first, first + count)]
    publish_usage(producer, settings.usage_topic, records)
    producer.close()


def projected_usage_lines(settings: Settings) -> int:
    try:
        with psycopg.connect(settings.database_url, connect_timeout=2) as conn:
            return conn.execute(
                f"SELECT coalesce(sum(usage_lines), 0) FROM {settings.views_schema}.customer_balances"
            ).fetchone()[0]
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return -1  # down, or not projected yet


def compose_health_check(heartbeat: Path) -> bool:
    """docker-compose.yml's health check of the ledger processes, run on this heartbeat file."""
    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    (check,) = re.findall(r'test: \["CMD-SHELL", "(.*ledger-heartbeat.*)"\]', compose)
    command = check.replace("$$", "$").replace("/tmp/ledger-heartbeat", str(heartbeat))
    return subprocess.run(["sh", "-c", command]).returncode == 0


def stored_usage(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            f"SELECT count(*) FROM {settings.store_schema}.ledger_events WHERE topic LIKE '%UsageLine.Recorded'"
        ).fetchone()[0]


def test_a_postgresql_crash_and_restart_is_ridden_out_and_every_usage_counted_once(
    own_postgres, outage_settings, outage_app, processes
):
    env = env_with(outage_settings, LEDGER_OUTAGE_DEADLINE="120")
    running = processes(env)
    publish(outage_settings, 0, 300)
    wait_for(lambda: projected_usage_lines(outage_settings) == 300 or running.exited(), timeout=60,
             what="the first usage to reach the balances")
    assert not running.exited()

    own_postgres.crash()
    outage_began = time.monotonic()
    publish(outage_settings, 300, 300)  # usage keeps arriving: ingest meets the outage
    wait_for(lambda: all(running.health(c).startswith("unavailable: PostgreSQL") for c in ("ingest", "relay"))
             or running.exited(), timeout=30, what="ingest and relay to report the outage in their heartbeat")
    assert not running.exited()
    assert not any(compose_health_check(running.heartbeat(c)) for c in ("ingest", "relay"))
    time.sleep(max(0.0, 10 - (time.monotonic() - outage_began)))  # the outage itself
    own_postgres.start()
    publish(outage_settings, 600, 300)

    wait_for(lambda: projected_usage_lines(outage_settings) >= 900 or running.exited(), timeout=90,
             what="every usage to reach the balances after the restart")
    wait_for(lambda: all(running.health(c) == "ok" for c in ("ingest", "relay", "project")), timeout=30,
             what="every heartbeat to be healthy again")
    assert all(compose_health_check(running.heartbeat(c)) for c in ("ingest", "relay", "project"))
    assert not running.exited(), {c: running.stderr(c) for c in running.exited()}

    assert projected_usage_lines(outage_settings) == 900, "each usage once in the balances"
    verified = ledger(env, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    stats = ledger(env, "stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr
    total = json.loads(stats.stdout)[-1]
    assert (total["consumed"], total["recorded"], total["duplicates"], total["dead_letters"]) == (900, 900, 0, 0)
    assert total["reconciles"] == "yes"
    for command in ("ingest", "relay"):
        lines = [line for line in running.stderr(command).splitlines() if "unreachable, attempt" in line]
        assert lines and all("PostgreSQL" in line and "left before giving up" in line for line in lines), running.stderr(command)
    assert running.stop() == {"ingest": 0, "relay": 0, "project": 0}


def test_past_the_outage_deadline_a_process_exits_3_with_one_line(own_postgres, outage_settings, outage_app, processes):
    env = env_with(outage_settings, LEDGER_OUTAGE_DEADLINE="3")
    running = processes(env, commands=("ingest", "relay"))
    publish(outage_settings, 0, 10)
    wait_for(lambda: stored_usage(outage_settings) == 10 or running.exited(), timeout=60, what="ingest to record usage")

    own_postgres.crash()
    publish(outage_settings, 10, 10)
    wait_for(lambda: len(running.exited()) == 2, timeout=40, what="both to give up")
    own_postgres.start()

    assert running.exited() == {"ingest": 3, "relay": 3}
    for command in ("ingest", "relay"):
        last = running.stderr(command).splitlines()[-1]
        assert last.startswith(f"error: a service is unavailable: OutageTooLong: {command}: PostgreSQL unreachable for "), last
        assert "past the outage deadline (LEDGER_OUTAGE_DEADLINE=3 s)" in last, last


@pytest.fixture
def broker_behind_proxy(tmp_path):
    """A broker of this test's own, reached (and advertised) only through a cuttable proxy."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        broker_port = probe.getsockname()[1]
    proxy = CuttableProxy(("127.0.0.1", broker_port))
    _, pid = embedded.start_broker(tmp_path, port=broker_port, advertised=proxy.address)
    yield proxy
    proxy.close()
    embedded.stop_broker(pid)


def test_a_broker_cut_off_and_back_is_ridden_out_and_every_usage_counted_once(
    settings, app, broker_behind_proxy, processes
):
    from consumers.ingest import decode_usage
    from schemas import registry

    own = replace(settings, bootstrap_servers=broker_behind_proxy.address)
    env = env_with(own, LEDGER_OUTAGE_DEADLINE="120")
    for customer in CUSTOMERS:
        open_customer(app, customer, unit_price="0.5")
    running = processes(env)
    publish(own, 0, 300)
    wait_for(lambda: projected_usage_lines(own) == 300 or running.exited(), timeout=60,
             what="the first usage to reach the balances")

    broker_behind_proxy.cut()
    # Events stored meanwhile (as staff commands would store them): the relay meets the outage.
    encode = registry().encode
    app.record_usage([decode_usage(encode("billing.usage.UsageEvent", usage_record(f"s-{n}", "CUST-1", quantity="1")))
                      for n in range(200)], actor="t")
    cut_at = time.monotonic()
    wait_for(lambda: all(running.health(c).startswith("unavailable: the Kafka broker") for c in ("ingest", "project")),
             timeout=30, what="the consumers' heartbeats to report the broker unreachable")
    time.sleep(max(0.0, 6 - (time.monotonic() - cut_at)))  # the outage itself
    assert not running.exited(), {c: running.stderr(c) for c in running.exited()}
    broker_behind_proxy.restore()
    publish(own, 300, 300)

    wait_for(lambda: projected_usage_lines(own) >= 800 or running.exited(), timeout=90,
             what="every usage to reach the balances after the broker came back")
    assert not running.exited(), {c: running.stderr(c) for c in running.exited()}
    assert projected_usage_lines(own) == 800, "each usage once in the balances"
    verified = ledger(env, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    total = json.loads(ledger(env, "stats", "--format", "json").stdout)[-1]
    assert (total["consumed"], total["recorded"], total["duplicates"], total["reconciles"]) == (600, 600, 0, "yes")
    for command in ("ingest", "project"):
        said = running.stderr(command)
        assert "Traceback" not in said and "the Kafka broker unreachable, attempt 1 failed" in said, said
        assert len(said.splitlines()) < 10, said  # one line per attempt (at most one per 5 s)
    assert running.stop() == {"ingest": 0, "relay": 0, "project": 0}


def test_past_the_outage_deadline_a_consumer_cut_off_from_the_broker_exits_3(settings, app, broker_behind_proxy, processes):
    own = replace(settings, bootstrap_servers=broker_behind_proxy.address)
    running = processes(env_with(own, LEDGER_OUTAGE_DEADLINE="3"), commands=("ingest",))
    publish(own, 0, 1)  # unknown customer: a dead letter, which proves the ingest is running
    wait_for(lambda: app.recorder.ingest_counts() or running.exited(), timeout=60, what="the ingest to consume")

    broker_behind_proxy.cut()
    wait_for(running.exited, timeout=40, what="the ingest to give up")

    assert running.exited() == {"ingest": 3}
    last = running.stderr("ingest").splitlines()[-1]
    assert last.startswith("error: a service is unavailable: OutageTooLong: ingest: the Kafka broker unreachable for "), last
    assert "past the outage deadline (LEDGER_OUTAGE_DEADLINE=3 s)" in last, last


def test_the_wait_between_attempts_doubles_with_jitter_up_to_its_cap():
    from ledger.outages import Backoff

    backoff = Backoff(first=0.5, cap=5.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (12, 5.0)]:
        waits = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), (attempt, waits)
        assert len(waits) > 1, "jittered"


def test_unreachable_services_are_outages_and_other_errors_are_not():
    from eventsourcing.persistence import OperationalError as StoreOperationalError
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError

    from ledger.outages import BROKER, POSTGRES, service_down

    assert service_down(psycopg.OperationalError("connection refused")) == POSTGRES
    assert service_down(StoreOperationalError("server closed the connection")) == POSTGRES
    assert service_down(KafkaConnectionError("111 ECONNREFUSED")) == BROKER
    assert service_down(KafkaTimeoutError("flush")) == BROKER
    assert service_down(MessageSizeTooLargeError("5 MB")) is None, "a bad message is no outage"
    assert service_down(psycopg.errors.NumericValueOutOfRange("1e30")) is None
    assert service_down(ValueError("bug")) is None

"""Riding out an outage of PostgreSQL or the broker, for ingest, relay and projector.

A step that fails because a service cannot be reached does not end the process. It waits
(exponential backoff with jitter, capped), reconnects, rewinds to the positions it
recorded in PostgreSQL, and goes on. Each attempt logs one line: what is down, the
attempt, when the next one comes and how much of the deadline is left. Past the deadline
(LEDGER_OUTAGE_DEADLINE seconds since the first failure) it gives up with `OutageTooLong`,
which the CLI reports in one line with status 3, and a supervisor takes over.

Why a rewind: the transaction that failed was rolled back, but the Kafka consumer's
position in memory had already moved past the batch; only the positions committed with
the writes say what is done.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from eventsourcing.persistence import OperationalError as StoreOperationalError
from kafka.errors import KafkaError

if TYPE_CHECKING:
    from domain.application import BillingLedger

log = logging.getLogger(__name__)

POSTGRES = "PostgreSQL"
BROKER = "the Kafka broker"


class OutageTooLong(ConnectionError):
    """A service stayed unreachable past the outage deadline."""


def service_down(error: BaseException) -> str | None:
    """The service an error says cannot be reached, or None when the error is of another kind.

    PostgreSQL: connections refused, cut or terminated, and the pool's timeouts (all
    OperationalError, also as the event store's wrapper). The broker: the errors
    kafka-python itself calls retriable (connection errors, timeouts of a send or a flush,
    no node ready); kafka-python retries the others inside its own loops.
    """
    if isinstance(error, (psycopg.OperationalError, StoreOperationalError)):
        return POSTGRES
    if isinstance(error, KafkaError) and error.retriable:
        return BROKER
    return None


def first_line_of(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def first_line(error: BaseException) -> str:
    """The error in one line (PostgreSQL's messages run over several)."""
    text = first_line_of(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped, with jitter: reconnecting processes do not all knock at once."""

    first: float = 0.5
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.first * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class Outage:
    """One outage as one process sees it: from its first failed step to its next good one."""

    process: str
    service: str
    deadline: float  # seconds
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0

    def left(self) -> float:
        return self.deadline - (time.monotonic() - self.started)

    def status(self) -> str:
        """For the heartbeat file, which a health check reads."""
        return (
            f"unavailable: {self.service}, {self.process} retrying (attempt {self.attempts}, "
            f"{max(self.left(), 0):.0f} s left before it gives up)"
        )

    def next_attempt(self, error: BaseException, backoff: Backoff) -> float:
        """Count a failed attempt and log it; the seconds to wait before the next one.
        Raises OutageTooLong past the deadline."""
        self.attempts += 1
        left = self.left()
        if left <= 0:
            raise OutageTooLong(
                f"{self.process}: {self.service} unreachable for {self.deadline - left:.0f} s, "
                f"past the outage deadline (LEDGER_OUTAGE_DEADLINE={self.deadline:g} s): {first_line(error)}"
            ) from error
        wait = min(backoff.delay(self.attempts), left)
        log.warning(
            "%s: %s unreachable, attempt %d failed, next try in %.1f s, %.0f s left before giving up (%s)",
            self.process, self.service, self.attempts, wait, left, first_line(error),
        )
        return wait


class BrokerWatch(logging.Handler):
    """What kafka-python says of the broker, turned into outage reports.

    kafka-python reconnects by itself after a lost connection: a consumer's poll just
    returns nothing meanwhile, so no error reaches the process. But it logs every failed
    connection at ERROR, with a traceback, dozens of lines a minute. This handler takes
    kafka-python's records instead: a run of connection failures is a broker outage,
    reported in one line per attempt (at most one per `REPORT_EVERY` seconds), shown by the
    heartbeat and bounded by the same deadline. Other records pass as one line each.
    """

    REPORT_EVERY = 5.0
    # Seconds without a failure after which the broker counts as back: kafka-python's
    # reconnection backoff grows to 30 s, so failures of one outage come at most that far apart.
    QUIET = 35.0

    def __init__(self, process: str, deadline: float):
        super().__init__(logging.WARNING)
        self.process = process
        self.deadline = deadline
        self.outage: Outage | None = None
        self.last_failure = 0.0
        self.reported_at = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        message = first_line_of(record.getMessage())
        if not _is_connection_failure(record, message):
            log.warning("%s: kafka-python: %s", self.process, message)
            return
        now = time.monotonic()
        if self.outage is None or now - self.last_failure > self.QUIET:
            self.outage = Outage(self.process, BROKER, self.deadline)
        self.last_failure = now
        if now - self.reported_at >= self.REPORT_EVERY:
            self.reported_at = now
            self.outage.attempts += 1
            log.warning(
                "%s: %s unreachable, attempt %d failed, kafka-python reconnects by itself, %.0f s left before giving up (%s)",
                self.process, BROKER, self.outage.attempts, max(self.outage.left(), 0), message,
            )

    def failing(self) -> bool:
        """True while failures keep coming (the last one less than QUIET seconds ago)."""
        return self.outage is not None and time.monotonic() - self.last_failure <= self.QUIET

    def status(self) -> str | None:
        """For the heartbeat file: None while the broker is reachable."""
        if not self.failing():
            return None
        return f"unavailable: {BROKER}, {self.process} waiting for kafka-python to reconnect (attempt {self.outage.attempts})"

    def check_deadline(self) -> None:
        """Raises OutageTooLong once failures have kept coming for longer than the deadline."""
        if self.failing() and self.last_failure - self.outage.started > self.deadline:
            raise OutageTooLong(
                f"{self.process}: {BROKER} unreachable for {self.last_failure - self.outage.started:.0f} s, "
                f"past the outage deadline (LEDGER_OUTAGE_DEADLINE={self.deadline:g} s)"
            )

    @contextlib.contextmanager
    def watching(self):
        """Take kafka-python's log records while the processes run."""
        kafka_log = logging.getLogger("kafka")
        propagate, kafka_log.propagate = kafka_log.propagate, False
        kafka_log.addHandler(self)
        try:
            yield self
        finally:
            kafka_log.removeHandler(self)
            kafka_log.propagate = propagate


def _is_connection_failure(record: logging.LogRecord, message: str) -> bool:
    """kafka-python's records of a connection that failed or was lost: with the socket's
    error attached, or naming a KafkaConnectionError in the message."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, OSError) or (isinstance(error, KafkaError) and error.retriable):
        return True
    return "KafkaConnectionError" in message or "ECONNREFUSED" in message


# --- reconnecting to PostgreSQL ---------------------------------------------------------
# The two functions below are the one place that reaches into the event store's connection
# pool (the `eventsourcing` datastore's psycopg_pool); the outage tests fail if it moves.


def reach_postgres(database_url: str) -> None:
    """A connection of its own, opened and closed: raises while PostgreSQL cannot be reached.
    (The store's pool would rather wait for its own reconnection attempts.)"""
    with psycopg.connect(database_url, connect_timeout=5):
        pass


def renew_store_connections(app: BillingLedger) -> None:
    """With PostgreSQL back: the store's pool tests its idle connections and replaces those
    the outage cut, rather than handing them out to fail one by one."""
    app.recorder.datastore.pool.check()

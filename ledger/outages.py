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

import logging
import random
import time
from dataclasses import dataclass, field

import psycopg
from eventsourcing.persistence import OperationalError as StoreOperationalError
from kafka.errors import KafkaError

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


def first_line(error: BaseException) -> str:
    """The error in one line (PostgreSQL's messages run over several)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped, with jitter: reconnecting processes do not all knock at once."""

    first: float = 0.5
    cap: float = 10.0

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

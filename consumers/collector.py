"""Garbage collection settings for the consumer processes (ingest, relay and its encoder, projector)."""

from __future__ import annotations

import gc


def tune_collector() -> None:
    """For a process that runs consumers: fewer passes of Python's cyclic garbage collector.

    A batch holds tens of thousands of live objects (records, reports, events, rows) and
    allocates many more; with the default thresholds the collector walks them again and
    again, though a batch of our own leaves no cycles behind (everything is freed by
    reference counts). What the process loaded to start (modules, schemas, the application)
    is frozen out of the collector's walks. Measured: ~6% more usage ingested per second
    (bench.ingest). A long-running process also calls collect_cycles on a clock.
    Not for a process that runs tests or commands of its own: it only delays collecting.
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def collect_cycles() -> int:
    """Free what only reference cycles hold; returns how many objects were found unreachable.

    kafka-python's poll leaves cycles behind: a wait inside it that times out (capped at the
    next heartbeat, so a few times a second under a steady stream) raises an exception that
    its own frames, the futures and the timer hold, and whose traceback holds those frames,
    and through them every caller's frame up the stack, with their locals: the records of
    the poll under way. With the thresholds above the collector only runs once 50,000 more
    container objects are alive than at its last pass, which steady batches (each freed by
    reference counts) seldom add up to: the cycles stayed, and the projector's resident
    memory rose by about a poll's worth of records at a time (measured: 1,000, 2,000, then
    4,000 ConsumerRecords alive between polls over 270 s; `docs/performance.md`). Objects
    frozen at the start are not walked: a pass over 60,000 others took 5-9 ms."""
    return gc.collect()

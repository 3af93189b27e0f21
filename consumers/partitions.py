"""A consumer whose positions are kept in PostgreSQL with its writes.

Kafka's committed offsets are only a convenience (for lag tools): on every partition
assignment the member seeks to the position its own transactions recorded.

Two ways to get partitions: a long-running process joins the consumer group (the
group spreads the partitions over its members and moves them when one comes or goes); a
run that stops once idle (`--until-idle`) takes every partition itself (`assign_all`):
it needs no one to share with, and joining a group costs seconds. Such a run may read a
partition a group member reads too; the handlers make that safe (each batch commits
with its position, and what was committed before is skipped), see docs/operations.md.

Positions are kept per topic *incarnation* (Kafka's topic id): a topic that is deleted
and created again (a new cluster, the in-memory embedded broker restarted) starts at
offset 0 again, and an old position must not make the member skip its new messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One partition of one incarnation of a topic."""

    topic: str
    topic_id: str
    partition: int

    @property
    def key(self) -> str:
        return f"{self.topic}:{self.topic_id}:{self.partition}"


def topic_id(cluster, topic: str) -> str:
    """The topic's id from client metadata ('-' from a broker too old to have ids)."""
    found = cluster.topic_id(topic)
    return str(found) if found is not None else "-"


# next offset to read from a source, or None when nothing was recorded yet
PositionLookup = Callable[[Source], "int | None"]
BatchHandler = Callable[[Source, list], object]


class _SeekToRecordedPositions(ConsumerRebalanceListener):
    def __init__(self, member: TrackedMember):
        self.member = member

    def on_partitions_revoked(self, revoked):
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))

    def on_partitions_assigned(self, assigned):
        try:
            self.member.seek_to_recorded_positions(assigned)
        except Exception as error:  # noqa: BLE001 - kafka-python would swallow it with a traceback
            # PostgreSQL is unreachable during a rebalance: the member must not read from
            # wherever the consumer stands; its next poll rewinds first (and says why).
            self.member.rewind_pending = True
            said = str(error).strip().splitlines()
            log.warning("partitions assigned while their positions could not be read: %s: %s",
                        type(error).__name__, said[0] if said else "")
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


class TrackedMember:
    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        recorded_position: PositionLookup,
        handle_batch: BatchHandler,
        max_records: int = 5000,
        assign_all: bool = False,
        poll_timeout_ms: int = 500,
        poll_interval: float = 0.0,
    ):
        """With `assign_all`, the consumer (built without a group id) reads every partition
        of the topic from the recorded positions; otherwise it joins its group.
        `poll_timeout_ms` bounds how long a poll that finds nothing takes (and so how long
        stopping waits for it). A member that has caught up polls at most every
        `poll_interval` seconds (see poll_once)."""
        self.consumer = consumer
        self.topic = topic
        self.recorded_position = recorded_position
        self.handle_batch = handle_batch
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.poll_interval = poll_interval
        self.polled_at = 0.0  # when the last poll began
        self.behind = False  # the last poll was full: there may be more waiting
        self.rewind_pending = False
        self.in_group = not assign_all
        if assign_all:
            self._assign_every_partition()
        else:
            consumer.subscribe([topic], listener=_SeekToRecordedPositions(self))

    def _assign_every_partition(self) -> None:
        partitions = self.consumer.partitions_for_topic(self.topic)  # waits for the topic's metadata
        if not partitions:
            raise RuntimeError(f"topic {self.topic} has no partitions (does it exist?)")
        assigned = [TopicPartition(self.topic, partition) for partition in sorted(partitions)]
        self.consumer.assign(assigned)
        self.seek_to_recorded_positions(assigned)

    def source(self, tp: TopicPartition) -> Source:
        return Source(tp.topic, topic_id(self.consumer._client.cluster, tp.topic), tp.partition)

    def poll_once(self) -> int:
        """Fetch, handle each partition's batch in its own transaction; returns records handled.

        A member that has caught up first waits until `poll_interval` has passed since its
        last poll began: under a steady stream each poll then brings that long's records,
        and each partition's batch costs one transaction (its queries, its position, a
        commit), whatever its size. A member behind polls again at once."""
        if not self.behind and (rest := self.polled_at + self.poll_interval - time.monotonic()) > 0:
            time.sleep(rest)
        self.polled_at = time.monotonic()
        batches = self.consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        if self.rewind_pending:
            self.rewind()  # what was just fetched may start anywhere: it is fetched again
            return 0
        handled, offsets = 0, {}
        for tp, records in batches.items():
            self.handle_batch(self.source(tp), records)
            handled += len(records)
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        if self.in_group and offsets:
            # The transactions above hold the truth; this only feeds lag monitoring: one
            # request for the whole poll (the embedded broker's CPU goes with requests).
            self.consumer.commit_async(offsets)
        self.behind = handled >= self.max_records
        return handled

    def seek_to_recorded_positions(self, partitions) -> None:
        for tp in partitions:
            position = self.recorded_position(self.source(tp))
            if position is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, position)

    def rewind(self) -> None:
        """Back to the positions committed with the last batches (after a failed batch: the
        consumer had moved past it, its transaction was rolled back). Raises while
        PostgreSQL cannot be reached."""
        self.seek_to_recorded_positions(self.consumer.assignment())
        self.rewind_pending = False

    def caught_up(self) -> bool:
        """True when the member has partitions and has read each to its end.

        The end is the high watermark of the last fetch response, not a ListOffsets
        answer: the embedded broker answers ListOffsets(latest) with the base offset
        of the last batch, short of the true end.
        """
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        for tp in assigned:
            highwater = self.consumer.highwater(tp)
            if highwater is None or self.consumer.position(tp) < highwater:
                return False
        return True

    def has_read_to(self, ends: dict[int, int]) -> bool:
        """True when the member has read each partition it has up to the offset `ends`
        gives it (a producer's own account of what it wrote, which a fetch answered before
        that write does not know of)."""
        return all(self.consumer.position(tp) >= ends[tp.partition]
                   for tp in self.consumer.assignment() if tp.partition in ends)

    def close(self) -> None:
        self.consumer.close(autocommit=False)

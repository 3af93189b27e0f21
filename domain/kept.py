"""The staff directory and the policy book as last read, for the checks that only read them.

Every command checks the directory (may the actor do this?) and most read the policy book.
The library's cache suits a command that changes an aggregate: it fast-forwards it under a
lock of its own and hands out a deep copy. A check that only reads would wait on that lock
(one per aggregate: one for every request at once) and copy the directory each time.

Here each is kept with its version, and one indexed query (LedgerIndex.current_versions)
tells whether that is still the stored version: a role revoked or a policy published, by
this process or another, counts at the very next check. What is kept is never changed (a
command that changes the directory or the book gets a copy of its own from the repository),
so threads share it without a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ledger_index import LedgerIndex

A = TypeVar("A", bound=Aggregate)


class _Ask:
    def __repr__(self) -> str:
        return "ASK"


# `Kept.read`'s default: ask the store for the stored version now. A caller that asked for it
# itself, in the same round trip as something else it needed, passes the answer instead.
ASK = _Ask()


class Kept(Generic[A]):
    def __init__(self, aggregate_id: UUID, load: Callable[[], A], index: Callable[[], LedgerIndex]):
        self.aggregate_id = aggregate_id
        self._load = load  # the stored aggregate, or a new one when none is stored yet
        self._index = index  # the application's, read when asked: it is set after construction
        self._kept: tuple[int | None, A] | None = None  # the stored version it was read at, and it

    def read(self, stored_version: int | None | _Ask = ASK) -> A:
        """The aggregate as stored now, to read and never to change. `stored_version` (None:
        nothing stored), when given, is what the store answered for this very call: a version
        asked for an earlier request would let a revoked role or policy count one request late."""
        stored = (self._index().current_versions([self.aggregate_id]).get(self.aggregate_id)
                  if stored_version is ASK else stored_version)
        kept = self._kept
        if kept is not None and kept[0] == stored:
            return kept[1]
        # None stored yet is kept too (a new, empty one): a ledger without policies reads the default.
        fresh = self._load()
        self._kept = (stored, fresh)
        return fresh

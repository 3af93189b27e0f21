"""Failed sign-ins, counted per user and per address, in this process's memory.

After `limit` failures within `window`, further attempts are refused (429, Retry-After)
until the oldest failure leaves the window; a successful sign-in clears the user's count
(not the address's: one address guessing many users stays throttled). The counts live in
one process: several `ledger serve` processes each count on their own, and a restart
forgets them (a shared counter in PostgreSQL is the next step for a fleet).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


MAX_KEYS = 100_000  # users and addresses counted at once; beyond, the oldest counts are dropped


@dataclass
class FailureCounter:
    limit: int
    window: float  # seconds
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def fail(self, key: str) -> None:
        with self._lock:
            failures = self._recent(key)
            if not failures:
                self._failures[key] = failures
                if len(self._failures) > MAX_KEYS:  # names sprayed by a guesser must not grow memory forever
                    del self._failures[next(iter(self._failures))]
            failures.append(self.clock())

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque:
        failures = self._failures.get(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures


@dataclass
class SignInThrottle:
    per_user: FailureCounter = field(default_factory=lambda: FailureCounter(limit=5, window=15 * 60))
    per_address: FailureCounter = field(default_factory=lambda: FailureCounter(limit=20, window=15 * 60))

    def retry_after(self, user_id: str, address: str) -> int:
        return max(self.per_user.retry_after(user_id), self.per_address.retry_after(address))

    def failed(self, user_id: str, address: str) -> None:
        self.per_user.fail(user_id)
        self.per_address.fail(address)

    def succeeded(self, user_id: str) -> None:
        self.per_user.clear(user_id)

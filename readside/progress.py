"""A progress line on stderr: events done, events per second, time left.

On a terminal it redraws one line; in a log (not a terminal) it writes a line now and
then, so that a long rebuild still shows it is moving.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None):
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self.shown_at = 0.0

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        total = max(self.total, self.done)
        share = self.done / total if total else 1.0
        filled = int(share * BAR_WIDTH)
        rate = self.rate
        left = clock((total - self.done) / rate) if rate > 0 else "?"
        return (
            f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {share:4.0%} "
            f"{self.done:,}/{total:,} events  {rate:,.0f} events/s  {left} left"
        )

    def advance(self, count: int, total: int | None = None) -> None:
        self.done += count
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self.shown_at >= (0.2 if self.interactive else 5.0):
            self.shown_at = now
            self._show()

    def _show(self) -> None:
        if self.interactive:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self, note: str = "") -> None:
        self._show()
        self.stream.write(("\n" if self.interactive else "") + (note + "\n" if note else ""))
        self.stream.flush()

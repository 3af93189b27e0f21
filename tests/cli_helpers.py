"""The `ledger` command line, run as a user runs it: a separate process on the test's services."""

from __future__ import annotations

import subprocess
import sys


def ledger(env, *args, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
    )

"""What one `ledger` command costs to start: wall and CPU seconds (median of N runs, as
hyperfine reports) of `ledger --help` and of a staff command against a served API. The tests
start hundreds of these, so their start-up is most of what the e2e layer spends.

    LEDGER_HOME=/tmp/x python -m bench.cli_start [--runs 10]

CPU is the child's user + system time (getrusage of reaped children): meaningful on a
shared machine, where wall time is not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import children_cpu_seconds


def timed(env: dict[str, str], args: list[str]) -> tuple[float, float]:
    cpu = children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return wall, children_cpu_seconds() - cpu


def report(name: str, env: dict[str, str], args: list[str], runs: int) -> None:
    timed(env, args)  # a first run compiles the bytecode and warms the page cache
    walls, cpus = zip(*(timed(env, args) for _ in range(runs)))
    print(f"{name:<40} wall {statistics.median(walls) * 1000:6.0f} ms   cpu {statistics.median(cpus) * 1000:6.0f} ms"
          f"   (median of {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs

    from ledger import embedded
    from ledger.config import Settings
    from tests.api_helpers import serving
    from tests.conftest import environment_of, own_settings
    from tests.factories import ADMIN, OPENED_AT
    from domain.credentials import TokenKind

    report("python -c pass", dict(os.environ), ["-c", "pass"], runs)
    report("ledger --help", dict(os.environ), ["-m", "ledger.cli", "--help"], runs)
    with embedded.services(Settings.from_env()) as services, own_settings(services) as settings, serving(settings) as api:
        api.ctx.ledger.bootstrap_admin(ADMIN, at=OPENED_AT, actor="system:staff-bootstrap")
        env = {**environment_of(settings), "LEDGER_API_URL": api.url, "LEDGER_TOKEN": api.token(TokenKind.PERSONAL, ADMIN),
               "XDG_CONFIG_HOME": str(Path(tempfile.mkdtemp()) / "config")}
        report("ledger staff list (served API)", env, ["-m", "ledger.cli", "staff", "list"], runs)
        report("ledger whoami (served API)", env, ["-m", "ledger.cli", "whoami"], runs)


if __name__ == "__main__":
    main()

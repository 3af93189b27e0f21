"""A worker process never outlives the process that started it: the relay's encoding worker
and Python's resource_tracker, and replay's pool workers (even in the middle of a task),
end within seconds when their parent is killed with SIGKILL. Real processes, watched in /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_for
from tests.factories import open_customer, usage_record


def children_of(pid: int) -> dict[int, str]:
    """Child pid -> command line, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    try:
        return status.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


def assert_all_end(pids: dict[int, str], what: str) -> None:
    """Each of these processes ends within a few seconds; any left is killed, so that a
    failing test leaves nothing behind."""
    try:
        wait_for(lambda: not any(alive(pid) for pid in pids), timeout=10, what=f"{what} {pids} to end")
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_relay_killed_with_sigkill_leaves_no_encoding_worker_nor_resource_tracker(settings, app, cli_env):
    from consumers.ingest import decode_usage
    from schemas import registry

    open_customer(app, "CUST-1")
    encode = registry().encode
    # More than a batch and a read-ahead, republished from the start (the live relay encodes
    # each batch itself): the relay starts its encoding worker.
    app.record_usage([decode_usage(encode("billing.usage.UsageEvent", usage_record(f"u-{n}"))) for n in range(7000)],
                     actor="t")
    relay = subprocess.Popen([sys.executable, "-m", "ledger.cli", "relay", "--from-start"], env=cli_env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        helpers = wait_for(
            lambda: (lambda c: c if any("resource_tracker" in line for line in c.values())
                     and len(c) >= 2 else None)(children_of(relay.pid)),
            timeout=60, what="the relay's encoding worker and resource tracker",
        )
    finally:
        relay.kill()
        relay.wait(timeout=30)
    assert relay.returncode == -signal.SIGKILL
    assert_all_end(helpers, "the relay's helpers")


# A replay's pool, as readside/replay.py starts it, with each worker in the middle of a long task.
REPLAY_POOL = """
import multiprocessing, os, sys, time
from readside.replay import _start_worker
pool = multiprocessing.get_context("fork").Pool(2, initializer=_start_worker, initargs=(os.getpid(),))
pool.map(abs, range(4))
pool.map_async(time.sleep, [120, 120], chunksize=1)
time.sleep(0.5)
print("ready", flush=True)
time.sleep(120)
"""


def test_replay_workers_in_the_middle_of_a_task_end_when_the_replay_is_killed_with_sigkill(cli_env):
    replay = subprocess.Popen([sys.executable, "-c", REPLAY_POOL], env=cli_env, stdout=subprocess.PIPE, text=True)
    try:
        assert replay.stdout.readline().strip() == "ready"
        workers = children_of(replay.pid)
    finally:
        replay.kill()
        replay.wait(timeout=30)
    assert len(workers) == 2, workers
    assert_all_end(workers, "the replay's workers")

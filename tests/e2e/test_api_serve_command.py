"""`ledger serve` as an operator starts it: on 127.0.0.1 by default, over the configured
database and broker, until it is stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api_helpers import serve_process
from tests.e2e.test_worker_processes_end_with_their_parent import assert_all_end, children_of
from tests.factories import ADMIN


@pytest.mark.parametrize("workers", [1, 2])
def test_ledger_serve_answers_on_localhost_and_the_bootstrapped_admin_signs_in(cli_env, workers):
    boot = subprocess.run([sys.executable, "-m", "ledger.cli", "staff", "bootstrap", ADMIN], env=cli_env,
                          capture_output=True, text=True, timeout=300)
    password = boot.stdout.split("one-time password ")[1].split()[0]
    with serve_process(cli_env, workers) as (url, server):
        signed_in = httpx.post(f"{url}/v1/sessions", json={"user": ADMIN, "password": password}, timeout=30)
        assert signed_in.status_code == 201 and signed_in.json()["must_change_password"] is True
    assert server.returncode in (0, -signal.SIGINT)


def connections_on(pid: int, port: int) -> int:
    """Established TCP connections to `port` held by process `pid` (Linux /proc)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    sockets = set()
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and local_port == port and fields[9] in sockets:  # 01: ESTABLISHED
                held += 1
    return held


def test_ledger_serve_workers_each_take_a_share_of_the_connections_and_end_with_it(cli_env):
    with serve_process(cli_env, workers=2) as (url, server):
        workers = [pid for pid, command in children_of(server.pid).items() if "multiprocessing" in command
                   and "resource_tracker" not in command]
        assert len(workers) == 2, children_of(server.pid)
        port = int(url.rsplit(":", 1)[1])
        clients = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
        try:
            for client in clients:  # each its own keep-alive connection, left open
                assert client.get("/v1/sessions/current").status_code == 401
            shares = [connections_on(pid, port) for pid in workers]
            # One socket each (SO_REUSEPORT): the kernel spreads connections by address; with one
            # shared socket, a burst went mostly to one worker. All 16 on one: 1 chance in 32,768.
            assert sum(shares) == 16 and min(shares) >= 1, shares
        finally:
            for client in clients:
                client.close()
        server.kill()  # SIGKILL: no chance to stop them
        assert_all_end({pid: "ledger serve worker" for pid in workers}, "the workers of a killed ledger serve")

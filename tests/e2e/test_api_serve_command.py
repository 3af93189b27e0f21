"""`ledger serve` as an operator starts it: on 127.0.0.1 by default, over the configured
database and broker, until it is stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest

from tests.conftest import wait_for
from tests.factories import ADMIN


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float) -> None:
    """Ctrl-C, as an operator stops it; killed only if it has not ended by the deadline."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_ledger_serve_answers_on_localhost_and_the_bootstrapped_admin_signs_in(cli_env, workers):
    boot = subprocess.run([sys.executable, "-m", "ledger.cli", "staff", "bootstrap", ADMIN], env=cli_env,
                          capture_output=True, text=True, timeout=300)
    password = boot.stdout.split("one-time password ")[1].split()[0]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), "--workers", str(workers)], env=cli_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"

        def answering():
            try:
                return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                return False

        wait_for(answering, timeout=120, what="ledger serve to answer")
        signed_in = httpx.post(f"{url}/v1/sessions", json={"user": ADMIN, "password": password}, timeout=30)
        assert signed_in.status_code == 201 and signed_in.json()["must_change_password"] is True
    finally:
        stop_with_ctrl_c(server, timeout=30)
    assert server.returncode in (0, -signal.SIGINT)

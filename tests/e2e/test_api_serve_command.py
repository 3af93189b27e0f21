"""`ledger serve` as an operator starts it: on 127.0.0.1 by default, over the configured
database and broker, until it is stopped."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from tests.api_helpers import serve_process
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

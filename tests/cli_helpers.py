"""The `ledger` command line, run as a user runs it: a separate process on the test's services."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def ledger(env, *args, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
    )


class SignedIn:
    """`ledger serve` for real (uvicorn on a free port of 127.0.0.1, over the test's database
    and topics) and the environments under which a `ledger` subprocess acts as a staff user:
    LEDGER_API_URL and a personal token of theirs in LEDGER_TOKEN (made as the API makes one,
    without a password: no Argon2 per test), a config directory of the test's own."""

    def __init__(self, api, base_env: dict[str, str]):
        self.api = api
        self.base = base_env
        self._tokens: dict[str, str] = {}

    def env(self, user: str) -> dict[str, str]:
        from domain.credentials import TokenKind

        if user not in self._tokens:
            self._tokens[user] = self.api.token(TokenKind.PERSONAL, user, actor=user)
        return {**self.base, "LEDGER_TOKEN": self._tokens[user]}


@pytest.fixture
def staff(settings, cli_env, tmp_path) -> Iterator[SignedIn]:
    """The API on this test's services; `staff.env(user)` is a `ledger` environment signed in as user."""
    with signed_in(settings, cli_env, tmp_path) as signed:
        yield signed


@contextmanager
def signed_in(settings, cli_env, tmp_path) -> Iterator[SignedIn]:
    """`staff`, for a test that serves the API with settings of its own."""
    from tests.api_helpers import serving

    with serving(settings) as api:
        yield SignedIn(api, {**cli_env, "LEDGER_API_URL": api.url, "XDG_CONFIG_HOME": str(tmp_path / "config")})


@pytest.fixture(scope="module")
def module_staff(services, tmp_path_factory) -> Iterator[SignedIn]:
    """One served API for a module whose tests share a database (and so use ids of their own),
    with the factories' admin as global admin."""
    from tests.api_helpers import serving
    from tests.conftest import environment_of, own_settings
    from tests.factories import ADMIN, OPENED_AT

    with own_settings(services) as settings, serving(settings) as api:
        api.ctx.ledger.bootstrap_admin(ADMIN, at=OPENED_AT, actor="system:staff-bootstrap")
        config = tmp_path_factory.mktemp("config")
        yield SignedIn(api, {**environment_of(settings), "LEDGER_API_URL": api.url, "XDG_CONFIG_HOME": str(config)})

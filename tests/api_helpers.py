"""The API served for real: uvicorn on 127.0.0.1 in a thread, over this test's database and
topics, and httpx clients signed in as staff of each role."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from domain.roles import Role
from service.access import issue_token, set_password
from tests.factories import ADMIN, OPENED_AT

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    ctx: object  # service.app.ServiceContext
    url: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def sign_in(self, user: str, password: str = PASSWORD) -> httpx.Client:
        with self.client() as anonymous:
            answer = anonymous.post("/v1/sessions", json={"user": user, "password": password})
        assert answer.status_code == 201, answer.text
        return self.client(answer.json()["token"])

    def add_staff(self, user: str, role: Role | None, password: str = PASSWORD) -> None:
        """A staff user with a password of their own (no one-time password) and a role."""
        if role is not None:
            self.ctx.ledger.grant_role(user, role, at=OPENED_AT, actor=ADMIN)
        set_password(self.ctx.credentials, self.ctx.access, user, password, one_time=False, at=OPENED_AT, actor=ADMIN)

    def token(self, kind, principal: str, lifetime: timedelta = timedelta(days=30), actor: str = ADMIN) -> str:
        """A token made as the API makes it (its row and its event), e.g. for an upstream system."""
        return issue_token(self.ctx.credentials, self.ctx.access, kind, principal, "test", lifetime,
                           at=self.ctx.clock(), actor=actor).secret

    def events(self, log=None) -> list:
        """Every event of a log (the ledger's, or the access log), in order."""
        app = log or self.ctx.ledger
        return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100_000)]

    def notifications(self) -> int:
        """How many events the ledger's store holds: unchanged by a refused command."""
        return self.ctx.ledger.recorder.max_notification_id() or 0


@contextlib.contextmanager
def serving(settings) -> Iterator[Api]:
    """`ledger serve` as it runs, on a free port of 127.0.0.1."""
    from service.app import ServiceContext, create_app
    from service.server import running

    ctx = ServiceContext.open(settings)
    try:
        with running(create_app(ctx)) as url:
            yield Api(ctx, url)
    finally:
        ctx.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_process(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:
    """`ledger serve` in a process of its own (as an operator starts it), on a free port;
    yields its base URL and the process, and stops it with Ctrl-C."""
    from tests.conftest import wait_for

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), "--workers", str(workers)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def answering():
        try:
            return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
        except httpx.TransportError:
            assert server.poll() is None, server.stderr.read()
            return False

    try:
        wait_for(answering, timeout=120, what="ledger serve to answer")
        yield url, server
    finally:
        stop_with_ctrl_c(server, timeout=30)


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float) -> None:
    """Ctrl-C, as an operator stops it; killed only if it has not ended by the deadline."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def api(settings):
    """The API, with the factories' admin as global admin, signed in with PASSWORD."""
    with serving(settings) as served:
        served.ctx.ledger.bootstrap_admin(ADMIN, at=OPENED_AT, actor="system:staff-bootstrap")
        served.add_staff(ADMIN, None)
        yield served


@pytest.fixture
def admin(api) -> httpx.Client:
    with api.sign_in(ADMIN) as client:
        yield client

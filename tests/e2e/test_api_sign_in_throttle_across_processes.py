"""Failed sign-ins are counted in PostgreSQL (service/throttle.py): every `ledger serve`
process on the database counts the same failures, and forgets them after the window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import psycopg

from service.credentials import CredentialStore
from service.throttle import TABLE, FailureCounter
from tests.api_helpers import PASSWORD, api, serve_process  # noqa: F401 - fixtures
from tests.factories import ADMIN


def test_failed_sign_ins_at_two_server_processes_add_up(api, cli_env):
    with serve_process(cli_env) as (other, _), api.client() as here, httpx.Client(base_url=other, timeout=30) as there:
        for client in (here, there, here, there):
            assert client.post("/v1/sessions", json={"user": ADMIN, "password": "guess"}).status_code == 401
        assert there.post("/v1/sessions", json={"user": ADMIN, "password": PASSWORD}).status_code == 201  # 4 < 5
        # the right password cleared the user's count, in both
        for client in (here, there, here, there, here):
            assert client.post("/v1/sessions", json={"user": ADMIN, "password": "guess"}).status_code == 401

        for client in (there, here):  # five failures, three here and two there: both refuse even the right one
            throttled = client.post("/v1/sessions", json={"user": ADMIN, "password": PASSWORD})
            assert throttled.status_code == 429 and throttled.json()["code"] == "too_many_sign_ins"


def test_failures_are_forgotten_after_the_window_and_asking_about_a_name_writes_nothing(settings):
    now = [datetime(2026, 9, 1, tzinfo=timezone.utc)]
    store = CredentialStore.open(settings.database_url)
    try:
        counter = FailureCounter(store.pool, "user", limit=2, window=timedelta(seconds=60), clock=lambda: now[0])
        counter.fail("alice")
        counter.fail("alice")
        assert counter.retry_after("alice") == 60
        now[0] += timedelta(seconds=30)
        assert counter.retry_after("alice") == 30
        now[0] += timedelta(seconds=31)
        assert counter.retry_after("alice") == 0
        for n in range(100):
            assert counter.retry_after(f"guess-{n}") == 0
        counter.fail("bob")  # and a new failure deletes those past the window
        with psycopg.connect(settings.database_url) as conn:
            assert conn.execute(f"SELECT key FROM {TABLE}").fetchall() == [("user:bob",)]
    finally:
        store.close()

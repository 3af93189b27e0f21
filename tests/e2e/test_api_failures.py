"""What the API answers when it cannot do its work: a dependency down, a body too large,
a guesser spraying user names; never a traceback."""

from __future__ import annotations

import psycopg

from service.errors import unexpected
from tests.api_helpers import admin, api  # noqa: F401 - fixtures


def test_a_database_that_is_down_is_a_503_with_retry_after_not_a_500():
    answer = unexpected(psycopg.OperationalError("connection refused"))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert b'"code":"unavailable"' in answer.body and b"correlation_id" in answer.body


def test_a_concurrent_change_of_the_same_record_is_a_409_to_retry_not_a_503():
    from eventsourcing.persistence import IntegrityError

    answer = unexpected(IntegrityError("duplicate key value violates unique constraint"))
    assert answer.status_code == 409 and b'"code":"concurrent_change"' in answer.body


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(admin):
    answer = admin.post("/v1/usage", content=b" " * (4 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"

"""Unit tests: the domain on the in-memory event store, projections as pure functions,
schemas and their golden bytes. Nothing here starts PostgreSQL or a broker: the `app`
fixture below takes the place of tests/conftest.py's, which needs them, and
tests/conftest.py refuses a unit test that asks for the services another way."""

from __future__ import annotations

import pytest

from tests.factories import ADMIN, OPENED_AT
from tests.unit.in_memory import open_in_memory


@pytest.fixture
def app():
    """The application on an in-memory store, with the factories' admin as global admin."""
    application = open_in_memory()
    application.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    yield application
    application.close()

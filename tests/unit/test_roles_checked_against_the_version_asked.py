"""The API asks for a token and for the staff directory's stored version in one query
(service/auth.authenticate) and hands that version to the role check: the check then asks the
store nothing more, and decides on the directory as of that version, whatever it had kept."""

from __future__ import annotations

import pytest

from domain.errors import PermissionDenied
from domain.roles import DIRECTORY_ID, Permission, Role
from tests.factories import ADMIN, OPENED_AT

AGENT = "hal@reseller.example"


def stored_version(app) -> int:
    return app.index.current_versions([DIRECTORY_ID])[DIRECTORY_ID]


def count_asks(app, monkeypatch) -> list[int]:
    asked = []
    ask = app.index.current_versions
    monkeypatch.setattr(app.index, "current_versions", lambda ids: asked.append(1) or ask(ids))
    return asked


def test_a_check_given_the_version_asks_the_store_nothing(app, monkeypatch):
    app.grant_role(AGENT, Role.HELPDESK_AGENT, at=OPENED_AT, actor=ADMIN)
    version = stored_version(app)
    asked = count_asks(app, monkeypatch)
    app.authorize(AGENT, Permission.READ_SUPPORT_VIEW, directory_version=version)
    assert asked == []
    app.authorize(AGENT, Permission.READ_SUPPORT_VIEW)  # not given: asked, as before
    assert asked == [1]


def test_a_role_revoked_counts_at_the_version_given_though_an_older_directory_was_kept(app):
    app.grant_role(AGENT, Role.HELPDESK_AGENT, at=OPENED_AT, actor=ADMIN)
    app.authorize(AGENT, Permission.READ_SUPPORT_VIEW, directory_version=stored_version(app))  # kept now
    app.revoke_role(AGENT, Role.HELPDESK_AGENT, at=OPENED_AT, actor=ADMIN)
    with pytest.raises(PermissionDenied):
        app.authorize(AGENT, Permission.READ_SUPPORT_VIEW, directory_version=stored_version(app))


def test_a_payment_asks_for_the_directorys_and_the_policy_books_versions_in_one_query(app, monkeypatch):
    from tests.factories import open_customer

    open_customer(app, "CUST-1")
    asked = count_asks(app, monkeypatch)
    assert app.receive_payment("CUST-1", "PAY-1", 100, "EUR", "transfer", "", at=OPENED_AT, actor=ADMIN)
    assert asked == [1]

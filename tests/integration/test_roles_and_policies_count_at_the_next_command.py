"""The staff directory and the policy book are kept between commands (domain/kept.py), and
what another process changes in the store counts at the very next command here: two
applications on one store stand for two `ledger serve` processes."""

from __future__ import annotations

import pytest

from domain.errors import InvalidCommand, PermissionDenied
from domain.policy import CollectionsPolicy
from domain.roles import Role
from eventstore.postgres import open_application
from tests.factories import ADMIN, OPENED_AT, open_customer

CLERK = "bob@reseller.example"


@pytest.fixture
def other_process(settings, app):
    other = open_application(settings)
    yield other
    other.close()


def test_a_role_revoked_elsewhere_refuses_the_next_command(app, other_process):
    open_customer(app)
    app.grant_role(CLERK, Role.BILLING_ADMIN, at=OPENED_AT, actor=ADMIN)
    assert app.receive_payment("CUST-1", "P-1", 100, "EUR", "transfer", "", at=OPENED_AT, actor=CLERK)  # kept: allowed

    other_process.revoke_role(CLERK, Role.BILLING_ADMIN, at=OPENED_AT, actor=ADMIN)

    with pytest.raises(PermissionDenied):
        app.receive_payment("CUST-1", "P-2", 100, "EUR", "transfer", "", at=OPENED_AT, actor=CLERK)
    assert app.get_account("CUST-1").version == other_process.get_account("CUST-1").version  # nothing recorded


def test_a_role_granted_elsewhere_allows_the_next_command(app, other_process):
    open_customer(app)
    with pytest.raises(PermissionDenied):
        app.receive_payment("CUST-1", "P-1", 100, "EUR", "transfer", "", at=OPENED_AT, actor=CLERK)

    other_process.grant_role(CLERK, Role.BILLING_ADMIN, at=OPENED_AT, actor=ADMIN)

    assert app.receive_payment("CUST-1", "P-1", 100, "EUR", "transfer", "", at=OPENED_AT, actor=CLERK)


def test_the_first_policy_published_elsewhere_is_known_to_the_next_command(app, other_process):
    open_customer(app)
    with pytest.raises(InvalidCommand, match="no collections policy 'strict'"):  # no book stored: the default kept
        app.assign_policy("CUST-1", "strict", at=OPENED_AT, actor=ADMIN)

    other_process.publish_policy(CollectionsPolicy(name="strict", suspend_after_days=10), at=OPENED_AT, actor=ADMIN)

    assert app.assign_policy("CUST-1", "strict", at=OPENED_AT, actor=ADMIN)


def test_a_policy_published_elsewhere_is_known_to_the_next_command(app, other_process):
    open_customer(app)
    app.publish_policy(CollectionsPolicy(name="lenient", grace_days=10), at=OPENED_AT, actor=ADMIN)
    assert app.assign_policy("CUST-1", "lenient", at=OPENED_AT, actor=ADMIN)  # the book is kept from here
    with pytest.raises(InvalidCommand, match="no collections policy 'strict'"):
        app.assign_policy("CUST-1", "strict", at=OPENED_AT, actor=ADMIN)

    other_process.publish_policy(CollectionsPolicy(name="strict", suspend_after_days=10), at=OPENED_AT, actor=ADMIN)

    assert app.assign_policy("CUST-1", "strict", at=OPENED_AT, actor=ADMIN)


"""The ingest rates usage against accounts it keeps cached between batches; a change made
by another process (the CLI closing an account, adding a subscription) is seen at once."""

from __future__ import annotations

from decimal import Decimal

from domain.errors import AccountClosed, UnknownSubscription
from eventstore.postgres import open_application
from tests.factories import ADMIN, OPENED_AT, open_customer
from tests.factories import usage_report as report


def test_an_account_changed_by_another_process_is_rated_as_it_now_stands(settings, app):
    open_customer(app, "CUST-1")
    assert len(app.record_usage([report("u-1")], actor="system:ingest").recorded) == 1  # now cached

    elsewhere = open_application(settings)  # another process: the staff's CLI
    try:
        elsewhere.add_metered_subscription(
            "CUST-1", "CUST-1-db", "Databases", "vcore-hours", "h", Decimal("0.3"), at=OPENED_AT, actor=ADMIN,
        )
        added = app.record_usage([report("u-2", subscription_id="CUST-1-db", product="Databases", meter="vcore-hours")], actor="system:ingest")
        assert [line.subscription_id for line in added.recorded] == ["CUST-1-db"]

        elsewhere.close_account("CUST-1", at=OPENED_AT, actor=ADMIN)
    finally:
        elsewhere.close()
    refused = app.record_usage([report("u-3"), report("u-4", subscription_id="CUST-1-nothing")], actor="system:ingest")
    assert refused.recorded == []
    assert [type(error) for _, error in refused.rejected] == [AccountClosed, AccountClosed]


def test_a_subscription_unknown_to_a_cached_account_is_refused(app):
    open_customer(app, "CUST-1")
    app.record_usage([report("u-1")], actor="system:ingest")
    outcome = app.record_usage([report("u-2", subscription_id="CUST-1-storage")], actor="system:ingest")
    assert isinstance(outcome.rejected[0][1], UnknownSubscription)

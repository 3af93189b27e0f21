"""Recording usage through the application, on the real event store."""

from datetime import timedelta
from decimal import Decimal

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from domain.errors import AccountClosed, UnknownCustomer, UnknownSubscription
from domain.usage import InvalidUsageReport, UsageLine
from tests.factories import ADMIN, OPENED_AT, open_customer
from tests.factories import usage_report as report


def stored_event_count(app) -> int:
    return app.recorder.max_notification_id() or 0


def test_records_rated_usage_and_counts_a_repeated_usage_id_as_a_duplicate(app):
    open_customer(app, unit_price="0.5")
    first = app.record_usage([report("u-1", quantity="3"), report("u-1", quantity="3")], actor="ingest")
    assert [line.amount for line in first.recorded] == [Decimal("1.5")]
    assert first.duplicates == [1]

    again = app.record_usage([report("u-1", quantity="3")], actor="ingest")
    assert again.recorded == [] and again.duplicates == [0]


def test_the_same_usage_id_with_other_content_is_a_conflicting_duplicate_and_the_first_recording_stands(app):
    open_customer(app, unit_price="0.5")
    first = app.record_usage([report("u-1", quantity="3"), report("u-1", quantity="4")], actor="ingest")
    assert len(first.recorded) == 1 and first.duplicates == []
    assert [(i, error.differing) for i, error in first.conflicting] == [(1, ["quantity"])], "within one batch"

    before = stored_event_count(app)
    later = app.record_usage(
        [report("u-1", quantity="3"), report("u-1", quantity="3", unit="GB", attributes={"region": "x"})], actor="ingest"
    )
    assert later.duplicates == [0], "the same content again is a harmless duplicate"
    ((index, error),) = later.conflicting
    assert index == 1 and error.differing == ["unit", "attributes"] and "the first recording stands" in str(error)
    assert later.recorded == [] and stored_event_count(app) == before


def test_refuses_usage_it_cannot_bill_and_records_the_rest(app):
    open_customer(app)
    before = stored_event_count(app)
    outcome = app.record_usage(
        [
            report("ok"),
            report("no-customer", customer_id="NOBODY", subscription_id="NOBODY-vm"),
            report("no-subscription", subscription_id="CUST-1-storage"),
            report("negative", quantity="-1"),
            report("backwards", usage_end=OPENED_AT - timedelta(days=30)),
        ],
        actor="ingest",
    )
    assert [line.usage_id for line in outcome.recorded] == ["ok"]
    reasons = {index: type(error) for index, error in outcome.rejected}
    assert reasons == {1: UnknownCustomer, 2: UnknownSubscription, 3: InvalidUsageReport, 4: InvalidUsageReport}
    assert [outcome.rejected[i][1].reason for i in (2, 3)] == ["negative_quantity", "period_ends_before_start"]
    assert "ends" in str(dict(outcome.rejected)[4]) and "before it starts" in str(dict(outcome.rejected)[4])
    assert stored_event_count(app) == before + 1


def test_usage_for_a_closed_account_is_refused(app):
    open_customer(app)
    app.close_account("CUST-1", at=OPENED_AT, actor=ADMIN)
    outcome = app.record_usage([report("late")], actor="ingest")
    assert outcome.recorded == []
    assert isinstance(outcome.rejected[0][1], AccountClosed)


def test_rating_writes_nothing_and_a_batch_saved_with_its_source_position_is_never_saved_twice(app):
    # The usage ingest's unit of work (consumers/ingest.py): rate, then save the rated events
    # with the batch's position in one transaction.
    open_customer(app)
    events = stored_event_count(app)
    position = Tracking("ingest:usage:test:0", 41)
    rated = app.rate_usage([report("a"), report("b")], actor="ingest")
    assert stored_event_count(app) == events
    app.events.put(rated.recorded, tracking=position)
    assert app.recorder.max_tracking_id("ingest:usage:test:0") == 41
    assert stored_event_count(app) == events + 2

    replayed = app.rate_usage([report("c")], actor="ingest")
    with pytest.raises(IntegrityError):
        app.events.put(replayed.recorded, tracking=position)
    outcome = app.record_usage([report("c")], actor="ingest")
    assert [line.usage_id for line in outcome.recorded] == ["c"], "the replayed batch must not have written c"


def test_opening_an_account_twice_is_a_harmless_retry(app):
    open_customer(app)
    events = stored_event_count(app)
    assert app.open_account("CUST-1", "Customer CUST-1", "EUR", 30, Decimal("20"), at=OPENED_AT, actor=ADMIN) is False
    assert stored_event_count(app) == events


def test_a_rated_usage_event_is_the_event_the_library_would_build(app):
    from uuid import NAMESPACE_URL, uuid5

    from consumers.ledger_events import ledger_event_id
    from domain.usage import USAGE_NAMESPACE, UsageLine, usage_line_id

    # The recording path builds the event and its id by hand (tuned for ingest rates):
    # same id as uuid5, same event, same field order (the stored JSON keeps it).
    assert USAGE_NAMESPACE == uuid5(NAMESPACE_URL, "billing-ledger:usage-line")
    for usage_id in ("u-1", "é/ü 2026-11", "x" * 300, ""):
        assert usage_line_id(usage_id) == uuid5(USAGE_NAMESPACE, usage_id)
        assert ledger_event_id(usage_line_id(usage_id), 7) == uuid5(usage_line_id(usage_id), "7")
    open_customer(app, unit_price="0.5")
    rated = UsageLine.rate(report("u-1", quantity="3"), app.get_account("CUST-1"), actor="ingest")
    built = UsageLine.Recorded(**vars(rated))
    assert rated == built and list(vars(rated)) == list(vars(built))
    assert rated.mutate(None).amount == Decimal("1.5")


def test_a_report_whose_rating_fails_unexpectedly_is_refused_alone_and_the_rest_recorded(app, monkeypatch):
    open_customer(app)
    rate = UsageLine.rate

    def rate_with_a_bug(report, account, **kwargs):
        if report.usage_id == "u-bug":
            raise ZeroDivisionError("a bug in rating")
        return rate(report, account, **kwargs)

    monkeypatch.setattr(UsageLine, "rate", rate_with_a_bug)
    outcome = app.record_usage([report("u-before"), report("u-bug"), report("u-after")], actor="ingest")
    assert [line.usage_id for line in outcome.recorded] == ["u-before", "u-after"]
    ((index, error),) = outcome.rejected
    assert (index, error.reason, str(error)) == (1, "unexpected_error", "usage 'u-bug': ZeroDivisionError: a bug in rating")

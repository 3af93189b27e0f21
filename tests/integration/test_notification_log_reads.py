"""The recorder reads the notification log with a select of its own (only the columns a
notification carries): it must answer every question as the library's select does."""

from __future__ import annotations

from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import get_topic

from domain.usage import UsageLine
from tests.factories import open_customer, usage_report


def test_the_notification_log_reads_as_the_librarys_select_reads_it(app):
    open_customer(app)
    app.record_usage([usage_report(f"u-{n}") for n in range(5)], actor="system:ingest")
    last = app.recorder.max_notification_id()
    recorded = get_topic(UsageLine.Recorded)
    questions = [
        {"start": 1, "limit": 100},
        {"start": 3, "limit": 4, "inclusive_of_start": False},
        {"start": None, "limit": 2},
        {"start": 2, "limit": 100, "stop": last - 2},
        {"start": 1, "limit": 100, "topics": [recorded]},
        {"start": 1, "limit": 100, "topics": (recorded,), "stop": last - 1, "inclusive_of_start": False},
        {"start": last, "limit": 10, "inclusive_of_start": False},
    ]
    for question in questions:
        ours = app.recorder.select_notifications(**question)
        assert ours == PostgresProcessRecorder.select_notifications(app.recorder, **question), question
    assert len(app.recorder.select_notifications(start=1, limit=100, topics=[recorded])) == 5
    assert all(type(n.state) is bytes for n in app.recorder.select_notifications(start=1, limit=100))

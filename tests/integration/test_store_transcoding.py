"""Usage stored through the ledger's faster JSON transcoder (eventstore/transcoding.py) on the
real store is read back by the library's own mapper."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.persistence import JSONTranscoder, Mapper

from eventstore.transcoding import FastJSONTranscoder
from tests.factories import open_customer, usage_record
from tests.factories import usage_report as report


def test_usage_stored_through_the_ledger_is_read_back_by_the_librarys_own_mapper(app):
    assert isinstance(app.mapper.transcoder, FastJSONTranscoder)
    open_customer(app)
    app.record_usage([report("u-1", quantity="2.25")], actor="system:ingest")
    library = JSONTranscoder()
    app.register_transcodings(library)
    plain = Mapper(transcoder=library)
    events = [plain.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=100)]
    recorded = events[-1]
    assert (recorded.usage_id, recorded.quantity, recorded.period_start) == (
        "u-1", Decimal("2.25"), usage_record("u-1")["usage_start"])

"""The invoice series is snapshotted: a long series is read from its latest snapshot, not from
its first number (a reseller with 100,000 customers takes 100,000 numbers a month)."""

from __future__ import annotations

from domain.numbering import INVOICE_SERIES, series_id
from tests.factories import ADMIN, OPENED_AT


def test_a_series_of_2500_numbers_is_read_from_its_snapshot_at_2000_numbers_and_the_500_after(app):
    series = app.number_series(INVOICE_SERIES, at=OPENED_AT, actor=ADMIN)
    for batch in range(10):  # saved 250 at a time, as a bill run saves them
        for n in range(250):
            series.take(f"C{batch * 250 + n}", at=OPENED_AT, actor=ADMIN)
        app.save(series)
    snapshots = list(app.snapshots.get(series_id(INVOICE_SERIES), desc=True, limit=1))
    assert [s.originator_version for s in snapshots] == [2000]  # the Started event is version 1
    read = app.repository.get(series_id(INVOICE_SERIES))
    assert (read.last, read.version, read.next_number()) == (2500, 2501, "INV-002501")

"""The changes of consecutive chunks of a customer's stored events fold into those of the
whole (replay folds ranges of the log in parallel), for every rows projection."""

from __future__ import annotations

from projections.registry import all_projections
from projections.rows import RowChanges, RowsProjection
from tests.billing_life import CUSTOMER, whole_life


def test_the_changes_of_consecutive_chunks_fold_into_those_of_the_whole(settings, app):
    from readside.history import customer_events

    whole_life(app)
    events = customer_events(settings, CUSTOMER)
    for projection in all_projections():
        if not isinstance(projection, RowsProjection):
            continue
        relevant = projection.relevant(events)
        for cut in (1, len(relevant) // 2, len(relevant) - 1):
            apart = projection.changes(relevant[:cut]) + projection.changes(relevant[cut:])
            together = RowChanges(projection.keys).merge(projection.changes(relevant)).as_list()
            assert RowChanges(projection.keys).merge(apart).as_list() == together, (projection.name, cut)

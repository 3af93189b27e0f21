"""The collections preview shows, a page at a time, the accounts the read models say a run
could act on: every account the domain's own run would act on is among them, on every day."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from service.app import ServiceContext
from service.console import preview, reads
from tests.integration.test_collection_statuses_at_once import DAYS, a_life_through_every_status
from tests.factories import ADMIN


def test_every_account_the_run_would_act_on_is_a_candidate_of_the_preview(settings, app):
    a_life_through_every_status(settings, app)
    ctx = ServiceContext.open(settings)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(context=ctx)))  # what reads asks of one
    try:
        acted_on_some_day = set()
        for day in DAYS + [date(2026, 10, 15), date(2026, 12, 16)]:
            candidates = reads.collections_candidates(request, day, "", 1000)
            acting = {c for c in app.index.customer_ids() if preview.account_plan(app, c, day, ADMIN)}
            assert acting <= set(candidates), day
            acted_on_some_day |= acting
            paged = reads.collections_candidates(request, day, "", 2) + reads.collections_candidates(
                request, day, candidates[1] if len(candidates) > 1 else "~", 1000)
            assert paged == candidates, "pages follow each other by customer id"
        assert "QUIET" not in candidates, "an account with nothing open is not one"
        assert acted_on_some_day >= {"ACME", "HELD", "DUNNED", "LENIENT"}, "the test sees the run act"
    finally:
        ctx.close()

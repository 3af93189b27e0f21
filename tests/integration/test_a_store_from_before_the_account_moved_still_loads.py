"""On PostgreSQL: an account stored before it moved to domain/accounts/ (its events under
`domain.account:CustomerAccount.<Event>`) is still found by the store's index of opened
accounts, loads, and takes part in a collections run."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.factories import ADMIN
from tests.unit.test_a_store_from_before_the_account_moved_still_loads import OLD, STORE, stored


def test_an_account_stored_under_its_old_topics_is_found_loads_and_is_collected(app):
    # the account and the policy book it names (the staff directory is the fixture's own)
    app.recorder.insert_events([stored(e) for e in STORE["events"] if e["topic"].startswith((OLD, "domain.policy:"))])

    assert app.index.customer_ids() == [STORE["customer_id"]]
    account = app.get_account(STORE["customer_id"])
    assert (account.balance, account.totals, account.version) == (STORE["balance"], STORE["totals"], STORE["version"])
    app.collect(at=datetime(2027, 7, 1, tzinfo=timezone.utc), actor=ADMIN)  # reads every account: no error

"""What an operator and an auditor see of the store's hash chain: `ledger verify --store`
(with `--head` and `--from-head`), a replay that refuses to swap in a projection rebuilt from
a broken chain, and `ledger history` with both times."""

from __future__ import annotations

import json

import pytest

from domain.errors import LedgerError
from readside.replay import replay
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, open_customer
from tests.integration.test_append_only_chained_store import events, ids, rechain, with_maintenance
from tests.read_side_helpers import live_balances, record_usage, relay_and_project


@pytest.fixture
def stored(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 4)
    return ids(settings)


def test_verify_store_passes_an_untouched_store_and_names_the_first_edited_event(settings, stored, cli_env):
    held = ledger(cli_env, "verify", "--store")
    assert held.returncode == 0 and f"the chain holds over the {len(stored)} stored events" in held.stderr, held.stderr

    with_maintenance(settings, f"UPDATE {events(settings)} SET state = state || '\\x20' WHERE notification_id = {stored[2]}")
    broken = ledger(cli_env, "verify", "--store")
    assert broken.returncode == 1
    assert f"event {stored[2]} (" in broken.stderr and "does not match the chain" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_verify_store_walks_the_access_log_too_and_names_an_edited_sign_in_event(settings, stored, cli_env):
    from datetime import datetime, timedelta, timezone

    from domain.credentials import TokenKind
    from eventstore.postgres import open_access_log

    at = datetime(2026, 10, 1, tzinfo=timezone.utc)
    access = open_access_log(settings)
    try:
        access.record_password_set(ADMIN, one_time=False, at=at, actor="system:staff-bootstrap")
        access.issue_token("tok-1", ADMIN, TokenKind.PERSONAL, "laptop", at + timedelta(days=30), at=at, actor=ADMIN)
        logged = len(access.recorder.select_notifications(1, 100))
    finally:
        access.close()
    held = ledger(cli_env, "verify", "--store")
    assert held.returncode == 0, held.stderr
    assert f"the access log's chain holds over its {logged} events" in held.stderr

    log = f"{settings.store_schema}.access_events"
    with_maintenance(settings, f"UPDATE {log} SET state = state || '\\x20' WHERE notification_id = (SELECT max(notification_id) FROM {log})")
    broken = ledger(cli_env, "verify", "--store")
    assert broken.returncode == 1, broken.stderr
    assert "access_events: event " in broken.stderr and "does not match the chain" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_a_head_an_auditor_kept_proves_a_later_rewrite(settings, stored, cli_env, tmp_path):
    head = ledger(cli_env, "verify", "--store", "--head")
    assert head.returncode == 0, head.stderr
    kept = tmp_path / "head.txt"
    kept.write_text(head.stdout)
    assert head.stdout.strip().startswith(f"{stored[-1]}:")

    assert ledger(cli_env, "verify", "--store", "--from-head", str(kept)).returncode == 0
    with_maintenance(settings, f"UPDATE {events(settings)} SET customer_id = 'CUST-2' WHERE notification_id = {stored[1]}")
    rechain(settings)  # the chain alone holds again
    assert ledger(cli_env, "verify", "--store").returncode == 0
    for held in (str(kept), head.stdout.strip()):
        refused = ledger(cli_env, "verify", "--store", "--from-head", held)
        assert refused.returncode == 1 and "held head" in refused.stderr, refused.stderr
    bad = ledger(cli_env, "verify", "--store", "--from-head", "12:nothex")
    assert bad.returncode != 0 and "is not a chain head" in bad.stderr and "Traceback" not in bad.stderr


def test_a_projection_rebuilt_from_a_broken_chain_is_not_swapped_in(settings, app, stored):
    relay_and_project(settings, app)
    live = live_balances(settings)
    with_maintenance(settings, f"DELETE FROM {events(settings)} WHERE notification_id = {stored[2]}")

    with pytest.raises(LedgerError, match=f"chain breaks at event {stored[3]}.*balances is not swapped in"):
        replay(settings, "balances", "store")
    assert live_balances(settings) == live


def test_history_shows_the_business_time_and_the_time_the_store_recorded(settings, stored, staff):
    shown = ledger(staff.env(ADMIN), "history", "CUST-1", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert rows and all(r["recorded_at"] and r["occurred_at"] for r in rows)
    assert rows[0]["recorded_at"] != rows[0]["occurred_at"]  # the factories' business time is in the past

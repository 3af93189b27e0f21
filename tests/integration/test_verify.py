"""`ledger verify`: the live tables against a recomputation from the event store."""

from __future__ import annotations

from decimal import Decimal

from readside.verify import EXIT_DIFFERENT, verify
from tests.cli_helpers import ledger
from tests.factories import open_customer
from tests.read_side_helpers import execute, record_usage, relay_all, relay_and_project


def test_a_clean_projection_verifies_and_a_planted_difference_is_reported(settings, app, cli_env):
    for customer in ("CUST-1", "CUST-2"):
        open_customer(app, customer, unit_price="0.5")
        record_usage(app, customer, 12)
    relay_and_project(settings, app)

    clean = ledger(cli_env, "verify")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == "" and "every projection matches" in clean.stderr

    table = f"{settings.read_schema}.customer_balances"
    execute(settings, f"UPDATE {table} SET unbilled_usage = unbilled_usage + 1 WHERE customer_id = 'CUST-2'")
    planted = ledger(cli_env, "verify")

    assert planted.returncode == EXIT_DIFFERENT == 1
    assert planted.stdout.splitlines() == [
        "balances.customer_balances CUST-2: unbilled_usage: live 13, recomputed 12"
    ]


def test_a_lost_row_and_an_extra_row_are_differences(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 3)
    relay_and_project(settings, app)
    table = f"{settings.read_schema}.customer_balances"
    execute(settings, f"INSERT INTO {table} (customer_id, last_notification_id) VALUES ('GHOST', 1)")
    execute(settings, f"DELETE FROM {table} WHERE customer_id = 'CUST-1'")

    differences, _ = verify(settings)

    assert {(d.key, d.column, d.live, d.recomputed) for d in differences} == {
        ("CUST-1", "(row)", "(no row)", "present"),
        ("GHOST", "(row)", "present", "(no row)"),
    }


def test_a_projector_behind_the_store_is_not_a_difference(settings, app):
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 5)
    relay_and_project(settings, app)
    record_usage(app, "CUST-1", 5, first=100)  # stored, and even relayed, but not projected yet
    relay_all(settings, app)

    differences, events = verify(settings)

    assert differences == []
    assert events == app.recorder.max_notification_id()
    from tests.read_side_helpers import live_balances

    assert live_balances(settings)[0]["unbilled_usage"] == Decimal("5.0")

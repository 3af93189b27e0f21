"""How a batch's events fold into one change per read-model row, and why chunks of the log
can be folded apart and then together (replay folds ranges of the log in parallel)."""

from __future__ import annotations

from projections.rows import RowChange, RowChanges

KEYS = {"suspensions": ("customer_id", "subscription_id")}
SUSPENSION = {"customer_id": "ACME", "subscription_id": "ACME-vm"}


def folded(*steps) -> list[RowChange]:
    rows = RowChanges(KEYS)
    for step in steps:
        step(rows)
    return list(rows.rows.values())


def test_a_subscription_reinstated_and_suspended_again_in_one_batch_is_one_new_row():
    (change,) = folded(
        lambda r: r.put("suspensions", **SUSPENSION, since="2026-11-14", warned=False),
        lambda r: r.delete("suspensions", **SUSPENSION),
        lambda r: r.put("suspensions", **SUSPENSION, since="2026-11-30", warned=False),
        lambda r: r.set("suspensions", SUSPENSION, warned=True),
    )
    assert change.put == {**SUSPENSION, "since": "2026-11-30", "warned": True}


def test_a_row_deleted_in_the_batch_ignores_later_patches():
    (change,) = folded(
        lambda r: r.set("suspensions", SUSPENSION, warned=True),
        lambda r: r.delete("suspensions", **SUSPENSION),
        lambda r: r.set("suspensions", SUSPENSION, warned=False),
    )
    assert (change.deleted, change.put, change.sets) == (True, None, {})


def test_patches_of_an_existing_row_keep_the_last_value_set_and_the_sum_added():
    rows = RowChanges({"invoices": ("invoice_number",)})
    key = {"invoice_number": "INV-1"}
    rows.add("invoices", key, paid=500, amount_open=-500)
    rows.set("invoices", key, last_reminder_step=1)
    rows.add("invoices", key, paid=-500, amount_open=500)
    rows.set("invoices", key, last_reminder_step=2)
    (change,) = rows.rows.values()
    assert (change.sets, change.adds) == ({"last_reminder_step": 2}, {"paid": 0, "amount_open": 0})

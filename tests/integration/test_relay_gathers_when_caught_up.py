"""A live relay that has caught up is woken by every transaction that stores events; woken
soon after its last batch began, it waits until RELAY_GATHER_SECONDS have passed since,
and publishes what was stored meanwhile in one batch."""

from __future__ import annotations

import time

from ledger.processes import relay_process
from tests.factories import open_customer
from tests.read_side_helpers import record_usage


def test_a_relay_woken_right_after_a_batch_gathers_what_is_stored_meanwhile_into_one_batch(settings, app):
    process = relay_process(settings, app)
    try:
        while process.step():  # caught up: the last batch (empty) began now
            pass
        open_customer(app, "CUST-1")  # two transactions, each one NOTIFY
        open_customer(app, "CUST-2")
        process.wait_for_work(timeout=5, gather=0.5)
        assert time.monotonic() - process.batch_started_at >= 0.5
        assert process.step() == 4  # each customer's account and subscription, in one batch
        assert process.idle()
    finally:
        process.close()


def test_a_relay_woken_long_after_its_last_batch_publishes_at_once(settings, app):
    process = relay_process(settings, app)
    try:
        while process.step():
            pass
        process.batch_started_at -= 10  # its last batch began long ago
        open_customer(app, "CUST-1")
        woken = time.monotonic()
        process.wait_for_work(timeout=5, gather=0.5)
        assert time.monotonic() - woken < 0.5
    finally:
        process.close()


def test_the_pipelines_relay_encodes_even_large_batches_itself_without_a_worker(settings, app):
    """Beside the ingest and the projector an encoding worker costs more CPU than it gives
    (ledger/processes.py, relay_process)."""
    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 3_600)  # a full batch, and a next one to read ahead
    process = relay_process(settings, app)
    try:
        assert process.step() == process.relay.batch_size
        assert process.step() >= 1_000
        assert process.relay._encoder is None
    finally:
        process.close()

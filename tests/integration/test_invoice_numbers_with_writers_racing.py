"""The gap-free invoice series on the real store, with writers in several applications racing
each other (the in-memory store of the unit tests has no concurrent writers)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone
from decimal import Decimal

from eventstore.postgres import open_application
from tests.factories import ADMIN


def test_invoice_numbers_are_unique_and_gap_free_with_writers_racing(settings, app):
    customers = [f"C{n:02d}" for n in range(12)]
    for customer in customers:
        app.open_account(customer, customer, "EUR", 30, Decimal(0), at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                         actor=ADMIN)
    writers = [open_application(settings) for _ in range(3)]
    numbers: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def invoice(writer, share):
        try:
            for customer in share:
                number = writer.issue_invoice(customer, date(2026, 1, 1), date(2026, 2, 1),
                                              at=datetime(2026, 2, 1, tzinfo=timezone.utc), actor=ADMIN)
                with lock:
                    numbers.append(number)
        except BaseException as error:  # reported below, in the test's own thread
            failures.append(error)

    threads = [threading.Thread(target=invoice, args=(w, customers[n::3])) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        writer.close()
    assert failures == []
    assert sorted(numbers) == [f"INV-{n:06d}" for n in range(1, len(customers) + 1)]

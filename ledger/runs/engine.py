"""A run over every account: its accounts cut into batches, each batch one transaction, done
in this process (one worker) or spread over worker processes, each with its own connection
to the store. Whoever started the run hears of its progress after every batch.

Workers are spawned (not forked: the caller may be a threaded server) and leave when the
process that started them dies, so that a SIGKILL leaves no worker writing behind it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from consumers.workers import exit_with_parent
from domain.errors import LedgerError
from ledger.runs.kinds import RunSpec, RunSummary

BATCH_ACCOUNTS = 250  # accounts per transaction: big enough to amortize a commit, small for progress
Progress = Callable[[RunSummary, int], None]  # the summary so far, and how many accounts the run has

_worker_app = None  # the store each worker process opens once


def execute(settings, spec: RunSpec, *, workers: int = 1, batch_accounts: int = BATCH_ACCOUNTS,
            progress: Progress = lambda summary, total: None, stop: threading.Event | None = None,
            app=None) -> RunSummary:
    """Run `spec` over every account; `stop` set ends it after the batches under way (the
    accounts left are done by starting it again). `app`: an open ledger to list the accounts
    with (and to run the batches on, with one worker)."""
    from eventstore.postgres import open_application

    own_app = app is None
    app = app or open_application(settings)
    try:
        customer_ids = app.index.customer_ids()
        batches = [customer_ids[i:i + batch_accounts] for i in range(0, len(customer_ids), batch_accounts)]
        summary = RunSummary()
        progress(summary, len(customer_ids))
        done = _in_process(app, spec, batches, stop) if workers <= 1 or len(batches) <= 1 else \
            _in_workers(settings, spec, batches, workers, stop)
        for batch in done:
            summary.add(batch)
            progress(summary, len(customer_ids))
        return summary
    finally:
        if own_app:
            app.close()


def _in_process(app, spec: RunSpec, batches: list[list[str]], stop: threading.Event | None) -> Iterator:
    for batch in batches:
        if stop is not None and stop.is_set():
            return
        yield spec.run_batch(app, batch)


def _in_workers(settings, spec: RunSpec, batches: list[list[str]], workers: int,
                stop: threading.Event | None) -> Iterator:
    """Each worker keeps two batches in hand at most, so that a stop leaves few under way."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_open_worker,
                             initargs=(settings, os.getpid())) as pool:
        waiting = iter(batches)
        running = set()
        try:
            while True:
                while len(running) < 2 * workers and not (stop is not None and stop.is_set()):
                    batch = next(waiting, None)
                    if batch is None:
                        break
                    running.add(pool.submit(_run_batch, spec, batch))
                if not running:
                    return
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()


def _open_worker(settings, parent: int) -> None:
    global _worker_app
    from eventstore.postgres import open_application

    _worker_app = open_application(settings)
    exit_with_parent(parent)


def _run_batch(spec: RunSpec, customer_ids: list[str]):
    try:
        return spec.run_batch(_worker_app, customer_ids)
    except LedgerError as error:
        # Its message, as a plain LedgerError: a subclass's own arguments do not survive the
        # trip back to the parent process (unpickling it would break the pool instead).
        raise LedgerError(str(error)) from None

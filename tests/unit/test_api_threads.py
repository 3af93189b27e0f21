"""service/threads.in_thread: blocking work runs off the event loop, its result or its error
comes back to the awaiting request, and a request that went away leaves the pool working."""

from __future__ import annotations

import asyncio
import threading

import pytest

from service.threads import THREADS, in_thread


def test_the_work_runs_in_another_thread_and_its_result_comes_back():
    async def call():
        return await in_thread(lambda a, b=0: (threading.get_ident(), a + b), 2, b=3)

    ident, total = asyncio.run(call())
    assert total == 5 and ident != threading.get_ident()


def test_an_error_of_the_work_is_raised_to_the_caller():
    def fail():
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        asyncio.run(in_thread(fail))


def test_a_caller_that_went_away_does_not_stop_the_pool():
    release = threading.Event()

    async def scenario():
        waiting = asyncio.ensure_future(in_thread(release.wait, 10))
        await asyncio.sleep(0.01)
        waiting.cancel()
        release.set()
        # as many calls at once as there are threads, all answered
        return await asyncio.gather(*(in_thread(lambda n=n: n) for n in range(THREADS)))

    assert asyncio.run(scenario()) == list(range(THREADS))

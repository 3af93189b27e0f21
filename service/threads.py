"""The one way the API runs blocking work (the ledger, the database) off the event loop.

Starlette's `run_in_threadpool` goes through anyio (a capacity limiter, a cancel scope, a
task-local look-up of the backend) on every call: in a profile of support-view reads it held
the GIL for more of each request than the query itself. The event loop's executor
(`run_in_executor` on a ThreadPoolExecutor) did the same hand-off for less, and still showed
in the profile: a concurrent Future with its Condition, the executor's idle semaphore (a
Condition too, in Python) and the chaining of that Future to the loop's cost several lock
rounds per call. Here a call is an asyncio future and a queue entry: a thread takes it from a
C queue, runs it, and settles the future through `call_soon_threadsafe`.

The threads are 8, started at the first call: twice the connections of a pool (each of the
service's three pools has 4, and a request uses one at a time). With anyio's default of 40, a
process kept as many threads busy as it had clients waiting (16 of bench.api's 32 with two
workers), most of them waiting on a pool's Condition (Python, holding the GIL to wait and to
wake) and on each other for the GIL; with 8, the others wait in the C queue. The cost: 8
requests that block long (a usage batch waiting for an unreachable broker) hold every thread
of the process meanwhile, where 40 such requests did. Measured by server CPU per call (one process, 64 customers, 32
clients, two pairs of runs alternated, docs/performance.md): a support read 0.75-0.95 ms with
40 threads, 0.68-0.72 ms with 8; a payment 1.99-2.28 ms and 1.89-2.04 ms.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

THREADS = 8
T = TypeVar("T")
_work: queue.SimpleQueue = queue.SimpleQueue()
_started = threading.Lock()
_threads: list[threading.Thread] = []


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the request went away meanwhile: nobody waits for it
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _serve() -> None:
    while True:
        loop, future, function, args, kwargs = _work.get()
        try:
            result, error = function(*args, **kwargs), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the loop was closed meanwhile (the server stopped)
            pass
        del loop, future, function, args, kwargs, result, error  # nothing kept while idle


def _start() -> None:
    with _started:
        while len(_threads) < THREADS:
            thread = threading.Thread(target=_serve, name=f"ledger-api_{len(_threads)}", daemon=True)
            thread.start()
            _threads.append(thread)


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in a thread of the pool; the event loop serves others meanwhile."""
    if not _threads:
        _start()
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    _work.put((loop, future, function, args, kwargs))
    return await future

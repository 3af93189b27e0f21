"""The one way the API runs blocking work (the ledger, the database) off the event loop.

Starlette's `run_in_threadpool` goes through anyio (a capacity limiter, a cancel scope, a
task-local look-up of the backend) on every call: in a profile of support-view reads it held
the GIL for more of each request than the query itself. A plain executor of the event loop
does the same hand-off for a fraction of it. Its threads are as many as anyio's default (40):
more requests than that wait for one, as they did.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

THREADS = 40
_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="ledger-api")
T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in a thread of the pool; the event loop serves others meanwhile."""
    call = functools.partial(function, *args, **kwargs) if kwargs else (functools.partial(function, *args) if args else function)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)

"""Worker processes that never outlive the process that started them.

A ProcessPoolExecutor worker (the relay's encoder) blocks on its call queue, whose pipe it
holds both ends of: when its parent dies by SIGKILL nothing wakes it, and it (with Python's
resource_tracker, which waits for every holder of its pipe) stays, re-parented to init, as
long as the machine runs. A multiprocessing.Pool worker (replay's) notices only once its
task is done, which can take minutes. A thread in each worker watches its parent and ends
the worker as soon as the parent is gone.

Why not only PR_SET_PDEATHSIG: Linux sends that signal when the *thread* that started the
worker ends, not the process; pools start workers from whichever thread submits first (the
relay's runner thread), which ends before the pool is shut down cleanly.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

PARENT_CHECK_SECONDS = 0.2


def _exit_now() -> None:
    os._exit(1)  # the parent is gone: nobody reads what this worker would produce


def exit_with_parent(parent_pid: int, end: Callable[[], None] = _exit_now) -> None:
    """Call first thing in a worker, with the pid of the process that started it; `end` is
    called once the parent is gone (an orphan is adopted by another process: its parent id
    changes). By default the worker exits at once."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        end()

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()

"""The C allocator's settings for the long-running consumer processes (ingest, relay, projector).

Their resident memory crept up under a steady load, with no Python object left behind (a
drain of 3,000 or 6,000 usage events leaves the same few thousand cyclic objects, those of the
clients it closes): it was glibc's allocator keeping what it had been given.
- Its mmap threshold moves: a freed block of, say, 1 MiB (a fetch response, a batch's arrays)
  raises the threshold to that size, and the next blocks of that size come from the heap,
  where what is freed between live blocks is never given back.
- Each thread that allocates gets an arena of its own (kafka-python's network thread, the
  heartbeat thread, the process's step thread), and each keeps its own free blocks.
- free() gives back only the top of the heap: the pages freed between blocks that stay (a
  ledger record's value, 600-700 bytes, is past Python's small-object allocator) stay
  resident; malloc_trim gives them back (give_back_free_memory, every TRIM_SECONDS).
Measured at 3,000 usage events/s (bench.freshness, 30 s of warm-up): without these settings
the projector went from 70 to 78 MiB in the first 75 s of steady load and the relay from 67
to 73; with a fixed threshold of 128 KiB and two arenas, the ingest, the relay and the
projector stayed at 71, 65 and 68 MiB for the first 110 s (the relay to the end), for no CPU
that stood out of the noise. (The ingest and the projector then grew again, by about a
quarter MiB a second each, from the same moment: docs/performance.md; the periodic trim came
after that run.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

# mallopt's parameters (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

# glibc's own default starting threshold, kept fixed: larger blocks are mapped, and given back
# to the system when freed.
MMAP_THRESHOLD = 128 * 1024
ARENAS = 2
# The environment variables that set the same (an operator's choice wins).
ENVIRONMENT = {M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_", M_ARENA_MAX: "MALLOC_ARENA_MAX"}


@functools.cache  # looked up once: find_library runs `ldconfig -p`, and the trim comes every TRIM_SECONDS
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def give_back_free_memory() -> bool:
    """Return the free pages inside the heap to the system (glibc's malloc_trim): free() gives
    back only the heap's top, and blocks freed between live ones (a record's value, a row
    dumped for PostgreSQL) stay resident however long they stay free. Walks the arenas: a few
    milliseconds, for a process that calls it every TRIM_SECONDS. Returns whether any was
    given back (False off glibc)."""
    trim = getattr(_libc(), "malloc_trim", None)
    return bool(trim(0)) if trim is not None else False


# How often a long-running consumer process gives its free pages back (ledger/processes.py).
TRIM_SECONDS = 10.0


def keep_heap_flat() -> bool:
    """Fix glibc's mmap threshold and bound its arenas, for this process, unless the environment
    sets them. Call before the process starts its threads (an arena is a thread's from its first
    allocation). Returns whether the allocator took them (False off glibc: nothing to do)."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    took = True
    for parameter, value in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_ARENA_MAX, ARENAS)):
        if ENVIRONMENT[parameter] not in os.environ:
            took = bool(mallopt(parameter, value)) and took  # musl's mallopt does nothing and says 0
    return took

"""A long-running consumer process gives the free pages inside its heap back every
TRIM_SECONDS (consumers/allocator.py, ledger/processes.run): free() alone gives back only the
heap's top, and what a batch freed between blocks that stay (a record's value, a row's
bytes) stayed resident, so the projector's resident memory followed its peak, not what it held."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A child process: 20,000 blocks of 700 bytes (malloc'd: past Python's small-object
# allocator), one in 16 kept, the rest freed: how much resident memory (KiB) giving the free
# pages back returns.
CHILD = """
from consumers.allocator import give_back_free_memory
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
blocks = [bytearray(700) for _ in range(20_000)]
kept = blocks[::16]
del blocks
freed = resident()
give_back_free_memory()
print((freed - resident()) >> 10)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_the_free_pages_between_live_blocks_leave_the_process():
    unset = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, env=unset)
    assert int(done.stdout) >= 5 * 1024  # KiB, of the ~13 MiB freed between the kept blocks

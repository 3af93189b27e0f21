"""A long-running consumer process frees what only reference cycles hold, every TRIM_SECONDS
(consumers/collector.py says why): kafka-python's poll leaves an exception, its traceback and
the frames up the stack in a cycle, and with the collector tuned for batches the cycle, and
the records in those frames, stayed."""

from __future__ import annotations

import subprocess
import sys

# A child process (tune_collector freezes and retunes the collector of the process it runs
# in): a poll's records held by the frame of a call whose exception was kept, as
# kafka-python's timed-out wait keeps its own.
CHILD = """
import weakref
from consumers.collector import collect_cycles, tune_collector

tune_collector()

class Records(list):
    pass

def poll():
    records = Records(range(1_000))
    try:
        raise TimeoutError("timed out")
    except TimeoutError as error:
        kept = error  # the frame holds the exception; its traceback holds the frame
    return weakref.ref(records)

held = poll()
garbage = [[n] for n in range(10_000)]  # a batch's worth of objects, freed by reference counts
del garbage
print(held() is not None)
print(collect_cycles() > 0, held() is None)
"""


def test_the_records_a_kept_exception_holds_are_freed_by_the_collection_on_the_clock():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    held_after_the_batch, (found, freed) = done.stdout.split("\n")[0], done.stdout.split("\n")[1].split()
    assert held_after_the_batch == "True"  # the tuned collector alone leaves the cycle
    assert (found, freed) == ("True", "True")

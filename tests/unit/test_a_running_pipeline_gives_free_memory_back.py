"""A long-running consumer process collects reference cycles and gives the free pages inside
its heap back every TRIM_SECONDS while it runs (ledger/processes.run; consumers/collector.py
and consumers/allocator.py say why)."""

from __future__ import annotations

import threading

from ledger import processes


class IdleStage:
    name = "idle"

    def step(self) -> int:
        return 0

    def idle(self) -> bool:
        return True


def test_a_run_gives_free_memory_back_at_its_interval(monkeypatch):
    trims: list[str] = []
    monkeypatch.setattr(processes, "TRIM_SECONDS", 0.1)
    monkeypatch.setattr(processes, "collect_cycles", lambda: trims.append("collect"))
    monkeypatch.setattr(processes, "give_back_free_memory", lambda: trims.append("trim"))
    stop = threading.Event()
    threading.Timer(0.75, stop.set).start()
    processes.run([IdleStage()], stop)
    assert 3 <= trims.count("trim") <= 8  # about one every 0.1 s of the 0.75 s run, none before the first interval
    assert trims == ["collect", "trim"] * trims.count("trim")  # the cycles first: what they held is then free

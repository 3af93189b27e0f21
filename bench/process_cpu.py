"""CPU seconds of processes and the processes they started, read from /proc: what a stage
costs per event is meaningful on a shared machine, where its rate and latency are not.

A process's own time plus what it reaped of its children (cutime, cstime) plus the live
descendants' own: the relay with its encoding worker, PostgreSQL's postmaster with every
backend (the postmaster reaps the ones that exited, so their time stays counted).
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()  # the command name may hold spaces


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """Per name, the CPU seconds (user + system) of that process and all its descendants."""
    children = _children()

    def seconds(pid: int) -> float:
        fields = _stat(pid)
        if fields is None:
            return 0.0
        # after the pid's state: utime, stime, cutime, cstime are fields 14 to 17 of stat
        own = sum(int(value) for value in fields[11:15]) / TICKS
        return own + sum(seconds(child) for child in children.get(pid, []))

    return {name: seconds(pid) for name, pid in pids.items()}


def postmaster_pid(pgdata: Path) -> int | None:
    """The embedded PostgreSQL's postmaster (first line of postmaster.pid)."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def broker_pid(bootstrap: str) -> int | None:
    """The embedded broker listening at `bootstrap` (its command line names the address)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if command and b"tansu" in command[0] and f"tcp://{bootstrap}".encode() in command:
            return int(entry.name)
    return None

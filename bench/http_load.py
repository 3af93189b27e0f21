"""A load generator that costs the machine little per call, so that what `bench.api` measures
is the server: one process, one asyncio event loop, one keep-alive HTTP/1.1 connection per
client, requests built as bytes before the clock starts.

32 threads on httpx (the first `bench.api`) spent about as much CPU per call as the server,
on the same two cores: the client's cost was part of every figure. Here each client still
waits for its answer before it sends the next request (a closed loop, as a staff member or
a script does), and the generator's own CPU per call is measured and printed beside the
server's, so the reader sees what is left of it.

Paced (`rate`), as wrk2 does: the connections together send at a fixed offered rate, each
its share of a schedule fixed before the start, and a call's time is counted from when the
schedule meant it to be sent, not from when it was sent. A closed loop sends nothing while
the server is slow (each client waits for its answer), so its slow moments hold few calls
and hide in its percentiles ("coordinated omission"); on a schedule, the calls that should
have been sent meanwhile wait, and their wait is counted.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections.abc import Callable

# A request for client `client`'s `n`th call, as the bytes sent on the wire.
Request = Callable[[int, int], bytes]


def request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {token}"]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One answer's status and body (the API answers with a Content-Length, never chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


async def _run(port: int, clients: int, seconds: float, prebuilt: list[list[bytes]],
               expect: int, rate: float | None) -> tuple[list[float], float, float]:
    connections = []
    for _ in range(clients):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections.append((reader, writer))
    timings: list[float] = []
    clock = time.perf_counter

    async def client(number: int) -> None:
        reader, writer = connections[number]
        for n, wire in enumerate(prebuilt[number]):
            if rate is None:  # closed: the next call as soon as the last is answered
                started = clock()
            else:  # paced: this client's calls are every `clients`-th of the schedule
                started = begun + (n * clients + number) / rate
            if started >= deadline:
                return
            if started > clock():
                await asyncio.sleep(started - clock())
            writer.write(wire)
            status, body = await _answer(reader)
            timings.append(clock() - started)
            if status != expect:
                raise RuntimeError(f"HTTP {status}, expected {expect}: {body[:300]!r}")
        raise RuntimeError(f"client {number} ran out of prebuilt requests: build more")

    cpu, begun = time.process_time(), clock()
    deadline = begun + seconds
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed, cpu = clock() - begun, time.process_time() - cpu
    for _, writer in connections:
        writer.close()
    return timings, elapsed, cpu


def hammer_http(port: int, clients: int, seconds: float, build: Request, per_client: int,
                expect: int = 200, rate: float | None = None) -> tuple[list[float], float, float]:
    """`clients` connections each sending its own requests (`build(client, n)`, built first)
    one after another for `seconds`, or, at `rate` calls/s, on a schedule (each call's time then
    counted from when it was due): the answers' times (s), the elapsed time (until the last
    answer) and the generator's own CPU seconds."""
    prebuilt = [[build(c, n) for n in range(per_client)] for c in range(clients)]
    # What the generator holds (the prebuilt requests: millions of list entries, and whatever
    # the calling benchmark keeps) is left out of its garbage collector's full collections: a
    # full collection walked it all, holding up all 32 clients at once, and the answers they
    # waited for meanwhile were counted as the server's time.
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(_run(port, clients, seconds, prebuilt, expect, rate))
    finally:
        gc.unfreeze()

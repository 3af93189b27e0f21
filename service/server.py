"""Running the API on uvicorn: `ledger serve`, and a server in a thread for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.address import DEFAULT_HOST, DEFAULT_PORT


class BatchedWrites:
    """A connection's transport whose writes within one step of the event loop go out as one
    send. uvicorn writes an answer's head and its body apart: two system calls made holding
    the GIL, and two wake-ups of the client, where one does. On a busy machine each wake-up
    may hand the CPU to the client while the server's event loop still holds the GIL."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str):  # the rest is the transport's own
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools, with its writes batched (BatchedWrites)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(BatchedWrites(transport, self.loop))  # type: ignore[arg-type]


# uvicorn's access log would be a line per request on stderr; errors are logged by the service.
SERVER_OPTIONS = {"access_log": False, "log_level": "warning", "server_header": False, "http": HttpProtocol}


def settled() -> None:
    """Once a server process has built its app: what it holds for good (modules, the app, its
    pools) is left out of the garbage collector's full collections from here on. Each full
    collection walked all of it, holding the GIL: 80 to 110 ms in a worker of bench.api, every
    request of the process stalled meanwhile (the tail of the p99s, docs/performance.md)."""
    import gc

    gc.collect()
    gc.freeze()


def config(app, **options) -> uvicorn.Config:
    return uvicorn.Config(app, **{**SERVER_OPTIONS, "lifespan": "off", **options})


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    settled()
    uvicorn.Server(config(app, host=host, port=port)).run()


def serve_workers(settings, workers: int, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """`workers` processes on the port, each with its own context (service.app.from_environment)
    and its own listening socket (SO_REUSEPORT): the kernel spreads new connections over the
    sockets by their addresses. With uvicorn's workers, which share one socket, whichever
    accepted first took most of a burst of connections (21 and 11 of 32, then 24 and 8, in
    bench.api): one process served twice the clients of the other, and they waited for it.
    Ctrl-C (SIGINT) or SIGTERM stops them all; so does the end of any one of them."""
    import multiprocessing
    import os
    import signal

    os.environ.update({"LEDGER_DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers})
    with _socket(host, reuse_port=False) as probe:  # in use by anything else: refused here, as uvicorn would
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_worker, args=(host, port, os.getpid()), name=f"ledger-serve-{n}")
                 for n in range(workers)]
    for process in processes:
        process.start()
    try:
        while not stop.wait(0.5) and all(process.is_alive() for process in processes):
            pass
    finally:
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)  # uvicorn's graceful shutdown
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()


def _socket(host: str, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def _worker(host: str, port: int, parent: int) -> None:
    """One process of `serve_workers`: its own socket on the port; it ends when its parent does."""
    import os
    import signal

    from consumers.workers import exit_with_parent

    exit_with_parent(parent, end=lambda: os.kill(os.getpid(), signal.SIGTERM))  # uvicorn's graceful shutdown
    sock = _socket(host, reuse_port=True)
    sock.bind((host, port))
    uvicorn.Server(config("service.app:from_environment", factory=True, lifespan="on")).run(sockets=[sock])


@contextlib.contextmanager
def running(app, host: str = DEFAULT_HOST) -> Iterator[str]:
    """The app served on a free port of `host` in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by the accepted connections: without it a small answer written in two parts
    # waits for the client's delayed ACK (40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ledger-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

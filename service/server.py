"""Running the API on uvicorn: `ledger serve`, and a server in a thread for the tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

DEFAULT_HOST = "127.0.0.1"  # nothing configured: reachable from this machine only
DEFAULT_PORT = 8080


def config(app, **options) -> uvicorn.Config:
    # uvicorn's access log would be a line per request on stderr; errors are logged by the service.
    return uvicorn.Config(app, access_log=False, log_level="warning", server_header=False, **{"lifespan": "off", **options})


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    uvicorn.Server(config(app, host=host, port=port)).run()


def serve_workers(settings, workers: int, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """`workers` processes sharing the port, each with its own context (service.app.from_environment)."""
    import os

    os.environ.update({"LEDGER_DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers})
    uvicorn.run("service.app:from_environment", factory=True, workers=workers, host=host, port=port,
                access_log=False, log_level="warning", server_header=False, lifespan="on")


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

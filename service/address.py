"""Where `ledger serve` listens unless told otherwise, and so where the staff commands look for
it: apart from service/server.py, so that naming the address imports no uvicorn."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"  # nothing configured: reachable from this machine only
DEFAULT_PORT = 8080

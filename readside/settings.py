"""What the read side needs to know of the configuration. The wiring's `ledger.config.Settings`
provides it; the read side does not import the wiring."""

from __future__ import annotations

from typing import Protocol


class ReadSideSettings(Protocol):
    database_url: str | None
    bootstrap_servers: str | None
    store_schema: str
    read_schema: str
    views_schema: str
    ledger_topic: str

    def group(self, process: str) -> str: ...


# An analyst login's bounds unless `ledger db grant-analyst` is told otherwise (readside/analyst.py
# applies them): here, so that the command line can show them without importing psycopg.
STATEMENT_TIMEOUT = "30s"
CONNECTION_LIMIT = 4

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

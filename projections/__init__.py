"""Read models: pure functions from a ledger event to row changes, with their SQL beside them."""

from __future__ import annotations

from importlib import resources


def load_sql(name: str) -> dict[str, str]:
    """The named statements of `<name>.sql`: each starts at a `-- name: <statement>` line."""
    statements: dict[str, str] = {}
    current = None
    for line in resources.files(__name__).joinpath(f"{name}.sql").read_text().splitlines():
        if line.startswith("-- name:"):
            current = line.removeprefix("-- name:").strip()
            statements[current] = ""
        elif current is not None:
            statements[current] += line + "\n"
    return statements

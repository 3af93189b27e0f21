"""Imports go one way: wiring (ledger/) and the service -> read side -> consumers, projections and
the event-store adapter -> domain and schemas. Each rule names
a package and the top-level modules none of its files may import, at module level or inside
a function; the imports are read from the source, so nothing is imported to check them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

UPPER = {"ledger", "service"}  # the wiring and the HTTP service: nothing below imports them
RULES = {
    "domain": UPPER | {"readside", "consumers", "projections", "eventstore", "kafka", "psycopg", "fastavro", "fastapi"},
    "schemas": UPPER | {"readside", "consumers", "projections", "eventstore", "domain"},
    "projections": UPPER | {"readside", "consumers", "eventstore", "kafka"},
    "eventstore": UPPER | {"readside", "consumers", "projections", "kafka"},
    "consumers": UPPER | {"readside"},
    "readside": UPPER,
}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports (relative imports stay in its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def wrong_way_imports(package: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / package).rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in forbidden
    )


@pytest.mark.parametrize("package", list(RULES))
def test_a_package_imports_nothing_that_stands_above_it(package):
    assert wrong_way_imports(package, RULES[package]) == []


def test_the_check_finds_an_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from ledger.config import Settings\n    import psycopg.sql\n")
    assert imported_modules(module) == {"ledger.config", "psycopg.sql"}

"""`python -m tests.golden` writes the golden files that are missing (see tests/golden/__init__.py)."""

from tests.golden import write_missing

print(f"{write_missing()} golden files written")

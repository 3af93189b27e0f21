"""The `ledger` command line. Every error is one clear line on stderr and a non-zero status:
2 for a refused command or bad input (not signed in included), 3 when a service or the API
cannot be reached, 1 for an unexpected failure; a reader that closed the pipe (`| head`)
ends the command quietly with 141, as SIGPIPE would.

Staff commands are clients of the HTTP API, as whoever signed in (`ledger login`); operator
commands (up, serve, ingest, demo, staff bootstrap...) use the database directly."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from domain.errors import LedgerError
from ledger import embedded
from ledger.api_client import ApiFailed, ApiRefused, ApiUnavailable
from ledger.commands import one_line_errors, billing, collections, database, operations, read, say, schema, session, staff, support
from ledger.config import Settings
from service import cli as service_cli

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3
# The reader of stdout went away (`ledger ... | head`): not an outage, and nothing to say.
# The status a shell reports for a command ended by SIGPIPE (128 + 13).
EXIT_PIPE_CLOSED = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced billing ledger. LEDGER_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS "
        "name the services; unset, embedded ones are used.",
    )
    one_line_errors(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (operations, service_cli, session, staff, billing, collections, support, read, database, schema):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return run_command(argv)
        finally:
            sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
    except BrokenPipeError:
        return pipe_closed()


def run_command(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # kafka-python warns of slow event-loop tasks and reconnects it recovers from itself.
    logging.getLogger("kafka").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()  # a setting that cannot work is refused by name, in one line
        return args.func(settings, args)
    except BrokenPipeError:
        raise  # not a failure of the command: main() ends it quietly
    except (LedgerError, ApiRefused) as error:
        say(f"error: {error}")
        return EXIT_REFUSED
    except ApiUnavailable as error:
        say(f"error: {error}")
        return EXIT_UNAVAILABLE
    except ApiFailed as error:
        say(f"error: {error}")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the CLI's last word must be one line
        return report_failure(error)


def pipe_closed() -> int:
    """What Python's documentation advises on SIGPIPE: stdout to devnull, so that the
    interpreter's last flush at exit finds no closed pipe to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


def report_failure(error: Exception) -> int:
    import psycopg
    from eventsourcing.persistence import PersistenceError
    from kafka.errors import KafkaError

    from ledger.usage_publisher import BadUsageLine

    if isinstance(error, BadUsageLine):
        say(f"error: {error}")
        return EXIT_REFUSED
    if isinstance(error, FileNotFoundError):
        say(f"error: no such file: {error.filename}")
        return EXIT_REFUSED
    unavailable = (psycopg.Error, PersistenceError, KafkaError, embedded.EmbeddedServiceError, ConnectionError)
    if isinstance(error, unavailable):
        say(f"error: a service is unavailable: {type(error).__name__}: {error}")
        return EXIT_UNAVAILABLE
    if os.environ.get("LEDGER_DEBUG"):
        raise error
    say(f"error: unexpected {type(error).__name__}: {error} (LEDGER_DEBUG=1 shows where)")
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

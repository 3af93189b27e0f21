"""Pieces shared by the `ledger` command groups: argument types, output, service resolution.

Each group (operations, billing, read) is a module with `register(subparsers)`.

A group imports at module level only what building the parser needs: every `ledger` start
builds all of it, and a staff command is an HTTP client of the API. What a command runs (Kafka,
psycopg, the event store, uvicorn, fastavro) is imported in its function, so that a staff
command does not pay an operator command's imports (tests/unit/test_staff_commands_start_light.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from domain import bounds
from ledger import embedded
from ledger.api_client import Api
from ledger.config import Settings

Command = Callable[[Settings, argparse.Namespace], int]


def say(line: str) -> None:
    """Progress and notices go to stderr; stdout carries only the command's result. One line,
    whatever it quotes: control characters and bidirectional overrides in an id or a text a
    user typed are shown escaped (\\x1b...), never sent raw to the terminal."""
    print(bounds.escaped(line), file=sys.stderr)


def decimal_arg(text: str) -> Decimal:
    """Any decimal Python reads, NaN and Infinity included: the domain checks its bounds
    (domain/bounds.py) and names what is wrong, the same for the CLI and any other caller."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None


def time_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def business_time(args: argparse.Namespace) -> datetime:
    # The CLI is the edge of the system: the one place where "now" may be read, and so where
    # a business time given is checked against it (the domain checks the lower bound).
    now = datetime.now(timezone.utc)
    if args.at is None:
        return now
    return bounds.check_business_time(args.at, "--at (business time)", now=now)


def with_services(body: Command) -> Command:
    """Run a command with the database and broker resolved (embedded ones started if unset)."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        with embedded.services(settings, announce=say) as resolved:
            return body(resolved, args)

    return run


def add_command(parent, name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    one_line_errors(parser)
    return parser


def add_group(parent, name: str, help_text: str, dest: str = "action"):
    group = parent.add_parser(name, help=help_text, description=help_text)
    one_line_errors(group)
    return group.add_subparsers(dest=dest, required=True, metavar=dest.upper())


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Bad arguments get one line on stderr and status 2, like every refused command (argparse
    would print the whole usage first); `-h` prints the usage."""

    def error(message: str) -> NoReturn:
        say(f"error: {parser.prog}: {message} (-h shows the usage)")
        sys.exit(2)

    parser.error = error


def staff_options(parser: argparse.ArgumentParser) -> None:
    """A staff command's options: its business time. Who acts is whoever signed in (`ledger login`)."""
    parser.add_argument("--at", type=time_arg, help="business time (ISO 8601, UTC if no zone); default: now")


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as the API takes it: a string in plain notation (1E+30 written out), exact."""
    return None if value is None else format(value, "f")


def at_of(args: argparse.Namespace) -> str | None:
    """The business time given, as the API takes it (the API checks its bounds)."""
    return None if args.at is None else args.at.isoformat()


def with_api(body: Callable[[Api, argparse.Namespace], int]) -> Command:
    """Run a staff command against the ledger's API, as the signed-in user."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        return body(Api.signed_in(), args)

    return run


def money(value: dict | None) -> str:
    """Money as the API gives it ({"amount": minor units, "currency"}), in the currency's format."""
    from domain.money import format_minor_units

    return "" if value is None else format_minor_units(value["amount"], value["currency"])


def output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")

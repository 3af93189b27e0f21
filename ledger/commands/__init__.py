"""Pieces shared by the `ledger` command groups: argument types, output, service resolution.

Each group (operations, billing, read) is a module with `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from ledger import embedded
from ledger.config import Settings

Command = Callable[[Settings, argparse.Namespace], int]


def say(line: str) -> None:
    """Progress and notices go to stderr; stdout carries only the command's result."""
    print(line, file=sys.stderr)


def decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def time_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def business_time(args: argparse.Namespace) -> datetime:
    # The CLI is the edge of the system: the one place where "now" may be read.
    return args.at or datetime.now(timezone.utc)


def with_services(body: Command) -> Command:
    """Run a command with the database and broker resolved (embedded ones started if unset)."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        with embedded.services(settings, announce=say) as resolved:
            return body(resolved, args)

    return run


def add_command(parent, name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    return parser


def add_group(parent, name: str, help_text: str, dest: str = "action"):
    return parent.add_parser(name, help=help_text, description=help_text).add_subparsers(
        dest=dest, required=True, metavar=dest.upper()
    )


def staff_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="actor", required=True, help="the user who acts (recorded on the event)")
    parser.add_argument("--at", type=time_arg, help="business time (ISO 8601, UTC if no zone); default: now")


def output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")

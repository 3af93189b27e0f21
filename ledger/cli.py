"""The `ledger` command line. Every error is one clear line on stderr and a non-zero status:
2 for a refused command or bad input, 3 when a service cannot be reached."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from domain.errors import LedgerError
from ledger import embedded
from ledger.config import Settings

EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3


def say(line: str) -> None:
    print(line, file=sys.stderr)


# --- argument types: a bad value is named with what was expected ----------------------


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


def _business_time(args) -> datetime:
    # The CLI is the edge of the system: the one place where "now" may be read.
    return args.at or datetime.now(timezone.utc)


# --- commands ----------------------------------------------------------------------------


def cmd_up(settings: Settings, args) -> int:
    services = embedded.up(settings)
    print(f"PostgreSQL: {services.database_url}")
    print(f"broker:     {services.bootstrap_servers}")
    return 0


def cmd_down(settings: Settings, args) -> int:
    stopped = embedded.down(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(settings: Settings, args) -> int:
    for name, where in embedded.status(settings).items():
        print(f"{name}: {where or 'not running (started per command)'}")
    return 0


def with_services(body: Callable[[Settings, argparse.Namespace], int]):
    def run(settings: Settings, args) -> int:
        with embedded.services(settings, announce=say) as resolved:
            return body(resolved, args)

    return run


@with_services
def cmd_demo(settings: Settings, args) -> int:
    from ledger.demo import run_demo
    from ledger.queries import balance_table, balances

    run_demo(settings, say)
    print(balance_table(balances(settings), args.format))
    return 0


def _run_processes(settings: Settings, args, build) -> int:
    from ledger.processes import run

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    processes = build(settings)
    say(f"{args.command}: running" + (" until idle" if args.until_idle else "; SIGTERM stops it cleanly"))
    try:
        run(processes, stop, until_drained=args.until_idle, heartbeat=args.heartbeat)
    finally:
        for process in processes:
            process.close()
    return 0


@with_services
def cmd_ingest(settings: Settings, args) -> int:
    from ledger.processes import ingest_process
    from ledger.store import open_application

    def build(s):
        return [ingest_process(s, open_application(s))]

    code = _run_processes(settings, args, build)
    return code


@with_services
def cmd_relay(settings: Settings, args) -> int:
    from ledger.processes import relay_process
    from ledger.store import open_application

    def build(s):
        process = relay_process(s, open_application(s))
        if args.from_start:
            process.relay.restart_from_beginning()
            say("relay: publishing the whole event store again")
        return [process]

    return _run_processes(settings, args, build)


@with_services
def cmd_project(settings: Settings, args) -> int:
    from ledger.processes import projector_process

    return _run_processes(settings, args, lambda s: [projector_process(s)])


@with_services
def cmd_account_open(settings: Settings, args) -> int:
    from ledger.store import open_application

    opened = open_application(settings).open_account(
        args.customer, args.name, args.currency, args.terms, args.tax_rate, at=_business_time(args), actor=args.actor
    )
    print(f"account {args.customer}: {'opened' if opened else 'already open (nothing changed)'}")
    return 0


@with_services
def cmd_account_close(settings: Settings, args) -> int:
    from ledger.store import open_application

    closed = open_application(settings).close_account(args.customer, at=_business_time(args), actor=args.actor)
    print(f"account {args.customer}: {'closed' if closed else 'already closed (nothing changed)'}")
    return 0


@with_services
def cmd_subscription_add(settings: Settings, args) -> int:
    from ledger.store import open_application

    added = open_application(settings).add_metered_subscription(
        args.customer, args.subscription, args.product, args.meter, args.unit, args.unit_price, args.markup,
        at=_business_time(args), actor=args.actor,
    )
    print(f"subscription {args.subscription}: {'added' if added else 'already there (nothing changed)'}")
    return 0


@with_services
def cmd_usage_publish(settings: Settings, args) -> int:
    from ledger import kafka
    from ledger.usage_publisher import publish_usage, usage_from_json

    source = sys.stdin if args.file == "-" else open(args.file)
    with source:
        # Parse everything first: a bad line publishes nothing rather than half a file.
        records = [
            usage_from_json(line, f"{args.file}:{number}")
            for number, line in enumerate(source, 1)
            if line.strip()
        ]
    kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    try:
        count = publish_usage(producer, settings.usage_topic, records)
    finally:
        producer.close()
    print(f"published {count} usage events to {settings.usage_topic}")
    return 0


@with_services
def cmd_query_balances(settings: Settings, args) -> int:
    from ledger.queries import balance_table, balances

    rows = balances(settings, args.customer)
    if args.customer and not rows:
        raise LedgerError(f"no balance projected for customer {args.customer!r}")
    print(balance_table(rows, args.format))
    return 0


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced billing ledger. LEDGER_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS "
        "name the services; unset, embedded ones are used.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help_text, parent=sub):
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def staff(p):
        p.add_argument("--as", dest="actor", required=True, help="the user who acts (recorded on the event)")
        p.add_argument("--at", type=time_arg, help="business time (ISO 8601, UTC if no zone); default: now")

    def output(p):
        p.add_argument("--format", choices=["table", "json", "csv"], default="table")

    command("up", cmd_up, "start the embedded PostgreSQL and broker in the background, shared by later commands")
    command("down", cmd_down, "stop what `ledger up` started")
    command("status", cmd_status, "show which embedded services are running")
    output(command("demo", cmd_demo, "run sample usage for a few dozen customers through the pipeline"))

    for name, func, text in [
        ("ingest", cmd_ingest, "consume billing.usage.v1 into the event store (dead letters to .dlq)"),
        ("relay", cmd_relay, "publish the event store's events to billing.ledger.v1, in order"),
        ("project", cmd_project, "consume billing.ledger.v1 into the read models"),
    ]:
        p = command(name, func, text)
        p.add_argument("--until-idle", action="store_true", help="exit once everything available is processed")
        p.add_argument(
            "--heartbeat", type=Path, default=os.environ.get("LEDGER_HEARTBEAT_FILE") or None,
            help="file whose time is renewed while the process makes progress (for health checks)",
        )
        if name == "relay":
            p.add_argument("--from-start", action="store_true", help="republish the whole store (for an empty broker)")

    account = sub.add_parser("account", help="open or close customer accounts").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = command("open", cmd_account_open, "open a customer account", account)
    p.add_argument("customer")
    p.add_argument("--name", required=True)
    p.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    p.add_argument("--terms", type=int, default=30, help="payment terms in days (default 30)")
    p.add_argument("--tax-rate", type=decimal_arg, default=Decimal(0), help="tax rate in percent")
    staff(p)
    p = command("close", cmd_account_close, "close a customer account", account)
    p.add_argument("customer")
    staff(p)

    subscription = sub.add_parser("subscription", help="manage subscriptions").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = command("add-metered", cmd_subscription_add, "add a metered subscription to an account", subscription)
    p.add_argument("customer")
    p.add_argument("subscription")
    p.add_argument("--product", required=True)
    p.add_argument("--meter", required=True)
    p.add_argument("--unit", required=True)
    p.add_argument("--unit-price", type=decimal_arg, required=True)
    p.add_argument("--markup", type=decimal_arg, default=Decimal(0), help="percent; negative for a discount")
    staff(p)

    usage = sub.add_parser("usage", help="publish usage as an upstream system would").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = command("publish", cmd_usage_publish, "publish UsageEvents from JSON lines (a file, or - for stdin)", usage)
    p.add_argument("file")

    query = sub.add_parser("query", help="read the projections").add_subparsers(
        dest="view", required=True, metavar="VIEW"
    )
    p = command("balances", cmd_query_balances, "customer balances", query)
    p.add_argument("customer", nargs="?")
    output(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # kafka-python warns of slow event-loop tasks and reconnects it recovers from itself.
    logging.getLogger("kafka").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return args.func(settings, args)
    except LedgerError as error:
        say(f"error: {error}")
        return EXIT_REFUSED
    except (OSError, ValueError) as error:
        return _report_infrastructure(error)
    except Exception as error:  # noqa: BLE001 - the CLI's last word must be one line
        return _report_infrastructure(error)


def _report_infrastructure(error: Exception) -> int:
    import psycopg
    from kafka.errors import KafkaError

    from ledger.usage_publisher import BadUsageLine

    if isinstance(error, BadUsageLine):
        say(f"error: {error}")
        return EXIT_REFUSED
    if isinstance(error, FileNotFoundError):
        say(f"error: no such file: {error.filename}")
        return EXIT_REFUSED
    if isinstance(error, (psycopg.Error, KafkaError, embedded.EmbeddedServiceError, ConnectionError)):
        say(f"error: a service is unavailable: {type(error).__name__}: {error}")
        return EXIT_UNAVAILABLE
    raise error


if __name__ == "__main__":
    sys.exit(main())

"""Running the ledger: embedded services, the demo, the three processes, publishing usage."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from ledger import embedded
from ledger.api_client import Api
from ledger.commands import add_command, add_group, output_options, say, with_api, with_services
from ledger.config import Settings
from service.address import DEFAULT_HOST, DEFAULT_PORT


def cmd_up(settings: Settings, args) -> int:
    services = embedded.up(settings)
    print(f"PostgreSQL: {embedded.shown_url(services.database_url)}")
    print(f"broker:     {services.bootstrap_servers}")
    return 0


def cmd_down(settings: Settings, args) -> int:
    stopped = embedded.down(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(settings: Settings, args) -> int:
    for name, where in embedded.status(settings).items():
        shown = embedded.shown_url(where) if where and name == "postgres" else where
        print(f"{name}: {shown or 'not running (started per command)'}")
    return 0


# The summary's money columns reconcile, left to right: balance = invoiced - credited
# - written_off - paid + reversed + refunded (the balances view's own rule).
DEMO_COLUMNS = ["customer_id", "currency", "invoiced", "credited", "written_off", "paid", "reversed", "refunded",
                "balance", "overdue", "collection_status", "unbilled_usage"]


@with_services
def cmd_demo(settings: Settings, args) -> int:
    from ledger.commands.render import rows_out
    from ledger.demo import DEMO_END, run_demo, serve_demo
    from projections.balances import BALANCES_VIEW
    from readside.queries import billing_summary
    from service.routes.views import row_out

    run_demo(settings, say)
    # The demo's business ends on DEMO_END: what is overdue is read as of that day, not
    # today, so that every run prints the same table. Values as the API gives them.
    rows = [{**row_out(BALANCES_VIEW, r), "collection_status": r["collection_status"]}
            for r in billing_summary(settings, DEMO_END)]
    print(rows_out(rows, DEMO_COLUMNS, args.format), flush=True)
    if args.serve:  # the console on the demo's data, on the same services, until Ctrl-C
        serve_demo(settings, args.host, args.port)
    return 0


def run_processes(settings: Settings, args, build) -> int:
    from consumers.allocator import keep_heap_flat
    from consumers.collector import tune_collector
    from ledger.processes import run

    keep_heap_flat()  # first: before the processes' clients start their threads
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    processes = build(settings)
    tune_collector()
    say(f"{args.command}: running" + (" until idle" if args.until_idle else "; SIGTERM stops it cleanly"))
    try:
        run(processes, stop, until_drained=args.until_idle, heartbeat=args.heartbeat,
            outage_deadline=settings.outage_deadline)
    finally:
        for process in processes:
            process.close()
    return 0


@with_services
def cmd_ingest(settings: Settings, args) -> int:
    from eventstore.postgres import open_application
    from ledger.processes import ingest_process

    app = open_application(settings)
    try:
        status = run_processes(settings, args, lambda s: [ingest_process(s, app, until_idle=args.until_idle)])
        if args.stats:
            print(stats_table(app.recorder.ingest_counts(), "table"))
    finally:
        app.close()
    return status


STATS_COLUMNS = ["source", "consumed", "recorded", "duplicates", "conflicting", "dead_letters", "reconciles"]
COUNTED = STATS_COLUMNS[1:-1]


def stats_table(rows: list[dict], fmt: str) -> str:
    """Committed ingest counts per source and in total; each row must reconcile:
    consumed = recorded + duplicates + conflicting duplicates + dead letters."""
    from readside.tables import render

    total = {"source": "total", **{c: sum(r[c] for r in rows) for c in COUNTED}}
    shown = [{k: v for k, v in r.items() if k != "updated_at"} for r in rows] + [total]
    for row in shown:
        row["reconciles"] = "yes" if row["consumed"] == sum(row[c] for c in COUNTED[1:]) else "NO"
    return render(shown, STATS_COLUMNS, fmt)


@with_services
def cmd_stats(settings: Settings, args) -> int:
    from eventstore.postgres import open_application

    app = open_application(settings)
    try:
        print(stats_table(app.recorder.ingest_counts(), args.format))
    finally:
        app.close()
    projector_dead_letters = _projector_dead_letters(settings)
    if projector_dead_letters:
        say(f"projector: {projector_dead_letters:,} ledger record(s) dead-lettered to {settings.ledger_dlq_topic} "
            "(`ledger dlq list --ledger`)")
    return 0


def _projector_dead_letters(settings: Settings) -> int:
    """What the projector group dead-lettered, from its offsets (0 before any projector ran)."""
    import psycopg

    from consumers.projector import dead_letter_counts

    with psycopg.connect(settings.database_url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f'"{settings.read_schema}".projector_offsets',)).fetchone()[0] is None:
            return 0
        conn.execute(f'SET search_path TO "{settings.read_schema}"')
        return sum(dead_letter_counts(conn, settings.group("projector")).values())


DEAD_LETTER_COLUMNS = ["id", "reason", "source", "dead_lettered_at", "key", "detail"]


def cmd_dlq_list(settings: Settings, args) -> int:
    from readside.tables import render

    if args.ledger:  # the projector's dead letters: the operator's, read from the broker itself
        return list_ledger_dead_letters(settings, args)
    letters = Api.signed_in().pages("/dead-letters", reason=args.reason, customer_id=args.customer, limit=500)
    if args.id:
        letters = [letter for letter in letters if letter["id"] in set(args.id)]
    print(render(letters, DEAD_LETTER_COLUMNS, args.format))
    return 0


@with_services
def list_ledger_dead_letters(settings: Settings, args) -> int:
    from consumers.dead_letters import read_dead_letters, select
    from readside.tables import render

    letters = select(read_dead_letters(settings, settings.ledger_dlq_topic), set(args.id),
                     set(args.reason))
    if args.customer:
        letters = [letter for letter in letters if letter.key == args.customer.encode()]
    print(render([letter.row() for letter in letters], DEAD_LETTER_COLUMNS, args.format))
    return 0


@with_api
def cmd_dlq_redrive(api: Api, args) -> int:
    from domain.errors import LedgerError

    if not (args.id or args.reason or args.all):
        raise LedgerError("say which dead letters to redrive: --offset PARTITION:OFFSET, --reason CODE or --all")
    done = api.post("/dead-letters/redrive", {"ids": args.id, "reasons": args.reason, "all": args.all})
    print(f"redrove {done['redriven']} dead letters to the usage topic")
    return 0


@with_services
def cmd_relay(settings: Settings, args) -> int:
    from eventstore.postgres import open_application
    from consumers.relay import PIPELINE_FROM
    from ledger.processes import relay_process

    def build(s):
        process = relay_process(s, open_application(s))
        if args.from_start:
            process.relay.pipeline_from = PIPELINE_FROM  # alone at work: the encoding worker helps
            process.relay.restart_from_beginning()
            say("relay: publishing the whole event store again")
        return [process]

    return run_processes(settings, args, build)


@with_services
def cmd_project(settings: Settings, args) -> int:
    from ledger.processes import projector_process

    return run_processes(settings, args, lambda s: [projector_process(s, until_idle=args.until_idle)])


@with_services
def cmd_usage_publish(settings: Settings, args) -> int:
    from consumers import kafka_clients
    from ledger.usage_publisher import publish_usage, usage_from_json

    source = sys.stdin if args.file == "-" else open(args.file)
    with source:
        # Parse everything first: a bad line publishes nothing rather than half a file.
        records = [
            usage_from_json(line, f"{args.file}:{number}")
            for number, line in enumerate(source, 1)
            if line.strip()
        ]
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    try:
        count = publish_usage(producer, settings.usage_topic, records)
    finally:
        producer.close()
    print(f"published {count} usage events to {settings.usage_topic}")
    return 0


def dlq_filters(parser) -> None:
    from consumers.dead_letters import REASONS

    parser.add_argument("--offset", dest="id", action="append", default=[], metavar="PARTITION:OFFSET",
                        help="the dead letter at this position of the dead-letter topic (repeatable)")
    parser.add_argument("--reason", action="append", default=[], choices=sorted(REASONS),
                        help="dead letters with this reason (repeatable)")


def register(sub) -> None:
    add_command(sub, "up", cmd_up, "start the embedded PostgreSQL and broker in the background, shared by later commands")
    add_command(sub, "down", cmd_down, "stop what `ledger up` started")
    add_command(sub, "status", cmd_status, "show which embedded services are running")
    p = add_command(sub, "demo", cmd_demo, "run sample usage for a few dozen customers through the pipeline")
    output_options(p)
    p.add_argument("--serve", action="store_true",
                   help="then serve the API and staff console on the demo's data, with a sign-in for each role, "
                        "until Ctrl-C")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"with --serve: address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"with --serve: port (default {DEFAULT_PORT})")

    for name, func, text in [
        ("ingest", cmd_ingest, "consume billing.usage.v1 into the event store (dead letters to .dlq)"),
        ("relay", cmd_relay, "publish the event store's events to billing.ledger.v1, in order"),
        ("project", cmd_project, "consume billing.ledger.v1 into the read models"),
    ]:
        p = add_command(sub, name, func, text)
        p.add_argument("--until-idle", action="store_true", help="exit once everything available is processed")
        p.add_argument(
            "--heartbeat", type=Path, default=os.environ.get("LEDGER_HEARTBEAT_FILE") or None,
            help="file for health checks: `ok`, renewed while the process makes progress; during an "
                 "outage, what is unavailable (see LEDGER_OUTAGE_DEADLINE)",
        )
        if name == "ingest":
            p.add_argument("--stats", action="store_true", help="print the committed ingest counts when it stops")
        if name == "relay":
            p.add_argument("--from-start", action="store_true", help="republish the whole store (for an empty broker)")

    output_options(add_command(sub, "stats", cmd_stats, "ingest counts per source: consumed = recorded + duplicates + conflicting + dead letters"))

    dlq = add_group(sub, "dlq", "dead letters: usage messages the ingest could not accept")
    p = add_command(dlq, "list", cmd_dlq_list, "show dead letters with their reasons")
    dlq_filters(p)
    p.add_argument("--customer", help="only dead letters keyed by this customer id")
    p.add_argument("--ledger", action="store_true",
                   help="the projector's dead letters: records on the ledger topic it could not read")
    output_options(p)
    p = add_command(dlq, "redrive", cmd_dlq_redrive, "send dead letters back to the usage topic, once their cause is fixed")
    dlq_filters(p)
    p.add_argument("--all", action="store_true", help="every dead letter")

    usage = add_group(sub, "usage", "publish usage as an upstream system would")
    p = add_command(usage, "publish", cmd_usage_publish, "publish UsageEvents from JSON lines (a file, or - for stdin)")
    p.add_argument("file")

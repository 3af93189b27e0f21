"""Looking after the read side in PostgreSQL: analyst logins, rebuilding and verifying projections."""

from __future__ import annotations

import signal
import sys
import threading

from domain.errors import LedgerError
from ledger.commands import add_command, add_group, say, with_services
from ledger.config import Settings

EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT


@with_services
def cmd_grant_analyst(settings: Settings, args) -> int:
    from readside.analyst import databases_open_to_everyone, grant_analyst

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    created = grant_analyst(settings, args.name, password, args.statement_timeout, args.connection_limit)
    print(f"analyst role {args.name!r} {'created' if created else 'updated'}: may read {settings.views_schema}, nothing else "
          f"(statements up to {args.statement_timeout}, {args.connection_limit} connections)")
    open_doors = databases_open_to_everyone(settings)
    if open_doors:
        say(f"note: every role may still connect to {', '.join(open_doors)} on this server: "
            "REVOKE CONNECT ON DATABASE ... FROM PUBLIC there (docs/security.md)")
    return 0


@with_services
def cmd_replay(settings: Settings, args) -> int:
    from readside.replay import replay

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    result = replay(settings, args.projection, args.source, stop, restart=args.restart, workers=args.workers)
    if not result.complete:
        return EXIT_INTERRUPTED
    print(
        f"replayed {args.projection} from {'the event store' if args.source == 'store' else 'Kafka'}: {result.events:,} events in "
        f"{result.seconds:.1f} s ({result.rate:,.0f} events/s); swapped in"
    )
    return 0


@with_services
def cmd_verify(settings: Settings, args) -> int:
    from readside.verify import EXIT_DIFFERENT, verify

    if args.store or args.head or args.from_head:
        if args.projection:
            raise LedgerError("verify --store walks the event store's chain: name no projection with it")
        return _verify_store(settings, args)
    differences, events = verify(settings, args.projection or None)
    for d in differences:
        print(f"{d.projection}.{d.table} {d.key}: {d.column}: live {d.live!s}, recomputed {d.recomputed!s}")
    if differences:
        say(f"verify: {len(differences)} difference(s) from the {events:,} stored events")
        return EXIT_DIFFERENT
    say(f"verify: every projection matches the {events:,} stored events")
    return 0


@with_services
def cmd_roles(settings: Settings, args) -> int:
    from readside.roles import create_roles

    rotate = args.roles_action == "rotate"
    for credential in create_roles(settings, settings.home, settings.role_prefix, rotate=rotate,
                                   passwords_from_env=args.passwords_from_env):
        # the URL names the password file, it carries no password: safe to show and to log
        print(f"{credential.role}: {credential.url}")
    say(f"roles {'rotated' if rotate else 'ready'}; passwords in {settings.home / 'credentials'} (mode 0600); "
        "see docs/security.md for which process uses which")
    return 0


@with_services
def cmd_migrate(settings: Settings, args) -> int:
    from readside.migrate import migrate

    result = migrate(settings)
    unknown = f"; {result.unknown_times:,} stored before commit times were kept: recorded_at unknown" if result.unknown_times else ""
    say(f"migrate: the store is append-only and chained; {result.hashed:,} events hashed now{unknown}")
    return 0


def _verify_store(settings: Settings, args) -> int:
    from pathlib import Path

    from eventstore.chain import Head
    from readside.event_log import ACCESS_EVENTS_TABLE, EVENTS_TABLE
    from readside.verify import EXIT_DIFFERENT, describe_break, verify_store

    held = None
    if args.from_head:
        source = Path(args.from_head)
        text = source.read_text() if source.is_file() else args.from_head
        try:
            held = Head.parse(text)
        except ValueError as exc:
            raise LedgerError(f"--from-head: {exc}") from None
    reports = verify_store(settings, held)
    for table, report in reports.items():
        if report.broken is not None:
            say(f"verify --store: {table}: {describe_break(report.broken)}; {report.events:,} events before it hold")
            return EXIT_DIFFERENT
    ledger_chain = reports[EVENTS_TABLE]
    if args.head:
        print(ledger_chain.head if ledger_chain.head else "0:" + "0" * 64)  # alone on stdout: `> head.txt` keeps it
    since = f", and held head {held} is in it" if held else ""
    say(f"verify --store: the chain holds over the {ledger_chain.events:,} stored events{since}")
    if ACCESS_EVENTS_TABLE in reports:
        say(f"verify --store: the access log's chain holds over its {reports[ACCESS_EVENTS_TABLE].events:,} events")
    return 0


def register(sub) -> None:
    from projections.registry import names
    from readside.settings import CONNECTION_LIMIT, STATEMENT_TIMEOUT

    db = add_group(sub, "db", "the ledger in PostgreSQL: migrations, roles, analyst access")
    p = add_command(db, "grant-analyst", cmd_grant_analyst, "create or update a login that may read the views and nothing else")
    p.add_argument("name", help="the PostgreSQL role name")
    p.add_argument("--password-stdin", action="store_true", help="set its password from the first line of stdin")
    p.add_argument("--statement-timeout", default=STATEMENT_TIMEOUT, help=f"longest query (PostgreSQL units; default {STATEMENT_TIMEOUT})")
    p.add_argument("--connection-limit", type=int, default=CONNECTION_LIMIT, help=f"connections at once (default {CONNECTION_LIMIT})")

    roles = add_group(db, "roles", "the owner, application and projector roles, least privilege", dest="roles_action")
    for action, text in (("create", "create the roles (a generated password for each new one) and grant their rights"),
                         ("rotate", "give every role a new generated password, and grant their rights again")):
        p = add_command(roles, action, cmd_roles, text)
        p.add_argument("--passwords-from-env", action="store_true",
                       help="take LEDGER_OWNER_PASSWORD, LEDGER_APP_PASSWORD, LEDGER_PROJECTOR_PASSWORD instead of generating them")

    p = add_command(db, "migrate", cmd_migrate, "bring the store up to this version (columns, triggers, hash chain); resumable")

    p = add_command(sub, "replay", cmd_replay, "rebuild a projection into a shadow, then swap it in at once")
    p.add_argument("projection", choices=names())
    p.add_argument("--source", choices=["kafka", "store"], required=True, help="the ledger topic from offset zero, or the event store")
    p.add_argument("--restart", action="store_true", help="discard an interrupted rebuild instead of resuming it")
    p.add_argument("--workers", type=int, help="processes converting stored events (--source store); default: CPUs")

    p = add_command(sub, "verify", cmd_verify, "recompute the projections from the event store and compare (exit 1 on a difference)")
    p.add_argument("projection", nargs="*", help=f"of: {', '.join(names())} (default: all)")
    p.add_argument("--store", action="store_true", help="instead, walk the event store's hash chain; name the first event that does not match")
    p.add_argument("--head", action="store_true", help="with --store: print the chain's head (<notification id>:<hash>) for an auditor to keep")
    p.add_argument("--from-head", metavar="FILE|HEAD", help="with --store: a head kept earlier, which must still be in the chain")

"""`ledger serve`: the HTTP API, on the embedded services when nothing is configured."""

from __future__ import annotations

from ledger.commands import add_command, say, with_services
from ledger.config import Settings
from service.address import DEFAULT_HOST, DEFAULT_PORT


@with_services
def cmd_serve(settings: Settings, args) -> int:
    from service.app import ServiceContext, create_app
    from service.server import serve, serve_workers

    if args.workers > 1:
        say(f"ledger API on http://{args.host}:{args.port}, {args.workers} worker processes; Ctrl-C stops it")
        serve_workers(settings, args.workers, args.host, args.port)
        return 0
    ctx = ServiceContext.open(settings)
    try:
        say(f"ledger API on http://{args.host}:{args.port} (OpenAPI: /openapi.json, docs: /docs; "
            "the staff console: /); Ctrl-C stops it")
        serve(create_app(ctx), args.host, args.port)
    finally:
        ctx.close()
    return 0


def register(sub) -> None:
    p = add_command(sub, "serve", cmd_serve, "serve the HTTP API (staff sign in; see docs/api.md)")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--workers", type=int, default=1,
                   help="processes serving the port (default 1); they share the sign-in throttle and tokens through the database")

"""Reading the projections: `ledger query ...`."""

from __future__ import annotations

from domain.errors import LedgerError
from ledger.commands import add_command, add_group, output_options, with_services
from ledger.config import Settings


@with_services
def cmd_query_balances(settings: Settings, args) -> int:
    from ledger.queries import balance_table, balances

    rows = balances(settings, args.customer)
    if args.customer and not rows:
        raise LedgerError(f"no balance projected for customer {args.customer!r}")
    print(balance_table(rows, args.format))
    return 0


def register(sub) -> None:
    query = add_group(sub, "query", "read the projections", dest="view")
    p = add_command(query, "balances", cmd_query_balances, "customer balances")
    p.add_argument("customer", nargs="?")
    output_options(p)

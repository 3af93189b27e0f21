"""Reading the ledger: `ledger query <view>`, `ledger history`, `ledger balance --as-of`."""

from __future__ import annotations

import argparse
from datetime import timedelta

from domain.errors import LedgerError
from ledger.commands import add_command, add_group, output_options, say, time_arg, with_services
from ledger.commands.billing import date_arg
from ledger.config import Settings
from projections.base import View


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def filter_type(convert):
    """An argparse type that names the bad value in one line, whatever `convert` raises."""

    def parse(text: str):
        try:
            return convert(text)
        except Exception:  # noqa: BLE001 - Decimal, int... each raise their own kind
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid value") from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def query_command(view: View):
    @with_services
    def run(settings: Settings, args) -> int:
        from readside.queries import ViewQuery, read_view, view_table

        if args.actor is not None:
            authorize_reader(settings, args.actor, view)
        filters = [(f, getattr(args, _dest(f))) for f in view.filters if getattr(args, _dest(f)) is not None]
        query = ViewQuery(view, key=args.customer, filters=filters, after=args.after, limit=args.limit, as_of=args.as_of)
        rows = read_view(settings, query)
        if args.customer and not rows and not filters:
            raise LedgerError(f"no {view.row_name} projected for customer {args.customer!r}")
        print(view_table(view, rows, args.format, view.shown_columns if not args.all_columns else list(view.columns)))
        if args.limit is not None and len(rows) == args.limit:
            say(f"more rows may follow: --after {rows[-1][view.key]}")
        return 0

    return run


def authorize_reader(settings: Settings, actor: str, view: View) -> None:
    """Refuse a reader whose roles do not allow the view (domain/roles.py)."""
    from eventstore.postgres import open_application

    app = open_application(settings)
    try:
        app.authorize(actor, view.permission)
    finally:
        app.close()


def _dest(option) -> str:
    return "filter_" + option.option.replace("-", "_")


@with_services
def cmd_history(settings: Settings, args) -> int:
    from readside.history import HISTORY_COLUMNS, customer_history
    from readside.queries import render

    rows = customer_history(settings, args.customer)
    if not rows:
        raise LedgerError(f"no events for customer {args.customer!r}")
    if args.format == "table":  # one line per event; json and csv keep every detail
        rows = [{**r, "details": _shortened(r["details"])} for r in rows]
    print(render(rows, HISTORY_COLUMNS, args.format))
    return 0


def _shortened(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@with_services
def cmd_balance(settings: Settings, args) -> int:
    from readside.history import balance_as_of
    from readside.queries import balance_table

    row = balance_as_of(settings, args.customer, args.as_of)
    if row is None:
        raise LedgerError(f"customer {args.customer!r} had no account at {args.as_of.isoformat()}")
    print(balance_table([row], args.format))
    return 0


def cmd_bounds(settings: Settings, args) -> int:
    print(bounds_table())
    return 0


def bounds_table() -> str:
    """The ledger's bounds (domain/bounds.py) as a Markdown table; docs/bounds.md shows it, and
    tests/test_bounds.py checks that the page and this agree."""
    from domain import bounds as b
    from domain.money import format_minor_units

    def decimal(places: int, largest) -> str:
        return f"decimal({b.DECIMAL_PRECISION}, {places}): up to {largest:,}, at most {places} decimals"

    skew = b.MAX_CLOCK_SKEW
    skew = f"{skew.days} day{'s' * (skew.days != 1)}" if skew == timedelta(days=skew.days) else str(skew)

    rows = [
        ("id", f"`{b.ID_PATTERN.pattern}`: 1 to {b.MAX_ID_LENGTH} letters, digits and `. _ : @ + -`, "
         "starting with a letter or digit",
         "customer, subscription, payment, refund, credit note, invoice number, support case (and what it is "
         "about), staff user, collections policy"),
        ("name", f"at most {b.MAX_NAME_LENGTH:,} characters",
         "account name, product, meter, unit, payment method and reference, case subject, support plan, vendor ticket"),
        ("text", f"at most {b.MAX_TEXT_LENGTH:,} characters",
         "case notes and resolutions; every reason staff give (reversal, credit note, write-off, hold, suspension...)"),
        ("owed amount", f"whole minor units from 0 to {b.MAX_AMOUNT_MINOR:,} "
         f"({format_minor_units(b.MAX_AMOUNT_MINOR, 'EUR')})",
         "payments, refunds and credit notes (at least 1); what an invoice derives: each line, subtotal, tax, total"),
        ("quantity", decimal(b.QUANTITY_PLACES, b.MAX_QUANTITY), "usage quantities; an invoice line's quantity (seat-days, summed usage)"),
        ("price", decimal(b.PRICE_PLACES, b.MAX_PRICE), "unit price, price per seat (not negative)"),
        ("rate", decimal(b.RATE_PLACES, b.MAX_RATE),
         "tax rate (0 to less than 100 %), markup (more than -100 %), a policy's minimum overdue amount"),
        ("seats", f"whole number from 0 to {b.MAX_SEATS:,}, and a month of them at most one owed amount",
         "seat subscriptions, seat changes"),
        ("days", f"whole number from 0 to {b.MAX_DAYS:,}",
         "payment terms; a policy's grace, reminder, suspension, de-provisioning, warning and write-off days"),
        ("business time", f"from {b.EARLIEST_BUSINESS_TIME.date().isoformat()}, with a time zone; "
         f"at most {skew} ahead of the clock where one is known (`--at`)",
         "`--at` of every command; subscription starts, seat changes, billing periods, hold ends (from that day)"),
        ("usage attributes", f"at most {b.MAX_ATTRIBUTES} of at most {b.MAX_ATTRIBUTE_LENGTH} characters each",
         "free-form attributes of one usage event"),
        ("sums in the read models", f"{b.AMOUNTS_SUMMED_SAFELY:,} owed amounts of the largest size fit one bigint",
         "a customer's invoiced, paid, credited... in `customer_balances`"),
    ]
    lines = ["| bound | what is accepted | applies to |", "| --- | --- | --- |"]
    lines += [f"| {name} | {accepted} | {applies} |" for name, accepted, applies in rows]
    return "\n".join(lines)


def register(sub) -> None:
    from projections.registry import all_views

    query = add_group(sub, "query", "read the views (what analysts read)", dest="view")
    for _projection, view in all_views():
        p = add_command(query, view.query_name, query_command(view), view.help or view.name)
        p.add_argument("customer", nargs="?", help="only this customer's row")
        for option in view.filters:
            p.add_argument(
                f"--{option.option}", dest=_dest(option), type=filter_type(option.type),
                choices=option.choices, help=option.help,
            )
        p.add_argument("--limit", type=positive_int, help="at most this many rows")
        p.add_argument("--after", metavar=view.key.upper(), help=f"rows after this {view.key} (the next page)")
        p.add_argument("--all-columns", action="store_true", help="every column of the view")
        p.add_argument("--as-of", type=date_arg, metavar="DATE",
                       help="read as of this day: days past due, ageing, collection status (default: today, UTC)")
        p.add_argument("--as", dest="actor", required=view.actor_required,
                       help=f"the staff user who reads; must be allowed to {view.permission.value}")
        output_options(p)

    p = add_command(sub, "history", cmd_history, "a customer's events, from the event store, in order")
    p.add_argument("customer")
    output_options(p)

    add_command(sub, "bounds", cmd_bounds, "print the ledger's bounds: ids, texts, amounts, decimals, business time")

    p = add_command(sub, "balance", cmd_balance, "a customer's balance as it was at a moment (business time)")
    p.add_argument("customer")
    p.add_argument("--as-of", type=time_arg, required=True, help="ISO 8601 time (UTC if no zone)")
    output_options(p)

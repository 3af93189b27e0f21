"""Reading the ledger: `ledger query <view>`, `ledger history`, `ledger balance --as-of`."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from domain.errors import LedgerError
from ledger.api_client import Api
from ledger.commands import add_command, add_group, output_options, say, time_arg, with_api
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
    @with_api
    def run(api: Api, args) -> int:
        from ledger.commands.render import rows_out

        filters = {f.option: str(getattr(args, _dest(f))) for f in view.filters if getattr(args, _dest(f)) is not None}
        as_of = args.as_of.isoformat() if args.as_of else None
        if view.query_name == "support":
            if not args.customer:
                raise LedgerError("name the customer: ledger query support CUSTOMER")
            rows = [api.get(f"/views/support/{args.customer}", as_of=as_of)]
        elif args.limit:
            rows = api.get(f"/views/{view.query_name}", customer_id=args.customer, as_of=as_of, limit=args.limit,
                           starting_after=args.after, **filters)["data"]
        else:  # every row, page after page
            rows = api.pages(f"/views/{view.query_name}", after=args.after, customer_id=args.customer, as_of=as_of,
                             limit=MAX_ROWS_PER_PAGE, **filters)
        if args.customer and not rows and not filters:
            raise LedgerError(f"no {view.row_name} projected for customer {args.customer!r}")
        columns = view.shown_columns if not args.all_columns else list(view.columns)
        print(rows_out(rows, columns, args.format, view.key))
        if args.limit is not None and len(rows) == args.limit:
            say(f"more rows may follow: --after {rows[-1][view.key]}")
        return 0

    return run


MAX_ROWS_PER_PAGE = 500  # the API's largest page


def _dest(option) -> str:
    return "filter_" + option.option.replace("-", "_")


# occurred_at: the business time the command carried; recorded_at: when the database committed it
HISTORY_COLUMNS = ["notification_id", "occurred_at", "recorded_at", "event", "actor", "amount", "details"]
# What every event carries: in the JSON, not on the line (the id columns say where it is).
IDENTITY_FIELDS = {"event_id", "aggregate_id", "aggregate_version"}


@with_api
def cmd_history(api: Api, args) -> int:
    from ledger.commands.render import for_people, rows_out

    events = api.pages(f"/customers/{args.customer}/history", limit=1000)
    if not events:
        raise LedgerError(f"no events for customer {args.customer!r}")
    if args.format == "json":  # every event as the API gives it: its record an object, money as minor units
        print(json.dumps(events, indent=2))
        return 0
    rows = [{**e, "amount": _moved(e["record"], args.format), "details": _details(for_people(e["record"]))}
            for e in events]
    if args.format == "table":  # one line per event; csv keeps every detail
        rows = [{**r, "details": _shortened(r["details"])} for r in rows]
    print(rows_out(rows, HISTORY_COLUMNS, args.format, "notification_id"))
    return 0


def _moved(record: dict, fmt: str) -> dict | str | None:
    """The money an event moves: an invoice's total, a payment's or credit's amount (money);
    usage at its exact price (a decimal string), shown at the currency's minor unit."""
    from ledger.commands.render import exact_amount

    for name in ("total", "amount"):
        value = record.get(name)
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and record.get("currency"):
            return exact_amount(value, record["currency"], fmt)
    return None


def _details(record: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in record.items()
                    if k not in IDENTITY_FIELDS and k not in ("total", "amount") and v not in (None, "", [], {}))


def _shortened(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@with_api
def cmd_balance(api: Api, args) -> int:
    from ledger.commands.render import rows_out
    from projections.balances import BALANCES_VIEW

    row = api.get(f"/customers/{args.customer}/balance", as_of=args.as_of.isoformat())
    print(rows_out([row], BALANCES_VIEW.shown_columns, args.format))
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
        output_options(p)

    p = add_command(sub, "history", cmd_history, "a customer's events, from the event store, in order")
    p.add_argument("customer")
    output_options(p)

    add_command(sub, "bounds", cmd_bounds, "print the ledger's bounds: ids, texts, amounts, decimals, business time")

    p = add_command(sub, "balance", cmd_balance, "a customer's balance as it was at a moment (business time)")
    p.add_argument("customer")
    p.add_argument("--as-of", type=time_arg, required=True, help="ISO 8601 time (UTC if no zone)")
    output_options(p)

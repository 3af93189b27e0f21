"""A careless operator's commands, through the real `ledger` command line on the real database:
each is refused with one line on stderr and status 2, and nothing is stored.

The corpus grows with every new kind of bad command found: add a row to BAD_COMMANDS.
The bounds are those of domain/bounds.py (docs/bounds.md prints them).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import psycopg
import pytest
from psycopg.sql import SQL

from readside.event_log import events_table
from tests.cli_helpers import ledger, module_staff  # noqa: F401 - fixture
from tests.factories import ADMIN

AT = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
STAFF = ["--at", AT.isoformat()]
PAY = ["payment", "receive", "ACME"]
EUR = ["--currency", "EUR"]


def open_account(customer: str, *more: str) -> list[str]:
    return ["account", "open", customer, "--name", "Acme", "--currency", "EUR", *more, *STAFF]


def metered(**prices: str) -> list[str]:
    terms = {"--unit-price": "0.04", **prices}
    return ["subscription", "add-metered", "ACME", "ACME-vm2", "--product", "VM", "--meter", "vcpu-hours",
            "--unit", "h", *[part for option, value in terms.items() for part in (option, value)], *STAFF]


# (what is wrong, the command's arguments, what its one error line must say)
BAD_COMMANDS = [
    ("an amount of 1e30", [*PAY, "PAY-9", "--amount", "1e30", *EUR, *STAFF], "more than the ledger carries"),
    ("an amount of 1e999999", [*PAY, "PAY-9", "--amount", "1e999999", *EUR, *STAFF], "more than the ledger carries"),
    ("a negative amount", [*PAY, "PAY-9", "--amount", "-5", *EUR, *STAFF], "-500 minor units is outside 1.."),
    ("a zero amount", [*PAY, "PAY-9", "--amount", "0", *EUR, *STAFF], "0 minor units is outside 1.."),
    ("more decimals than the currency", [*PAY, "PAY-9", "--amount", "10.001", *EUR, *STAFF],
     "10.001 EUR has more decimals than EUR has (2)"),
    ("an amount of NaN", [*PAY, "PAY-9", "--amount", "NaN", *EUR, *STAFF], "NaN is not a finite number"),
    ("an amount of inf", [*PAY, "PAY-9", "--amount", "inf", *EUR, *STAFF], "Infinity is not a finite number"),
    ("an amount that is no number", [*PAY, "PAY-9", "--amount", "12,50", *EUR, *STAFF], "'12,50' is not a decimal"),
    ("a refund of 1e30", ["payment", "refund", "ACME", "REF-9", "--amount", "1e30", *STAFF],
     "more than the ledger carries"),
    ("a credit note of 1e20", ["credit-note", "issue", "ACME", "CN-9", "--invoice", "INV-000001", "--amount", "1e20",
                               "--reason", "goodwill", *STAFF], "more than the ledger carries"),
    ("a unit price past decimal(38, 9)", metered(**{"--unit-price": "1e30"}), "price: 1000000000000000000000000000000 is larger than the ledger carries"),
    ("a unit price with 10 decimals", metered(**{"--unit-price": "0.0000000001"}), "has more than 9 decimals"),
    ("a negative unit price", metered(**{"--unit-price": "-1"}), "price: -1 is below 0"),
    ("a markup with 5 decimals", metered(**{"--markup": "12.34567"}), "markup: 12.34567 has more than 4 decimals"),
    ("a tax rate with 5 decimals", open_account("ACME-2", "--tax-rate", "20.00001"),
     "tax rate: 20.00001 has more than 4 decimals"),
    ("a price per seat whose month is past the amounts", [
        "subscription", "add-seats", "ACME", "ACME-big", "--product", "E5", "--seats", "10",
        "--price-per-seat", "1e20", "--starts-on", "2026-09-01", *STAFF], "a month of 10 seats at 100000000000000000000"),
    ("seats past an Avro int", ["subscription", "seats", "ACME", "ACME-365", str(2**31),
                                "--effective-on", "2026-11-01", *STAFF], "not a whole number from 0 to 10,000,000"),
    ("a customer id with a space", open_account("AC ME"), "customer id 'AC ME' is not an id"),
    ("a customer id with a bell", open_account("AC\x07ME"), "customer id 'AC\\x07ME' is not an id"),
    ("a customer id that clears the screen", open_account("\x1b[2J"), "customer id '\\x1b[2J' is not an id"),
    ("a customer id with a right-to-left override", open_account("ACME\u202egpj.exe"),
     "customer id 'ACME\\u202egpj.exe' is not an id"),
    ("a customer id of 129 characters", open_account("A" * 129), "is not an id: 1 to 128 characters"),
    ("an empty customer id", open_account(""), "customer id '' is not an id"),
    ("a customer id of bytes that are not UTF-8", open_account(b"AC\xffME".decode(errors="surrogateescape")),
     "customer id 'AC\\udcffME' is not an id"),
    ("a subscription id with a space", metered()[:3] + ["ACME vm"] + metered()[4:], "subscription id 'ACME vm'"),
    ("a payment id that clears the screen", [*PAY, "\x1b[2J", "--amount", "5", *EUR, *STAFF],
     "payment id '\\x1b[2J' is not an id"),
    ("a staff user id with a space", ["staff", "grant", "bea partner", "billing-admin", *STAFF],
     "staff user id 'bea partner' is not an id"),
    ("a name over the bound", ["account", "open", "ACME-3", "--name", "N" * 201, *EUR, *STAFF],
     "name is 201 characters long; at most 200 are kept"),
    ("a case note over the bound", ["case", "note", "CASE-1", "n" * 4001, *STAFF],
     "note is 4,001 characters long; at most 4,000 are kept"),
    ("a payment reference over the bound", [*PAY, "PAY-9", "--amount", "5", *EUR, "--reference", "r" * 201, *STAFF],
     "reference is 201 characters long"),
    ("business time in year 1", ["account", "open", "ACME-4", "--name", "A", *EUR, 
                                 "--at", "0001-01-01"], "0001-01-01T00:00:00+00:00 is before 2000-01-01"),
    ("business time the day before the bound", ["account", "open", "ACME-4", "--name", "A", *EUR, 
                                                "--at", "1999-12-31T23:59:59Z"], "is before 2000-01-01"),
    ("business time centuries ahead", ["account", "open", "ACME-4", "--name", "A", *EUR, 
                                       "--at", "2999-01-01"], "is more than 1 day, 0:00:00 ahead of"),
    ("a subscription starting before the bound", [
        "subscription", "add-seats", "ACME", "ACME-old", "--product", "E5", "--seats", "1", "--price-per-seat", "1",
        "--starts-on", "1999-12-31", *STAFF], "starts on: 1999-12-31 is before 2000-01-01"),
    ("a hold until before the bound", ["collections", "hold", "ACME", "--kind", "dispute", "--until", "1999-12-31",
                                       "--reason", "r", "--at", "2026-10-05"],
     "hold until: 1999-12-31 is before 2000-01-01"),
    ("a month past the calendar", ["invoice", "issue", "ACME", "--period", "9999-12", *STAFF],
     "'9999-12' is not a month (YYYY-MM) the ledger can bill"),
    ("payment terms of 100,000 days", open_account("ACME-5", "--terms", "100000"),
     "payment_terms_days: Input should be less than or equal to 3660"),
    ("a policy's grace days past the bound", ["policy", "set", "lenient", "--grace-days", "99999", *STAFF],
     "grace days: 99999 is not a whole number"),
    ("a collections run as of a day to come", ["collect", "--as-of", "2999-01-01"],
     "as_of: 2999-01-01T00:00:00+00:00 is more than 1 day"),
    ("an unknown currency", ["account", "open", "ACME-6", "--name", "A", "--currency", "XXX", *STAFF],
     "'XXX' is not an ISO 4217 currency"),
]


@pytest.fixture(scope="module")
def ledger_with_a_customer(module_staff):
    """One database and API for the whole corpus: an account with an invoice, a credit balance
    and a support case, so that each bad command meets the state it would act on."""
    app = module_staff.api.ctx.ledger
    app.open_account("ACME", "Acme", "EUR", 14, Decimal("20"), at=AT, actor=ADMIN)
    app.add_seat_subscription("ACME", "ACME-365", "Microsoft 365 E3", 10, Decimal("12.50"), date(2026, 9, 1),
                              at=AT, actor=ADMIN)
    assert app.issue_invoice("ACME", date(2026, 9, 1), date(2026, 10, 1), at=AT, actor=ADMIN) == "INV-000001"
    app.receive_payment("ACME", "PAY-1", 20_000, "EUR", "transfer", "", at=AT, actor=ADMIN)
    app.open_case("CASE-1", "ACME", "billing", "Charged twice?", [], at=AT, actor=ADMIN)
    return module_staff


def stored_events(settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(SQL("SELECT count(*) FROM {}").format(events_table(settings.store_schema))).fetchone()[0]


@pytest.mark.parametrize(("args", "expected"), [pytest.param(a, e, id=what) for what, a, e in BAD_COMMANDS])
def test_a_bad_command_is_refused_in_one_line_and_stores_nothing(ledger_with_a_customer, args, expected):
    settings = ledger_with_a_customer.api.ctx.settings
    before = stored_events(settings)

    result = ledger(ledger_with_a_customer.env(ADMIN), *args)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and expected in line, line
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert stored_events(settings) == before


def test_the_corpus_holds_at_least_25_kinds_of_bad_command():
    assert len({what for what, _, _ in BAD_COMMANDS}) == len(BAD_COMMANDS) >= 25


def test_a_good_command_after_the_corpus_is_stored(ledger_with_a_customer):
    """The corpus refuses for the reasons it names, not because nothing can be stored at all."""
    settings = ledger_with_a_customer.api.ctx.settings
    before = stored_events(settings)
    result = ledger(ledger_with_a_customer.env(ADMIN), *PAY, "PAY-2", "--amount", "5", *EUR, *STAFF)
    assert result.returncode == 0, result.stderr
    assert stored_events(settings) > before

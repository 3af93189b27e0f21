"""The ledger's bounds, in one place: what every message, the event store and the read models
can carry. The domain checks them before any event, so that nothing is stored that the rest of
the ledger (the Avro schemas, the ledger topic's message size, the read models' columns)
cannot carry. tests/unit/test_bounds.py pins the schemas and the SQL columns to these numbers.

Where a bound comes from:
- decimals are Avro `decimal(38, scale)`: quantities and prices scale 9, rates and
  percentages scale 4; so at most 38 - scale digits before the point;
- owed amounts are Avro `long` and PostgreSQL `bigint` (2**63 - 1): one amount is at most
  MAX_AMOUNT_MINOR, so that the sums a read model keeps per customer (invoiced, paid...)
  stay far inside a bigint however many amounts are added;
- texts and ids are Avro strings with no bound of their own: the bound is the ledger topic's
  message size (consumers/ and consumers/kafka_clients.py), shared by every event of a customer.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal, Inexact

from domain.errors import InvalidCommand

# --- decimals (Avro decimal(38, scale)) --------------------------------------------------

DECIMAL_PRECISION = 38
QUANTITY_PLACES = 9  # usage quantities, seat counts as decimals, invoice line quantities
PRICE_PLACES = 9  # unit prices, prices per seat
RATE_PLACES = 4  # tax rates, markups, policy thresholds (percent or major units)


def _largest(places: int) -> Decimal:
    """The largest decimal(38, places): 38 nines with `places` of them after the point."""
    return Decimal((0, (9,) * DECIMAL_PRECISION, -places))


MAX_QUANTITY = _largest(QUANTITY_PLACES)
MAX_PRICE = _largest(PRICE_PLACES)
MAX_RATE = _largest(RATE_PLACES)

# Exact arithmetic for prices: quantity (38 digits) x price (38 digits) x (1 + markup / 100)
# (40 digits) has at most 116 significant digits. A context of 120 digits never rounds within
# the bounds, and its Inexact trap turns any rounding into an error instead of a silent change.
EXACT = Context(prec=120, traps=[Inexact])

# --- owed amounts (Avro long, PostgreSQL bigint) ------------------------------------------

MAX_AMOUNT_MINOR = 10**15 - 1  # 9,999,999,999,999.99 EUR: one invoice, payment, credit...

# --- ids and texts -----------------------------------------------------------------------

# Ids (customers, subscriptions, usage, invoices, payments, credit notes, cases, staff users):
# printable ASCII, no spaces or control characters, safe in a URL path segment, a Kafka key,
# a terminal and a CSV cell.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")
MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 200  # a customer's name, a product, a meter, a unit, a method, a reference
MAX_TEXT_LENGTH = 4_000  # a support note, a reason given by staff
MAX_ATTRIBUTES = 32  # free-form attributes on one usage event
MAX_ATTRIBUTE_LENGTH = 256  # each attribute's key and value

# --- business time -----------------------------------------------------------------------

EARLIEST_BUSINESS_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
# How far ahead of the recording clock business time may be (clocks of upstream systems drift;
# a usage dated next year is a producer's bug, not a forecast).
MAX_CLOCK_SKEW = timedelta(days=1)



# --- the checks: each raises InvalidCommand naming what and where, before any event -------


def check_id(value: str, what: str) -> str:
    """An id as the ledger keeps it: ID_PATTERN, at most MAX_ID_LENGTH characters."""
    if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
        raise InvalidCommand(
            f"{what} {printable(value)} is not an id: 1 to {MAX_ID_LENGTH} characters of letters, digits "
            "and . _ : @ + -, starting with a letter or digit"
        )
    return value


def check_text(value: str, what: str, limit: int = MAX_NAME_LENGTH) -> str:
    """Free text is stored as given (control characters included: it is evidence), bounded in
    length; it is never printed raw (see `printable`). Only what the rest of the ledger cannot
    carry is refused: NUL (a PostgreSQL text column of a read model cannot hold it) and lone
    surrogates (not UTF-8: no Avro string, no PostgreSQL text)."""
    if len(value) > limit:
        raise InvalidCommand(f"{what} is {len(value):,} characters long; at most {limit:,} are kept")
    uncarried = _NOT_CARRIED.search(value)
    if uncarried is not None:
        raise InvalidCommand(
            f"{what} holds {printable(uncarried.group())} at character {uncarried.start() + 1}, "
            "which the ledger's messages and read models cannot carry"
        )
    return value


_NOT_CARRIED = re.compile("[\x00\ud800-\udfff]")


def check_decimal(value: Decimal, places: int, what: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    """A finite decimal with at most `places` decimals and what decimal(38, places) holds."""
    largest = _largest(places)
    if not value.is_finite():
        raise InvalidCommand(f"{what}: {value} is not a finite number")
    if value.as_tuple().exponent < -places:
        raise InvalidCommand(f"{what}: {value} has more than {places} decimals")
    if value.copy_abs() > largest:
        raise InvalidCommand(f"{what}: {value} is larger than the ledger carries ({largest})")
    if minimum is not None and value < minimum:
        raise InvalidCommand(f"{what}: {value} is below {minimum}")
    return value


def check_amount(amount: int, what: str, *, minimum: int = 0) -> int:
    """An owed amount in integer minor units, within MAX_AMOUNT_MINOR."""
    if not minimum <= amount <= MAX_AMOUNT_MINOR:
        raise InvalidCommand(f"{what}: {amount} minor units is outside {minimum}..{MAX_AMOUNT_MINOR:,}")
    return amount


def check_business_time(at: datetime, what: str, *, now: datetime | None = None) -> datetime:
    """Business time from EARLIEST_BUSINESS_TIME to MAX_CLOCK_SKEW past `now` (when the caller
    knows the recording clock: the domain takes no clock of its own)."""
    if at.tzinfo is None:
        raise InvalidCommand(f"{what}: {at.isoformat()} has no time zone")
    if at < EARLIEST_BUSINESS_TIME:
        raise InvalidCommand(f"{what}: {at.isoformat()} is before {EARLIEST_BUSINESS_TIME.date().isoformat()}")
    if now is not None and at > now + MAX_CLOCK_SKEW:
        raise InvalidCommand(f"{what}: {at.isoformat()} is more than {MAX_CLOCK_SKEW} ahead of {now.isoformat()}")
    return at


# Lone surrogates too (undecodable bytes of a command line arrive as them): not even printable as UTF-8.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(value: object) -> str:
    """`repr`-like quoting for messages: control characters, bidirectional overrides and
    escapes shown as \\x.. / \\u...., never sent raw to a terminal."""
    text = str(value)
    return "'" + _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text) + "'"


# --- counts of days and seats (Avro int), and the sums the read models keep ------------------

# Days in payment terms and in a collections policy (grace, suspension, de-provisioning,
# write-off, reminders): ten years is past any real term, and keeps every date the ledger
# derives from them (a due date, a de-provisioning deadline) a real date.
MAX_DAYS = 3_660
# Seats of one subscription: beyond any tenant; with the price per seat, a month of the
# subscription must also fit one owed amount (checked where the seats are set).
MAX_SEATS = 10_000_000
# How many amounts of MAX_AMOUNT_MINOR a bigint sum (a customer's invoiced, paid... in the read
# models) holds: 2**63 - 1 >= 9,223 x (10**15 - 1). tests/unit/test_bounds.py pins it.
AMOUNTS_SUMMED_SAFELY = 9_000


def check_count(value: int, what: str, *, largest: int, smallest: int = 0) -> int:
    """A whole number (days, seats) from `smallest` to `largest`."""
    if isinstance(value, bool) or not isinstance(value, int) or not smallest <= value <= largest:
        shown = value if isinstance(value, int) and not isinstance(value, bool) else printable(value)
        raise InvalidCommand(f"{what}: {shown} is not a whole number from {smallest} to {largest:,}")
    return value


def check_business_day(day: date, what: str) -> date:
    """A day of business time (a start, an effective day, a hold's end): not before
    EARLIEST_BUSINESS_TIME's day."""
    if day < EARLIEST_BUSINESS_TIME.date():
        raise InvalidCommand(f"{what}: {day.isoformat()} is before {EARLIEST_BUSINESS_TIME.date().isoformat()}")
    return day


def escaped(value: object) -> str:
    """`printable` without its quotes: a table cell, a line of a message, shown on a terminal."""
    return printable(value)[1:-1]


# --- rated usage amounts (Avro decimal(AMOUNT_PRECISION, AMOUNT_PLACES)) --------------------

# A usage line's rated amount, quantity x unit price x (1 + markup / 100), exact, not rounded:
# 9 + 9 + 4 + 2 decimals (dividing the markup by 100 adds two). Its digits: the quantity's and
# the price's 38 each, and the factor's 39 (1 + markup / 100 at scale 6), so a decimal of
# 115 digits carries every amount the bounds above allow, exactly (the schema's reader reads
# with a context of that precision: a narrower one would round an amount silently).
AMOUNT_PLACES = QUANTITY_PLACES + PRICE_PLACES + RATE_PLACES + 2
AMOUNT_PRECISION = DECIMAL_PRECISION + DECIMAL_PRECISION + (DECIMAL_PRECISION + 1)

"""Money: integer minor units of an ISO 4217 currency; prices and quantities are Decimal.

Rounding happens once, half-even, when a priced amount becomes an owed amount.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from domain import bounds
from domain.errors import InvalidCommand, UnknownCurrency

# ISO 4217 minor-unit exponents of the currencies a reseller bills in.
MINOR_UNIT_EXPONENT: dict[str, int] = {
    **dict.fromkeys(
        "AED AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF ILS INR MXN MYR NOK NZD PHP PLN "
        "RON SAR SEK SGD THB TRY TWD USD ZAR".split(),
        2,
    ),
    **dict.fromkeys("CLP ISK JPY KRW VND".split(), 0),
    **dict.fromkeys("BHD JOD KWD OMR TND".split(), 3),
}


def check_currency(currency: str) -> str:
    if currency not in MINOR_UNIT_EXPONENT:
        raise UnknownCurrency(currency)
    return currency


def to_minor_units(amount: Decimal | Fraction, currency: str) -> int:
    """Round an exact amount once, half-even, to integer minor units of the currency."""
    exponent = MINOR_UNIT_EXPONENT[check_currency(currency)]
    return round(Fraction(amount) * 10**exponent)  # round() of a Fraction is half-even


def format_minor_units(amount: int, currency: str) -> str:
    exponent = MINOR_UNIT_EXPONENT[check_currency(currency)]
    return f"{Decimal(amount).scaleb(-exponent):,.{exponent}f} {currency}"


def price_usage(quantity: Decimal, unit_price: Decimal, markup_percent: Decimal) -> Decimal:
    """The exact price of a usage quantity; it is rounded only when invoiced.

    Computed in bounds.EXACT, not Python's default 28-digit context: within the bounds no
    digit is lost, and a rounding (inputs past the bounds) is an error, never a silent change.
    """
    with localcontext(bounds.EXACT):
        return without_trailing_zeros(quantity * unit_price * (1 + markup_percent / 100))


def without_trailing_zeros(value: Decimal) -> Decimal:
    """The same exact value without the zeros Avro's fixed scales add (2.000000000 -> 2)."""
    # normalize() and quantize() round to the context's precision: past 28 digits, only
    # bounds.EXACT keeps the value (and refuses what it cannot keep). Given to each call, not
    # entered as a localcontext: that cost three times the rest (the projector's per event).
    normalized = value.normalize(bounds.EXACT)
    return normalized.quantize(_ONE, context=bounds.EXACT) if normalized.as_tuple().exponent > 0 else normalized


_ONE = Decimal(1)


def minor_units_exactly(amount: Decimal, currency: str, what: str = "the amount") -> int:
    """An amount someone typed, in minor units; more decimals than the currency has is an error,
    not a rounding, and so is an amount past what the ledger carries (bounds.MAX_AMOUNT_MINOR)."""
    exponent = MINOR_UNIT_EXPONENT[check_currency(currency)]
    if not amount.is_finite():
        raise InvalidCommand(f"{what}: {amount} is not a finite number")
    # Compared before scaling, as a Decimal: 1e999999 is neither scaled (past the context's
    # largest exponent) nor made an int.
    if abs(amount) > Decimal(bounds.MAX_AMOUNT_MINOR).scaleb(-exponent):
        raise InvalidCommand(
            f"{what}: {amount} {currency} is more than the ledger carries "
            f"({format_minor_units(bounds.MAX_AMOUNT_MINOR, currency)})"
        )
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidCommand(f"{what}: {amount} {currency} has more decimals than {currency} has ({exponent})")
    return int(scaled)


"""Money: integer minor units of an ISO 4217 currency; prices and quantities are Decimal.

Rounding happens once, half-even, when a priced amount becomes an owed amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from domain.errors import UnknownCurrency

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


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Round a priced amount once, half-even, to integer minor units of the currency."""
    exponent = MINOR_UNIT_EXPONENT[check_currency(currency)]
    return int((amount * (10**exponent)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_minor_units(amount: int, currency: str) -> str:
    exponent = MINOR_UNIT_EXPONENT[check_currency(currency)]
    return f"{Decimal(amount).scaleb(-exponent):,.{exponent}f} {currency}"


def price_usage(quantity: Decimal, unit_price: Decimal, markup_percent: Decimal) -> Decimal:
    """The exact price of a usage quantity; it is rounded only when invoiced."""
    return without_trailing_zeros(quantity * unit_price * (1 + markup_percent / 100))


def without_trailing_zeros(value: Decimal) -> Decimal:
    """The same exact value without the zeros Avro's fixed scales add (2.000000000 -> 2)."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized.as_tuple().exponent > 0 else normalized

from decimal import Decimal

import pytest

from domain.errors import UnknownCurrency
from domain.money import format_minor_units, price_usage, to_minor_units


def test_rounds_half_to_even_once_into_minor_units():
    assert to_minor_units(Decimal("0.125"), "EUR") == 12
    assert to_minor_units(Decimal("0.135"), "EUR") == 14
    assert to_minor_units(Decimal("-0.125"), "EUR") == -12


def test_uses_the_currencys_own_minor_unit():
    assert to_minor_units(Decimal("1234.5"), "JPY") == 1234
    assert to_minor_units(Decimal("1.2345"), "KWD") == 1234
    assert format_minor_units(123456, "EUR") == "1,234.56 EUR"


def test_refuses_a_currency_it_does_not_know():
    with pytest.raises(UnknownCurrency, match="'XYZ'"):
        to_minor_units(Decimal(1), "XYZ")


def test_prices_usage_exactly_with_markup_or_discount():
    assert price_usage(Decimal("3"), Decimal("0.1"), Decimal("10")) == Decimal("0.33")
    assert price_usage(Decimal("3"), Decimal("0.1"), Decimal("-5")) == Decimal("0.285")


def test_an_exact_price_carries_no_trailing_zeros_from_fixed_scales():
    assert str(price_usage(Decimal("10.000000000"), Decimal("0.040000000"), Decimal("0.0000"))) == "0.4"
    assert str(price_usage(Decimal("1000"), Decimal("1"), Decimal("0"))) == "1000"

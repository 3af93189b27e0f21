"""Usage is priced exactly: quantity x unit price x (1 + markup / 100) loses no digit within the
ledger's bounds (domain/bounds.py), however many digits that takes; only an invoice rounds."""

from __future__ import annotations

from decimal import Decimal, Inexact
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import bounds
from domain.money import price_usage

QUANTITY, PRICE, MARKUP = Decimal("123456789012.123456789"), Decimal("0.123456789"), Decimal("12.5")
EXACT_AMOUNT = Decimal("17146776095.648149552593964336125")


def decimals(places: int, minimum: int = 0) -> st.SearchStrategy[Decimal]:
    """Every decimal(38, places) from minimum up, as Avro carries them (unscaled integers)."""
    largest = 10**bounds.DECIMAL_PRECISION - 1
    unscaled = st.one_of(st.integers(minimum * 10**places, largest), st.sampled_from([largest, 1, 0]))
    return unscaled.map(lambda n: Decimal(n).scaleb(-places))


def test_a_price_past_28_significant_digits_keeps_every_digit():
    assert price_usage(QUANTITY, PRICE, MARKUP) == EXACT_AMOUNT
    # Python's default context (28 digits) rounded it: the bug this replaces.
    assert QUANTITY * PRICE * (1 + MARKUP / 100) == Decimal("17146776095.64814955259396434")


@given(decimals(bounds.QUANTITY_PLACES), decimals(bounds.PRICE_PLACES), decimals(bounds.RATE_PLACES, minimum=-100))
def test_within_the_bounds_no_intermediate_rounding_happens(quantity, unit_price, markup_percent):
    exact = Fraction(quantity) * Fraction(unit_price) * (1 + Fraction(markup_percent) / 100)
    assert Fraction(price_usage(quantity, unit_price, markup_percent)) == exact


def test_past_the_bounds_a_rounding_is_an_error_not_a_silent_change():
    too_many_digits = Decimal("1" * 70)
    with pytest.raises(Inexact):
        price_usage(too_many_digits, too_many_digits, Decimal("0.0001"))

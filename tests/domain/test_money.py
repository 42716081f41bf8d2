"""Money: exact kopecks, one half-up rounding, floats refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.money import InvalidMoney, Money, round_kopecks, total

kopecks = st.integers(min_value=-(10**12), max_value=10**12)


def money(k: int) -> Money:
    return Money(Decimal(k) / 100)


def test_a_float_is_a_type_error_not_money() -> None:
    with pytest.raises(TypeError):
        Money(10.5)  # type: ignore[arg-type]


def test_fractions_of_a_kopeck_are_refused_until_rounded() -> None:
    with pytest.raises(InvalidMoney):
        Money(Decimal("1.005"))
    assert Money.from_decimal(Decimal("1.005")) == Money(Decimal("1.01"))


def test_rounding_is_half_up_not_bankers() -> None:
    assert round_kopecks(Decimal("0.125")) == Decimal("0.13")
    assert round_kopecks(Decimal("0.135")) == Decimal("0.14")
    assert round_kopecks(Decimal("-0.125")) == Decimal("-0.13")


def test_parse_accepts_russian_decimal_comma_and_spaces() -> None:
    assert Money.parse("1 500,50") == Money(Decimal("1500.50"))
    assert Money.rub(10, 5) == Money(Decimal("10.05"))
    with pytest.raises(InvalidMoney):
        Money.parse("десять")
    with pytest.raises(InvalidMoney):
        Money.parse("NaN")


def test_vat_included_in_a_gross_price() -> None:
    assert Money.rub(1200).included_vat(Decimal(20)) == Money.rub(200)
    assert Money.rub(1220).included_vat(Decimal(22)) == Money.rub(220)
    assert Money.rub(100).included_vat(Decimal(22)) == Money(Decimal("18.03"))


def test_amounts_print_with_kopecks() -> None:
    assert str(Money.rub(7)) == "7.00 ₽"
    assert str(-Money.zero()) == "0.00 ₽"
    assert str(Money.rub(-1, 50)) == "-1.50 ₽"


@settings(max_examples=200)
@given(kopecks, kopecks)
def test_addition_and_subtraction_are_exact(a: int, b: int) -> None:
    assert (money(a) + money(b)) - money(b) == money(a)
    assert total([money(a), money(b)]) == money(a + b)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10**10), st.integers(min_value=0, max_value=100))
def test_a_percentage_never_exceeds_the_amount(k: int, pct: int) -> None:
    part = money(k).percent(Decimal(pct))
    assert Money.zero() <= part <= money(k)

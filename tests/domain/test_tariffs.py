"""R11: tariff plans, effective-dated prices, VAT as data, discounts in a documented order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.ids import ProductCode, TariffPlanId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import OrderItem
from atlas_ca.domain.tariffs import (
    STANDARD_VAT,
    AmountOff,
    Discount,
    DiscountKind,
    InvalidTariffData,
    PercentOff,
    PriceVersion,
    TariffError,
    VolumeDiscount,
    VolumeTier,
    apply_discounts,
    price_line,
)
from support.billing_samples import (
    BASIC,
    CATALOGUE,
    KEP,
    LICENCE,
    RENEW,
    SUBSCRIPTION,
    at,
    placed_order,
    rub,
)


def test_R11_the_price_in_force_is_the_latest_version_not_after_the_day() -> None:
    assert CATALOGUE.quote(BASIC, KEP, dt.date(2026, 2, 28)).unit_price == rub("3000.00")
    assert CATALOGUE.quote(BASIC, KEP, dt.date(2026, 3, 1)).unit_price == rub("3600.00")
    with pytest.raises(TariffError, match="R11"):
        CATALOGUE.quote(BASIC, KEP, dt.date(2024, 12, 31))


def test_R11_an_order_keeps_the_prices_in_force_when_it_was_placed() -> None:
    order = placed_order(moment=at(2026, 3, 10))
    raised = CATALOGUE.with_price(PriceVersion(BASIC, KEP, dt.date(2026, 3, 11), rub("4200.00")))
    assert raised.quote(BASIC, KEP, dt.date(2026, 3, 12)).unit_price == rub("4200.00")
    assert order.total == rub("3600.00")
    assert order.lines[0].price_valid_from == dt.date(2026, 3, 1)


def test_R11_two_versions_starting_the_same_day_are_refused() -> None:
    with pytest.raises(InvalidTariffData, match="same day"):
        CATALOGUE.with_price(PriceVersion(BASIC, KEP, dt.date(2026, 3, 1), rub("1.00")))


def test_R11_unknown_plan_and_product_are_refused() -> None:
    with pytest.raises(TariffError, match="plan"):
        CATALOGUE.quote(TariffPlanId("gold"), KEP, dt.date(2026, 3, 1))
    with pytest.raises(TariffError, match="not in the catalogue"):
        CATALOGUE.quote(BASIC, ProductCode("nothing"), dt.date(2026, 3, 1))


def test_R11_vat_is_20_percent_in_2025_and_22_from_2026() -> None:
    assert STANDARD_VAT.on(dt.date(2025, 12, 31)).rate == Decimal(20)
    assert STANDARD_VAT.on(dt.date(2026, 1, 1)).rate == Decimal(22)
    line_2025 = price_line(CATALOGUE, BASIC, RENEW, 1, dt.date(2025, 6, 1))
    line_2026 = price_line(CATALOGUE, BASIC, SUBSCRIPTION, 1, dt.date(2026, 6, 1))
    assert line_2025.vat_amount == rub("400.00")
    assert line_2026.vat_amount == rub("220.00")
    assert line_2026.vat.label() == "НДС 22%"


def test_R11_software_in_the_russian_register_is_vat_exempt() -> None:
    line = price_line(CATALOGUE, BASIC, LICENCE, 2, dt.date(2026, 6, 1))
    assert line.vat.exempt
    assert line.vat_amount == Money.zero()
    assert line.vat.label() == "Без НДС"
    assert "149" in line.vat.basis


def test_R11_discounts_stack_in_the_documented_order_and_are_each_named() -> None:
    fixed = Discount("Скидка 100 ₽", DiscountKind.FIXED_AMOUNT, AmountOff(rub("100.00")))
    promo = Discount("Весна", DiscountKind.PROMO_CODE, PercentOff(Decimal(10)), promo_code="SPRING")
    personal = Discount("Постоянный клиент", DiscountKind.PERSONAL, PercentOff(Decimal(5)))
    volume = VolumeDiscount("Опт", (VolumeTier(3, Decimal(10)), VolumeTier(10, Decimal(20))))
    applied, result = apply_discounts(
        KEP, 3, rub("9000.00"), [fixed, promo, personal, volume], dt.date(2026, 3, 10)
    )
    assert [a.kind for a in applied] == [
        DiscountKind.VOLUME,
        DiscountKind.PERSONAL,
        DiscountKind.PROMO_CODE,
        DiscountKind.FIXED_AMOUNT,
    ]
    # 9000 -10% = 8100; -5% = 7695; -10% = 6925.50; -100 = 6825.50
    assert [a.amount for a in applied] == [
        rub("900.00"),
        rub("405.00"),
        rub("769.50"),
        rub("100.00"),
    ]
    assert result == rub("6825.50")
    assert all(a.rule == "R11" for a in applied)
    assert applied[0].name == "Опт"


def test_R11_only_one_promo_code_per_order() -> None:
    a = Discount("A", DiscountKind.PROMO_CODE, PercentOff(Decimal(5)), promo_code="A")
    b = Discount("B", DiscountKind.PROMO_CODE, PercentOff(Decimal(5)), promo_code="B")
    with pytest.raises(TariffError, match="one promo code"):
        apply_discounts(KEP, 1, rub("100.00"), [a, b], dt.date(2026, 1, 1))


def test_R11_a_fixed_discount_larger_than_the_price_is_cut_to_zero() -> None:
    big = Discount("Подарок", DiscountKind.FIXED_AMOUNT, AmountOff(rub("5000.00")))
    applied, result = apply_discounts(KEP, 1, rub("3600.00"), [big], dt.date(2026, 3, 10))
    assert result == Money.zero()
    assert applied[0].amount == rub("3600.00")
    assert "cut to" in applied[0].detail


def test_R11_a_discount_outside_its_dates_or_products_does_not_apply() -> None:
    promo = Discount(
        "Март",
        DiscountKind.PERCENTAGE,
        PercentOff(Decimal(50)),
        products=frozenset({KEP}),
        valid_from=dt.date(2026, 3, 1),
        valid_until=dt.date(2026, 3, 31),
    )
    assert apply_discounts(KEP, 1, rub("100.00"), [promo], dt.date(2026, 4, 1))[1] == rub("100.00")
    assert apply_discounts(RENEW, 1, rub("100.00"), [promo], dt.date(2026, 3, 5))[1] == rub(
        "100.00"
    )
    assert apply_discounts(KEP, 1, rub("100.00"), [promo], dt.date(2026, 3, 5))[1] == rub("50.00")


def test_R11_malformed_discounts_are_refused() -> None:
    with pytest.raises(InvalidTariffData):
        Discount("x", DiscountKind.PERCENTAGE, PercentOff(Decimal(101)))
    with pytest.raises(InvalidTariffData):
        Discount("x", DiscountKind.PROMO_CODE, PercentOff(Decimal(5)))  # no code
    with pytest.raises(InvalidTariffData):
        Discount("x", DiscountKind.PERCENTAGE, AmountOff(rub("1.00")))
    with pytest.raises(InvalidTariffData):
        VolumeDiscount("x", (VolumeTier(1, Decimal(5)),))


def test_R11_placing_an_order_applies_the_discounts_to_its_lines() -> None:
    personal = Discount("Личная", DiscountKind.PERSONAL, PercentOff(Decimal(10)))
    order = placed_order(items=(OrderItem(KEP), OrderItem(LICENCE, 2)), discounts=(personal,))
    assert order.total == rub("3240.00") + rub("2700.00")
    assert order.vat_total == rub("3240.00").included_vat(Decimal(22))


discount_strategy = st.one_of(
    st.builds(
        lambda p, k: Discount(f"p{p}", k, PercentOff(Decimal(p))),
        st.integers(1, 100),
        st.sampled_from([DiscountKind.PERSONAL, DiscountKind.PERCENTAGE]),
    ),
    st.builds(
        lambda k, kind: Discount(f"f{k}", kind, AmountOff(Money(Decimal(k) / 100))),
        st.integers(1, 10**7),
        st.sampled_from([DiscountKind.PERSONAL, DiscountKind.FIXED_AMOUNT]),
    ),
    st.builds(lambda p: VolumeDiscount("v", (VolumeTier(2, Decimal(p)),)), st.integers(1, 100)),
)


@settings(max_examples=200)
@given(
    st.integers(0, 10**8),
    st.integers(1, 50),
    st.lists(discount_strategy, max_size=6),
)
def test_R11_discounts_never_make_a_price_negative(
    kopecks: int, quantity: int, discounts: list[Discount | VolumeDiscount]
) -> None:
    gross = Money(Decimal(kopecks) / 100)
    applied, result = apply_discounts(KEP, quantity, gross, discounts, dt.date(2026, 1, 1))
    assert not result.is_negative
    assert result <= gross
    assert sum((a.amount for a in applied), Money.zero()) == gross - result
    assert all(a.amount.is_positive for a in applied)
    kinds = [int(a.kind) for a in applied]
    assert kinds == sorted(kinds)

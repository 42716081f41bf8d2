"""R12/R13: the two legal entities and the payment methods they accept."""

from __future__ import annotations

import pytest

from atlas_ca.domain.identifiers import Ogrn
from atlas_ca.domain.sellers import (
    ATLAS_2,
    SELLERS,
    SERVER_CENTR,
    PaymentForm,
    PaymentMethod,
    PaymentRefused,
    SellerCode,
    UnknownSeller,
    check_payment_method,
    seller,
)
from atlas_ca.errors import InvalidIdentifier


def test_R12_payment_is_accepted_only_by_the_two_legal_entities() -> None:
    assert set(SELLERS) == {SellerCode.SERVER_CENTR, SellerCode.ATLAS_2}
    assert seller("atlas-2") is ATLAS_2
    with pytest.raises(UnknownSeller, match="R12"):
        seller("romashka")


def test_R12_requisites_of_server_centr() -> None:
    assert SERVER_CENTR.inn.value == "2539038819"
    assert SERVER_CENTR.kpp.value == "253601001"
    assert SERVER_CENTR.ogrn.value == "1022502121476"
    assert "ИНН 2539038819" in SERVER_CENTR.requisites()


def test_R12_requisites_of_atlas_2() -> None:
    assert ATLAS_2.inn.value == "2536161885"
    assert ATLAS_2.kpp.value == "253601001"
    assert ATLAS_2.ogrn.value == "1052503122902"
    assert ATLAS_2.name == 'АО "Атлас-2"'


def test_R12_the_standards_typo_ogrn_with_14_digits_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier):
        Ogrn("10225021211476")


def test_R13_cash_only_at_server_centr() -> None:
    decision = check_payment_method(SERVER_CENTR, PaymentMethod.CASH)
    assert decision.form is PaymentForm.CASH
    assert decision.rule == "R13"
    with pytest.raises(PaymentRefused, match="R13") as info:
        check_payment_method(ATLAS_2, PaymentMethod.CASH)
    assert info.value.rule == "R13"
    assert PaymentMethod.CASH not in ATLAS_2.methods()
    assert PaymentMethod.CASH in SERVER_CENTR.methods()


@pytest.mark.parametrize("method", [m for m in PaymentMethod if m is not PaymentMethod.CASH])
def test_R13_non_cash_methods_at_both_sellers(method: PaymentMethod) -> None:
    for s in (SERVER_CENTR, ATLAS_2):
        decision = check_payment_method(s, method)
        assert decision.form is PaymentForm.NON_CASH
        assert decision.method is method


def test_R9_every_method_has_a_russian_title() -> None:
    titles = {m.title_ru for m in PaymentMethod}
    assert len(titles) == len(PaymentMethod)
    assert PaymentMethod.CHRONOPAY.title_ru == "Платёжная система Chronopay"

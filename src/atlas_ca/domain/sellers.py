"""The two legal entities that accept payment (R12) and the payment methods they take (R9, R13).

The requisites are those of the service standard. The standard prints the ОГРН of
АО "Сервер-Центр" as ``10225021211476`` (14 digits): a typo; its own link to the accreditation
registry carries ``1022502121476``, which passes the ОГРН check digit and is used here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from atlas_ca.domain.identifiers import InnLegal, Kpp, Ogrn
from atlas_ca.domain.money import BillingError, InvalidBillingInput


class PaymentRefused(BillingError):
    """A payment method or seller that the rules do not allow (R9, R12, R13)."""


class UnknownSeller(PaymentRefused, InvalidBillingInput):
    """A seller code that is not one of the two legal entities of R12."""


class PaymentForm(enum.Enum):
    NON_CASH = "non_cash"  # безналичный расчёт
    CASH = "cash"  # наличный расчёт


class PaymentMethod(enum.Enum):
    """Chosen while placing the order (R9); the methods of R13."""

    ACCOUNT_BALANCE = "account_balance"  # с баланса личного кабинета (лицевого счёта)
    BANK_TRANSFER = "bank_transfer"  # банковский перевод по счёту
    BANK_CARD = "bank_card"  # банковской картой
    SBERBANK = "sberbank"  # через платёжную систему Сбербанк
    CHRONOPAY = "chronopay"  # через платёжную систему Chronopay
    CASH = "cash"  # наличными в кассу офиса

    @property
    def form(self) -> PaymentForm:
        return PaymentForm.CASH if self is PaymentMethod.CASH else PaymentForm.NON_CASH

    @property
    def title_ru(self) -> str:
        return _METHOD_TITLES[self]


_METHOD_TITLES: Mapping[PaymentMethod, str] = MappingProxyType(
    {
        PaymentMethod.ACCOUNT_BALANCE: "С баланса личного кабинета",
        PaymentMethod.BANK_TRANSFER: "Банковский перевод по счёту",
        PaymentMethod.BANK_CARD: "Банковская карта",
        PaymentMethod.SBERBANK: "Платёжная система Сбербанк",
        PaymentMethod.CHRONOPAY: "Платёжная система Chronopay",
        PaymentMethod.CASH: "Наличными в кассу офиса",
    }
)


class SellerCode(enum.Enum):
    SERVER_CENTR = "server-centr"
    ATLAS_2 = "atlas-2"


@dataclass(frozen=True, slots=True)
class Seller:
    """A legal entity that accepts payment, with the requisites printed on invoices (R12)."""

    code: SellerCode
    name: str
    inn: InnLegal
    kpp: Kpp
    ogrn: Ogrn
    invoice_prefix: str
    accepts_cash: bool

    def methods(self) -> tuple[PaymentMethod, ...]:
        return tuple(m for m in PaymentMethod if self.accepts_cash or m is not PaymentMethod.CASH)

    def requisites(self) -> str:
        return f"{self.name}, ИНН {self.inn}, КПП {self.kpp}, ОГРН {self.ogrn}"


SERVER_CENTR = Seller(
    code=SellerCode.SERVER_CENTR,
    name='АО "Сервер-Центр"',
    inn=InnLegal("2539038819"),
    kpp=Kpp("253601001"),
    ogrn=Ogrn("1022502121476"),
    invoice_prefix="СЦ",
    accepts_cash=True,
)
ATLAS_2 = Seller(
    code=SellerCode.ATLAS_2,
    name='АО "Атлас-2"',
    inn=InnLegal("2536161885"),
    kpp=Kpp("253601001"),
    ogrn=Ogrn("1052503122902"),
    invoice_prefix="А2",
    accepts_cash=False,
)

#: The only legal entities that accept payment (R12).
SELLERS: Mapping[SellerCode, Seller] = MappingProxyType(
    {SERVER_CENTR.code: SERVER_CENTR, ATLAS_2.code: ATLAS_2}
)


def seller(code: SellerCode | str) -> Seller:
    """The seller named by ``code`` (an enum member or its value, e.g. ``"atlas-2"``)."""
    try:
        return SELLERS[SellerCode(code)]
    except ValueError:
        known = ", ".join(c.value for c in SellerCode)
        raise UnknownSeller(
            f'payment is accepted only by АО "Сервер-Центр" and АО "Атлас-2" (R12); '
            f"{code!r} is neither (known: {known})",
            rule="R12",
        ) from None


@dataclass(frozen=True, slots=True)
class MethodDecision:
    """Why ``method`` is allowed for ``seller``: the rule that was checked."""

    seller: SellerCode
    method: PaymentMethod
    form: PaymentForm
    rule: str
    explanation: str


def check_payment_method(seller_: Seller, method: PaymentMethod) -> MethodDecision:
    """Allow ``method`` for ``seller_`` or raise :class:`PaymentRefused` (R9, R12, R13)."""
    if not isinstance(method, PaymentMethod):
        raise TypeError(f"method must be a PaymentMethod, not {type(method).__name__}")
    if seller_ not in SELLERS.values():
        raise UnknownSeller(
            f"{seller_.name} is not one of the two legal entities of R12", rule="R12"
        )
    if method is PaymentMethod.CASH and not seller_.accepts_cash:
        raise PaymentRefused(
            f"cash at the office is accepted only by {SERVER_CENTR.name} (R13); "
            f"{seller_.name} takes {', '.join(m.value for m in seller_.methods())}",
            rule="R13",
            seller=seller_.code.value,
            method=method.value,
        )
    return MethodDecision(
        seller=seller_.code,
        method=method,
        form=method.form,
        rule="R13",
        explanation=f"{method.title_ru}: accepted by {seller_.name}",
    )

"""Sample catalogue, orders and clock values shared by the billing tests (not a test module)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    RegisteredCustomers,
    draft_order,
    place_order,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.tariffs import (
    EXEMPT_SOFTWARE_REGISTER,
    AnyDiscount,
    Catalogue,
    PriceVersion,
    Product,
    ProductKind,
    TariffPlan,
)

VLADIVOSTOK = dt.timezone(dt.timedelta(hours=10), "Asia/Vladivostok")

KEP = ProductCode("kep-issue")
RENEW = ProductCode("kep-renew")
LICENCE = ProductCode("soft-licence")
SUBSCRIPTION = ProductCode("subscription-year")
BASIC = TariffPlanId("basic")
ALICE = SubscriberId("alice")
BOB = SubscriberId("bob")
MALLORY = SubscriberId("mallory")  # never verified
VERIFIED = RegisteredCustomers(frozenset({ALICE, BOB}))


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=VLADIVOSTOK)


def rub(text: str) -> Money:
    return Money(Decimal(text))


CATALOGUE = Catalogue(
    products=[
        Product(KEP, "Квалифицированный сертификат ЭП", ProductKind.CERTIFICATE_ISSUANCE),
        Product(RENEW, "Продление сертификата", ProductKind.CERTIFICATE_RENEWAL),
        Product(
            LICENCE,
            "Серийный номер ПО (реестр российского ПО)",
            ProductKind.SOFTWARE_LICENCE,
            EXEMPT_SOFTWARE_REGISTER,
        ),
        Product(SUBSCRIPTION, "Подписка на год", ProductKind.SUBSCRIPTION),
    ],
    plans=[TariffPlan(BASIC, "Базовый")],
    prices=[
        PriceVersion(BASIC, KEP, dt.date(2025, 1, 1), rub("3000.00")),
        PriceVersion(BASIC, KEP, dt.date(2026, 3, 1), rub("3600.00")),
        PriceVersion(BASIC, RENEW, dt.date(2025, 1, 1), rub("2400.00")),
        PriceVersion(BASIC, LICENCE, dt.date(2025, 1, 1), rub("1500.00")),
        PriceVersion(BASIC, SUBSCRIPTION, dt.date(2025, 1, 1), rub("1220.00")),
    ],
)


def placed_order(
    order_id: str = "ord-1",
    *,
    items: tuple[OrderItem, ...] = (OrderItem(KEP),),
    method: PaymentMethod = PaymentMethod.BANK_CARD,
    seller: SellerCode = SellerCode.ATLAS_2,
    moment: dt.datetime | None = None,
    recipients: tuple[SubscriberId, ...] = (ALICE,),
    discounts: tuple[AnyDiscount, ...] = (),
) -> Order:
    when = moment or at(2026, 3, 10)
    draft = draft_order(
        OrderId(order_id),
        ALICE,
        EntryPoint.DIGITAL_PROFILE,
        seller,
        method,
        BASIC,
        items,
        recipients,
        when,
        discounts=discounts,
    )
    return place_order(draft, CATALOGUE, when, VERIFIED)

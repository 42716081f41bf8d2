"""The tariff catalogue (R11): products, tariff plans, effective-dated prices, VAT and discounts.

Decisions written down here:

* **Prices are gross** (VAT included), as a tariff plan shows them to a subscriber. VAT is
  extracted from the gross amount of each line: ``gross · rate / (100 + rate)``, rounded
  half-up to kopecks (:func:`atlas_ca.domain.money.round_kopecks`).
* **Price versions** are effective-dated: the version in force on a day is the one with the
  latest ``valid_from`` not after that day. Prices change several times a year (R11); an order
  keeps the prices in force when it was placed (it stores the priced lines).
* **VAT is data**, effective-dated per product (:data:`STANDARD_VAT`: 20 % until 2025-12-31,
  22 % from 2026-01-01 by the 2025 amendment of Tax Code art. 164;
  :data:`EXEMPT_SOFTWARE_REGISTER`:
  exempt, Tax Code art. 149 п. 2 пп. 26, for licences of software in the Russian register).
* **Discounts** apply to a line, in this stacking order (each applies to what the previous
  left; a subscriber sees each one named, with its amount):

  1. volume discount (a percentage chosen by the line's quantity),
  2. personal discount (percentage or fixed amount),
  3. promo code (percentage or fixed amount; at most one promo code per order),
  4. other percentage discounts, then other fixed-amount discounts.

  A fixed amount is taken off a line once, whatever its quantity. A discount that would take
  the line below zero is cut to what is left, so a line total is never negative.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from atlas_ca.domain.ids import ProductCode, TariffPlanId
from atlas_ca.domain.money import HUNDRED, BillingError, InvalidBillingInput, Money


class TariffError(BillingError):
    """The catalogue refuses a request (no price in force, unknown product, bad discount)."""


class InvalidTariffData(TariffError, InvalidBillingInput):
    """Catalogue data that contradicts itself (overlapping versions, rates out of range)."""


class ProductKind(enum.Enum):
    CERTIFICATE_ISSUANCE = "certificate_issuance"  # выпуск квалифицированного сертификата
    CERTIFICATE_RENEWAL = "certificate_renewal"  # продление (перевыпуск) сертификата
    SOFTWARE_LICENCE = "software_licence"  # серийный номер (лицензия) на программу
    SUBSCRIPTION = "subscription"  # подписка на сервис
    SERVICE = "service"  # прочие услуги


# --- VAT ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatPeriod:
    """From ``valid_from`` on, the rate is ``rate`` percent, or exempt when ``rate`` is None."""

    valid_from: date
    rate: Decimal | None
    basis: str

    def __post_init__(self) -> None:
        if self.rate is not None:
            if not isinstance(self.rate, Decimal):
                raise TypeError(f"VAT rate must be Decimal, not {type(self.rate).__name__}")
            if not Decimal(0) <= self.rate < HUNDRED:
                raise InvalidTariffData(f"VAT rate {self.rate}% is out of range", rule="R11")


@dataclass(frozen=True, slots=True)
class VatRule:
    """The VAT that applies on one day: ``rate`` percent, or exempt (``rate`` None)."""

    rate: Decimal | None
    basis: str

    @property
    def exempt(self) -> bool:
        return self.rate is None

    def label(self) -> str:
        return "Без НДС" if self.rate is None else f"НДС {self.rate.normalize():f}%"

    def included_in(self, gross: Money) -> Money:
        return Money.zero() if self.rate is None else gross.included_vat(self.rate)


@dataclass(frozen=True, slots=True)
class VatSchedule:
    """Effective-dated VAT periods of a product, ordered by ``valid_from``."""

    periods: tuple[VatPeriod, ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise InvalidTariffData("a VAT schedule needs at least one period", rule="R11")
        starts = [p.valid_from for p in self.periods]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise InvalidTariffData(
                "VAT periods must be in strictly increasing order of valid_from", rule="R11"
            )

    def on(self, day: date) -> VatRule:
        current: VatPeriod | None = None
        for period in self.periods:
            if period.valid_from <= day:
                current = period
        if current is None:
            raise TariffError(
                f"no VAT period covers {day.isoformat()} (first from "
                f"{self.periods[0].valid_from.isoformat()})",
                rule="R11",
            )
        return VatRule(current.rate, current.basis)


STANDARD_VAT = VatSchedule(
    (
        VatPeriod(date(2019, 1, 1), Decimal(20), "НК РФ ст. 164 п. 3 (303-ФЗ от 03.08.2018)"),
        VatPeriod(date(2026, 1, 1), Decimal(22), "НК РФ ст. 164 п. 3 (ставка 22% с 01.01.2026)"),
    )
)
EXEMPT_SOFTWARE_REGISTER = VatSchedule(
    (
        VatPeriod(
            date(2021, 1, 1),
            None,
            "НК РФ ст. 149 п. 2 пп. 26: программа в едином реестре российского ПО",
        ),
    )
)


# --- catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Product:
    code: ProductCode
    name: str
    kind: ProductKind
    vat: VatSchedule = STANDARD_VAT

    def __post_init__(self) -> None:
        if not isinstance(self.code, ProductCode):
            raise TypeError("Product.code must be a ProductCode")
        if not self.name.strip():
            raise InvalidTariffData("a product needs a name", rule="R11")


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """The gross price of ``product`` on ``plan`` from ``valid_from`` until the next version."""

    plan: TariffPlanId
    product: ProductCode
    valid_from: date
    price: Money

    def __post_init__(self) -> None:
        if not isinstance(self.price, Money):
            raise TypeError("PriceVersion.price must be Money")
        if self.price.is_negative:
            raise InvalidTariffData(
                f"price of {self.product} on {self.plan} from {self.valid_from} is negative",
                rule="R11",
            )


@dataclass(frozen=True, slots=True)
class TariffPlan:
    id: TariffPlanId
    name: str


@dataclass(frozen=True, slots=True)
class Quote:
    """The price and VAT of one product on one plan on one day, and where they came from."""

    product: Product
    plan: TariffPlanId
    day: date
    unit_price: Money
    price_valid_from: date
    vat: VatRule


class Catalogue:
    """Products, plans and price versions; immutable once built."""

    __slots__ = ("_plans", "_prices", "_products")

    def __init__(
        self,
        products: Iterable[Product],
        plans: Iterable[TariffPlan],
        prices: Iterable[PriceVersion],
    ) -> None:
        product_map: dict[ProductCode, Product] = {}
        for product in products:
            if product.code in product_map:
                raise InvalidTariffData(f"product {product.code} listed twice", rule="R11")
            product_map[product.code] = product
        plan_map: dict[TariffPlanId, TariffPlan] = {}
        for plan in plans:
            if plan.id in plan_map:
                raise InvalidTariffData(f"tariff plan {plan.id} listed twice", rule="R11")
            plan_map[plan.id] = plan
        grouped: dict[tuple[TariffPlanId, ProductCode], list[PriceVersion]] = {}
        for version in prices:
            if version.plan not in plan_map:
                raise InvalidTariffData(f"price for unknown plan {version.plan}", rule="R11")
            if version.product not in product_map:
                raise InvalidTariffData(f"price for unknown product {version.product}", rule="R11")
            grouped.setdefault((version.plan, version.product), []).append(version)
        frozen: dict[tuple[TariffPlanId, ProductCode], tuple[PriceVersion, ...]] = {}
        for key, versions in grouped.items():
            versions.sort(key=lambda v: v.valid_from)
            starts = [v.valid_from for v in versions]
            if len(set(starts)) != len(starts):
                raise InvalidTariffData(
                    f"two price versions of {key[1]} on {key[0]} start the same day", rule="R11"
                )
            frozen[key] = tuple(versions)
        self._products: Mapping[ProductCode, Product] = MappingProxyType(product_map)
        self._plans: Mapping[TariffPlanId, TariffPlan] = MappingProxyType(plan_map)
        self._prices: Mapping[tuple[TariffPlanId, ProductCode], tuple[PriceVersion, ...]] = (
            MappingProxyType(frozen)
        )

    @property
    def products(self) -> Mapping[ProductCode, Product]:
        return self._products

    @property
    def plans(self) -> Mapping[TariffPlanId, TariffPlan]:
        return self._plans

    def product(self, code: ProductCode) -> Product:
        try:
            return self._products[code]
        except KeyError:
            raise TariffError(f"product {code} is not in the catalogue", rule="R11") from None

    def with_price(self, version: PriceVersion) -> Catalogue:
        """A new catalogue with one more price version (a price change, R11)."""
        every = [v for versions in self._prices.values() for v in versions]
        return Catalogue(self._products.values(), self._plans.values(), [*every, version])

    def versions(self, plan: TariffPlanId, product: ProductCode) -> tuple[PriceVersion, ...]:
        return self._prices.get((plan, product), ())

    def quote(self, plan: TariffPlanId, product: ProductCode, day: date) -> Quote:
        """The price in force on ``day`` for ``product`` on ``plan`` (R11)."""
        if plan not in self._plans:
            raise TariffError(f"tariff plan {plan} does not exist", rule="R11")
        item = self.product(product)
        in_force: PriceVersion | None = None
        for version in self.versions(plan, product):
            if version.valid_from <= day:
                in_force = version
        if in_force is None:
            raise TariffError(
                f"{product} has no price on plan {plan} in force on {day.isoformat()}",
                rule="R11",
                plan=str(plan),
                product=str(product),
            )
        return Quote(item, plan, day, in_force.price, in_force.valid_from, item.vat.on(day))


# --- discounts ------------------------------------------------------------------------------


class DiscountKind(enum.IntEnum):
    """Discount kinds; the value is the stacking position (lower applies first)."""

    VOLUME = 1
    PERSONAL = 2
    PROMO_CODE = 3
    PERCENTAGE = 4
    FIXED_AMOUNT = 5


def _check_percent(percent: Decimal, name: str) -> None:
    if not isinstance(percent, Decimal):
        raise TypeError(f"discount percent must be Decimal, not {type(percent).__name__}")
    if not Decimal(0) < percent <= HUNDRED:
        raise InvalidTariffData(
            f"discount {name!r}: percent must be in (0, 100], got {percent}", rule="R11"
        )


@dataclass(frozen=True, slots=True)
class PercentOff:
    percent: Decimal


@dataclass(frozen=True, slots=True)
class AmountOff:
    amount: Money


Reduction = PercentOff | AmountOff


@dataclass(frozen=True, slots=True)
class Discount:
    """A named discount of one kind; ``products`` limits it to some products (None: all).

    ``valid_from``/``valid_until`` (inclusive) bound promotions; a personal discount usually
    has neither.
    """

    name: str
    kind: DiscountKind
    reduction: Reduction
    products: frozenset[ProductCode] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    promo_code: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidTariffData("a discount needs a name to be shown", rule="R11")
        if self.kind is DiscountKind.VOLUME:
            raise InvalidTariffData(
                "volume discounts are VolumeDiscount objects (tiers by quantity)", rule="R11"
            )
        if isinstance(self.reduction, PercentOff):
            _check_percent(self.reduction.percent, self.name)
            if self.kind is DiscountKind.FIXED_AMOUNT:
                raise InvalidTariffData(
                    f"discount {self.name!r}: FIXED_AMOUNT needs an AmountOff", rule="R11"
                )
        elif isinstance(self.reduction, AmountOff):
            if not self.reduction.amount.is_positive:
                raise InvalidTariffData(
                    f"discount {self.name!r}: fixed amount must be above zero", rule="R11"
                )
            if self.kind is DiscountKind.PERCENTAGE:
                raise InvalidTariffData(
                    f"discount {self.name!r}: PERCENTAGE needs a PercentOff", rule="R11"
                )
        else:
            raise TypeError("Discount.reduction must be PercentOff or AmountOff")
        if (self.kind is DiscountKind.PROMO_CODE) != (self.promo_code is not None):
            raise InvalidTariffData(
                f"discount {self.name!r}: a promo code discount, and only it, names its code",
                rule="R11",
            )
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise InvalidTariffData(f"discount {self.name!r} ends before it starts", rule="R11")

    def applies_to(self, product: ProductCode, day: date) -> bool:
        if self.products is not None and product not in self.products:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_until is not None and day > self.valid_until)


@dataclass(frozen=True, slots=True)
class VolumeTier:
    min_quantity: int
    percent: Decimal


@dataclass(frozen=True, slots=True)
class VolumeDiscount:
    """A percentage by quantity: the tier with the largest ``min_quantity`` reached applies."""

    name: str
    tiers: tuple[VolumeTier, ...]
    products: frozenset[ProductCode] | None = None
    kind: DiscountKind = DiscountKind.VOLUME

    def __post_init__(self) -> None:
        if self.kind is not DiscountKind.VOLUME:
            raise InvalidTariffData("a VolumeDiscount is of kind VOLUME", rule="R11")
        if not self.tiers:
            raise InvalidTariffData(f"volume discount {self.name!r} has no tiers", rule="R11")
        for tier in self.tiers:
            if tier.min_quantity < 2:
                raise InvalidTariffData(
                    f"volume discount {self.name!r}: a tier starts at 2 or more", rule="R11"
                )
            _check_percent(tier.percent, self.name)

    def percent_for(self, product: ProductCode, quantity: int) -> Decimal | None:
        if self.products is not None and product not in self.products:
            return None
        best: VolumeTier | None = None
        for tier in self.tiers:
            if quantity >= tier.min_quantity and (
                best is None or tier.min_quantity > best.min_quantity
            ):
                best = tier
        return None if best is None else best.percent


AnyDiscount = Discount | VolumeDiscount


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """One discount as it was applied to a line: its name, kind and the amount taken off."""

    name: str
    kind: DiscountKind
    amount: Money
    detail: str
    rule: str = "R11"


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line priced on one day: gross before and after discounts, VAT of the result."""

    product: ProductCode
    description: str
    quantity: int
    unit_price: Money
    gross: Money
    discounts: tuple[AppliedDiscount, ...]
    total: Money
    vat: VatRule
    vat_amount: Money
    price_valid_from: date
    kind: ProductKind | None = None
    """The product's kind when the line was priced: what the order buys (certificate issuances,
    :mod:`atlas_ca.domain.entitlements`); None on lines stored before lines carried it."""

    @property
    def discount_total(self) -> Money:
        return self.gross - self.total


def _stack_key(discount: AnyDiscount) -> tuple[int, int]:
    # within PERSONAL and PROMO_CODE a percentage applies before a fixed amount
    fixed = isinstance(discount, Discount) and isinstance(discount.reduction, AmountOff)
    return (int(discount.kind), int(fixed))


def check_promo_codes(discounts: Sequence[AnyDiscount]) -> None:
    """At most one promo code per order (R11)."""
    codes = [d.promo_code for d in discounts if isinstance(d, Discount) and d.promo_code]
    if len(codes) > 1:
        raise TariffError(
            f"only one promo code applies to an order, got {len(codes)}: {', '.join(codes)}",
            rule="R11",
        )


def apply_discounts(
    product: ProductCode,
    quantity: int,
    gross: Money,
    discounts: Sequence[AnyDiscount],
    day: date,
) -> tuple[tuple[AppliedDiscount, ...], Money]:
    """Apply ``discounts`` to a line of ``gross`` in the documented stacking order (R11).

    Returns the applied discounts (each named, with its amount) and the total, never below zero.
    Discounts that do not apply to this product or day are left out of the result.
    """
    check_promo_codes(discounts)
    remaining = gross
    applied: list[AppliedDiscount] = []
    for discount in sorted(discounts, key=_stack_key):
        if remaining.is_zero:
            break
        if isinstance(discount, VolumeDiscount):
            percent = discount.percent_for(product, quantity)
            if percent is None:
                continue
            amount = remaining.percent(percent)
            detail = f"{percent.normalize():f}% for quantity {quantity}"
        else:
            if not discount.applies_to(product, day):
                continue
            if isinstance(discount.reduction, PercentOff):
                amount = remaining.percent(discount.reduction.percent)
                detail = f"{discount.reduction.percent.normalize():f}%"
            else:
                amount = discount.reduction.amount
                detail = f"{amount} off"
        if amount > remaining:
            detail += f", cut to {remaining} so the total is not negative"
            amount = remaining
        if amount.is_zero:
            continue
        remaining = remaining - amount
        applied.append(AppliedDiscount(discount.name, discount.kind, amount, detail))
    return tuple(applied), remaining


def price_line(
    catalogue: Catalogue,
    plan: TariffPlanId,
    product: ProductCode,
    quantity: int,
    day: date,
    discounts: Sequence[AnyDiscount] = (),
) -> PricedLine:
    """Price ``quantity`` of ``product`` on ``plan`` as in force on ``day`` (R11)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError(f"quantity must be int, not {type(quantity).__name__}")
    if quantity < 1:
        raise TariffError(f"quantity of {product} must be at least 1, got {quantity}", rule="R8")
    quote = catalogue.quote(plan, product, day)
    gross = quote.unit_price.times(quantity)
    applied, line_total = apply_discounts(product, quantity, gross, discounts, day)
    return PricedLine(
        product=product,
        description=quote.product.name,
        quantity=quantity,
        unit_price=quote.unit_price,
        gross=gross,
        discounts=applied,
        total=line_total,
        vat=quote.vat,
        vat_amount=quote.vat.included_in(line_total),
        price_valid_from=quote.price_valid_from,
        kind=quote.product.kind,
    )

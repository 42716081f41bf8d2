"""Money in Russian roubles: exact :class:`~decimal.Decimal` kopecks, never ``float``.

Every amount is a whole number of kopecks. Where a computation produces fractions of a kopeck
(a percentage discount, VAT extracted from a gross price) the result goes through
:func:`round_kopecks`, the one place that rounds, half-up (ROUND_HALF_UP), as Russian
accounting and receipts do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from atlas_ca.errors import DomainError, InvalidInput

KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)


class BillingError(DomainError):
    """Base of the billing domain's errors (money, tariffs, orders, payments, refunds).

    When a rule is given, the message cites it: ``"... (R14)"`` is appended unless present.
    """

    def __init__(self, message: str, *, rule: str | None = None, **context: Any) -> None:
        if rule and rule not in message:
            message = f"{message} ({rule})"
        super().__init__(message, rule=rule, **context)


class InvalidBillingInput(BillingError, InvalidInput):
    """Billing input that is malformed (a naive datetime, an empty reason, ...)."""


class InvalidMoney(InvalidBillingInput):
    """An amount that is not a finite whole number of kopecks, or not readable as one."""


def round_kopecks(value: Decimal) -> Decimal:
    """Round ``value`` to whole kopecks, half-up — the only rounding in the billing domain."""
    if not isinstance(value, Decimal):
        raise TypeError(f"round_kopecks takes a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise InvalidMoney(
            f"cannot round a non-finite amount {value} to kopecks", amount=str(value)
        )
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount of roubles with kopecks (may be negative, e.g. a debit entry of a ledger).

    Construct from a ``Decimal`` or ``int`` that is already a whole number of kopecks; use
    :meth:`parse` for text and :meth:`from_decimal` when the value must be rounded first.
    A ``float`` is a programming error (``TypeError``): binary fractions are not money.
    """

    amount: Decimal

    def __post_init__(self) -> None:
        value = self.amount
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"Money takes a Decimal or int amount, not {type(value).__name__}")
        value = Decimal(value)
        if not value.is_finite():
            raise InvalidMoney(f"amount {value} is not a finite number", amount=str(value))
        quantized = value.quantize(KOPECK)
        if quantized != value:
            raise InvalidMoney(
                f"amount {value} has fractions of a kopeck; round it with round_kopecks first",
                amount=str(value),
            )
        if quantized.is_zero():
            quantized = abs(quantized)  # no "-0.00" on a receipt
        object.__setattr__(self, "amount", quantized)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def zero(cls) -> Money:
        return cls(Decimal("0.00"))

    @classmethod
    def rub(cls, roubles: int, kopecks: int = 0) -> Money:
        """``Money.rub(1500)`` is 1500.00; ``Money.rub(10, 50)`` is 10.50."""
        if not 0 <= kopecks <= 99:
            raise InvalidMoney(f"kopecks must be 0..99, got {kopecks}", kopecks=kopecks)
        sign = -1 if roubles < 0 else 1
        return cls(Decimal(roubles) + sign * Decimal(kopecks) / HUNDRED)

    @classmethod
    def parse(cls, text: str) -> Money:
        """Read ``"1500"``, ``"1500.5"``, ``"1 500,50"`` (a decimal comma is accepted)."""
        if not isinstance(text, str):
            raise TypeError(f"Money.parse takes str, not {type(text).__name__}")
        cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidMoney(f"{text!r} is not an amount of roubles", text=text) from None
        return cls(value)

    @classmethod
    def from_decimal(cls, value: Decimal) -> Money:
        """Round ``value`` half-up to kopecks and wrap it."""
        return cls(round_kopecks(value))

    # --- arithmetic ---------------------------------------------------------------------

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def times(self, quantity: int) -> Money:
        """Exact multiplication by a whole quantity (no rounding needed)."""
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError(f"quantity must be int, not {type(quantity).__name__}")
        return Money(self.amount * quantity)

    def percent(self, rate: Decimal) -> Money:
        """``rate`` percent of this amount, rounded half-up to kopecks."""
        if not isinstance(rate, Decimal):
            raise TypeError(f"rate must be Decimal, not {type(rate).__name__}")
        return Money.from_decimal(self.amount * rate / HUNDRED)

    def included_vat(self, rate: Decimal) -> Money:
        """The VAT contained in this gross amount at ``rate`` percent: gross·rate/(100+rate)."""
        if not isinstance(rate, Decimal):
            raise TypeError(f"rate must be Decimal, not {type(rate).__name__}")
        return Money.from_decimal(self.amount * rate / (HUNDRED + rate))

    # --- predicates ---------------------------------------------------------------------

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount} ₽"


def total(amounts: Iterable[Money]) -> Money:
    """The sum of ``amounts`` (zero for none)."""
    result = Money.zero()
    for amount in amounts:
        result = result + amount
    return result


def require_positive(amount: Money, what: str, *, rule: str | None = None) -> None:
    """Raise :class:`InvalidMoney` unless ``amount`` is above zero."""
    if not isinstance(amount, Money):
        raise TypeError(f"{what} must be Money, not {type(amount).__name__}")
    if not amount.is_positive:
        cited = f" ({rule})" if rule else ""
        raise InvalidMoney(f"{what} must be above zero, got {amount}{cited}", amount=str(amount))

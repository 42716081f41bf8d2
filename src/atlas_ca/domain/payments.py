"""Invoices and payment notifications (R9, R12–R14).

* Invoices are numbered per seller without gaps: the next number is computed from the previous
  one (or from a sequence value the storage passes in); :func:`check_invoice_sequence` proves a
  series has no gap. An invoice carries the seller's requisites (R12), a line per item with its
  VAT, VAT totals per rate, and a due date.
* A payment notification is idempotent by its external payment id: the same id applied twice
  changes nothing the second time (and the same id with a different amount is refused). A
  partial payment leaves the order awaiting payment and the outcome shows the remainder; money
  above the amount due, or for an order no longer awaiting payment, is **surplus**: the receipt
  on the order records it as such (the order does not hold it) and the same step credits it to
  the customer's personal account, held by the order's seller (:func:`receive_payment`). Every
  rouble received is on the order or on the account, never on both.
* Cancelling an order releases the money it holds to the personal account
  (:func:`cancel_and_release`), where it stays refundable (R16).
* A notification may name another method than the one chosen at placement (an invoice paid by
  card); only R13 is enforced on it (no cash for АО "Атлас-2").
* Paying from the personal account (R9) debits the ledger and records the payment on the order
  in one step.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from atlas_ca.domain.account import (
    PersonalAccount,
    credit_overpayment,
    pay_order_from_balance,
    release_order_money,
    require_aware,
)
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, require_positive, total
from atlas_ca.domain.orders import (
    Order,
    OrderState,
    PaymentReceipt,
    cancel_order,
    record_receipt,
)
from atlas_ca.domain.sellers import (
    PaymentMethod,
    PaymentRefused,
    Seller,
    SellerCode,
    check_payment_method,
    seller,
)


class PaymentError(BillingError):
    """A payment rule refuses the operation (R9, R12–R14)."""


class InvalidInvoice(PaymentError, InvalidBillingInput):
    """An invoice number or series that is malformed or broken."""


class ConflictingNotification(PaymentError, InvalidBillingInput):
    """The same external payment id arrived again with different content."""


# --- invoices -------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?P<prefix>[А-ЯA-Z0-9]+)-(?P<year>\d{4})-(?P<seq>\d{6,})")


@dataclass(frozen=True, slots=True, order=True)
class InvoiceNumber:
    """``<seller prefix>-<year>-<sequence>``, e.g. ``СЦ-2026-000042``; per seller and year."""

    seller: SellerCode
    year: int
    sequence: int

    def __post_init__(self) -> None:
        if not isinstance(self.sequence, int) or self.sequence < 1:
            raise InvalidInvoice(f"invoice sequence must be 1 or more, got {self.sequence}")
        if not 2000 <= self.year <= 9999:
            raise InvalidInvoice(f"invoice year {self.year} is out of range")

    def __str__(self) -> str:
        return f"{seller(self.seller).invoice_prefix}-{self.year}-{self.sequence:06d}"

    @classmethod
    def parse(cls, text: str) -> InvoiceNumber:
        match = _NUMBER.fullmatch(text.strip())
        if match is None:
            raise InvalidInvoice(f"{text!r} is not an invoice number like СЦ-2026-000042")
        prefix = match["prefix"]
        for candidate in SellerCode:
            if seller(candidate).invoice_prefix == prefix:
                return cls(candidate, int(match["year"]), int(match["seq"]))
        raise InvalidInvoice(f"invoice prefix {prefix!r} names no seller (R12)", rule="R12")


def next_invoice_number(
    seller_code: SellerCode, previous: InvoiceNumber | None, issued_on: dt.date
) -> InvoiceNumber:
    """The number after ``previous`` for ``seller_code``; the series restarts at 1 each year."""
    if previous is not None and previous.seller is not seller_code:
        raise InvalidInvoice(
            f"previous invoice {previous} belongs to another seller; series are per seller (R12)",
            rule="R12",
        )
    if previous is None or previous.year < issued_on.year:
        return InvoiceNumber(seller_code, issued_on.year, 1)
    if previous.year > issued_on.year:
        raise InvalidInvoice(
            f"previous invoice {previous} is dated after {issued_on.isoformat()}",
        )
    return InvoiceNumber(seller_code, previous.year, previous.sequence + 1)


def check_invoice_sequence(numbers: Sequence[InvoiceNumber]) -> None:
    """Raise :class:`InvalidInvoice` if the series of one seller has a gap or a repeat."""
    by_series: dict[tuple[SellerCode, int], list[int]] = {}
    for number in numbers:
        by_series.setdefault((number.seller, number.year), []).append(number.sequence)
    for (code, year), sequences in by_series.items():
        ordered = sorted(sequences)
        expected = list(range(1, len(ordered) + 1))
        if ordered != expected:
            missing = sorted(set(expected) - set(ordered))
            repeated = sorted({s for s in ordered if ordered.count(s) > 1})
            raise InvalidInvoice(
                f"invoices of {seller(code).name} for {year} are not gapless: "
                f"missing {missing or 'none'}, repeated {repeated or 'none'}, "
                f"highest {ordered[-1]}",
                rule="R12",
            )


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_price: Money
    discount: Money
    amount: Money
    vat_label: str
    vat_amount: Money


@dataclass(frozen=True, slots=True)
class VatTotal:
    label: str
    rate: Decimal | None
    base: Money  # gross amount the VAT is included in
    vat: Money


@dataclass(frozen=True, slots=True)
class Invoice:
    number: InvoiceNumber
    seller: Seller
    order_id: OrderId
    issued_on: dt.date
    due_on: dt.date
    lines: tuple[InvoiceLine, ...]
    vat_totals: tuple[VatTotal, ...]
    total: Money
    paid: Money
    amount_due: Money

    @property
    def vat_total(self) -> Money:
        return total(v.vat for v in self.vat_totals)

    def requisites(self) -> str:
        return self.seller.requisites()


def issue_invoice(
    order: Order,
    number: InvoiceNumber,
    issued_on: dt.date,
    due_in_days: int = 5,
) -> Invoice:
    """An invoice for an order awaiting payment (R14), from the prices fixed on the order."""
    if order.state is not OrderState.AWAITING_PAYMENT:
        raise PaymentError(
            f"order {order.id} is {order.state.value}; an invoice is issued for an order "
            "awaiting payment (R14)",
            rule="R14",
        )
    if number.seller is not order.seller:
        raise InvalidInvoice(
            f"invoice {number} is numbered in the series of another seller than the order's "
            f"({seller(order.seller).name}) (R12)",
            rule="R12",
        )
    if number.year != issued_on.year:
        raise InvalidInvoice(f"invoice {number} does not belong to year {issued_on.year}")
    if due_in_days < 0:
        raise InvalidInvoice(f"due_in_days must not be negative, got {due_in_days}")
    lines = tuple(
        InvoiceLine(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount_total,
            amount=line.total,
            vat_label=line.vat.label(),
            vat_amount=line.vat_amount,
        )
        for line in order.lines
    )
    grouped: dict[Decimal | None, list[tuple[Money, Money, str]]] = {}
    for line in order.lines:
        grouped.setdefault(line.vat.rate, []).append(
            (line.total, line.vat_amount, line.vat.label())
        )
    vat_totals = tuple(
        VatTotal(
            label=entries[0][2],
            rate=rate,
            base=total(e[0] for e in entries),
            vat=total(e[1] for e in entries),
        )
        for rate, entries in sorted(
            grouped.items(), key=lambda kv: Decimal(-1) if kv[0] is None else kv[0]
        )
    )
    return Invoice(
        number=number,
        seller=seller(order.seller),
        order_id=order.id,
        issued_on=issued_on,
        due_on=issued_on + dt.timedelta(days=due_in_days),
        lines=lines,
        vat_totals=vat_totals,
        total=order.total,
        paid=order.amount_applied,
        amount_due=order.outstanding,
    )


# --- payment notifications ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentNotification:
    """A payment system's (or the bank statement's) report that money arrived for an order."""

    external_id: str
    order_id: OrderId
    amount: Money
    method: PaymentMethod
    received_at: dt.datetime

    def __post_init__(self) -> None:
        if not isinstance(self.external_id, str) or not self.external_id.strip():
            raise InvalidBillingInput("a payment notification carries the external payment id")
        require_positive(self.amount, "a notified payment", rule="R9")
        require_aware("received_at", self.received_at)
        if self.method is PaymentMethod.ACCOUNT_BALANCE:
            raise InvalidBillingInput(
                "a balance payment is made with pay_from_account, not notified from outside",
                rule="R9",
            )


class PaymentStatus(enum.Enum):
    DUPLICATE = "duplicate"  # the id was applied before: nothing changed
    PARTIAL = "partial"  # still awaiting payment; ``remainder`` shows what is left
    PAID_IN_FULL = "paid_in_full"
    SURPLUS_ONLY = "surplus_only"  # order no longer awaiting payment: all of it is surplus


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What a notification did, for the UI and for the service that credits any surplus."""

    order: Order
    status: PaymentStatus
    applied: Money
    remainder: Money
    surplus: Money
    rule: str
    explanation: str


def apply_payment_notification(order: Order, notification: PaymentNotification) -> PaymentOutcome:
    """Apply ``notification`` to ``order`` once (R9); a repeat is a no-op reported as DUPLICATE.

    Surplus (overpayment, or money for an order no longer awaiting payment) is recorded on the
    order too, so a repeat stays a no-op; the caller credits it to the personal account.
    """
    if notification.order_id != order.id:
        raise PaymentError(
            f"notification {notification.external_id} is for order {notification.order_id}, "
            f"not {order.id}",
            rule="R9",
        )
    check_payment_method(seller(order.seller), notification.method)
    earlier = order.receipt(notification.external_id)
    if earlier is not None:
        if earlier.amount != notification.amount or earlier.method is not notification.method:
            raise ConflictingNotification(
                f"payment {notification.external_id} was recorded as {earlier.amount} by "
                f"{earlier.method.value}; now notified as {notification.amount} by "
                f"{notification.method.value}",
                rule="R9",
            )
        return PaymentOutcome(
            order,
            PaymentStatus.DUPLICATE,
            Money.zero(),
            order.outstanding,
            Money.zero(),
            "R9",
            f"payment {notification.external_id} was already applied; nothing credited again",
        )
    if order.state is not OrderState.AWAITING_PAYMENT:
        receipt = _receipt(notification, surplus=notification.amount)
        updated = record_receipt(order, receipt)
        return PaymentOutcome(
            updated,
            PaymentStatus.SURPLUS_ONLY,
            Money.zero(),
            Money.zero(),
            notification.amount,
            "R14",
            f"order {order.id} is {order.state.value}; {notification.amount} goes to the "
            "personal account",
        )
    outstanding = order.outstanding
    applied = min(outstanding, notification.amount)
    surplus = notification.amount - applied
    updated = record_receipt(order, _receipt(notification, surplus=surplus))
    if updated.state is OrderState.PAID:
        text = f"order {order.id} paid in full"
        if surplus.is_positive:
            text += f"; overpayment {surplus} goes to the personal account"
        return PaymentOutcome(
            updated, PaymentStatus.PAID_IN_FULL, applied, Money.zero(), surplus, "R9", text
        )
    return PaymentOutcome(
        updated,
        PaymentStatus.PARTIAL,
        applied,
        updated.outstanding,
        Money.zero(),
        "R9",
        f"partial payment {applied}; {updated.outstanding} of {updated.total} remains to pay",
    )


def _receipt(notification: PaymentNotification, *, surplus: Money) -> PaymentReceipt:
    return PaymentReceipt(
        notification.external_id,
        notification.amount,
        notification.method,
        notification.received_at,
        surplus,
    )


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    """A notification applied to the order and its surplus credited to the account, together:
    the caller writes both records in one transaction."""

    outcome: PaymentOutcome
    account: PersonalAccount

    @property
    def order(self) -> Order:
        return self.outcome.order


def receive_payment(
    order: Order, account: PersonalAccount, notification: PaymentNotification
) -> ReceivedPayment:
    """Apply ``notification`` to ``order`` and credit its surplus to ``account`` (R9, R14).

    The surplus entry carries the payment's id, so a repeated notification (DUPLICATE) changes
    neither record. The surplus is held by the order's seller, who received it (R12).
    """
    if account.owner != order.customer:
        raise PaymentRefused(
            f"the surplus of order {order.id} belongs to {order.customer}, not to the account "
            f"of {account.owner} (R14)",
            rule="R14",
        )
    outcome = apply_payment_notification(order, notification)
    if outcome.surplus.is_positive:
        account = credit_overpayment(
            account,
            notification.external_id,
            order.id,
            outcome.surplus,
            notification.received_at,
            holder=order.seller,
            method=notification.method,
        )
    return ReceivedPayment(outcome, account)


@dataclass(frozen=True, slots=True)
class Cancellation:
    """A cancelled order and the account its money was released to."""

    order: Order
    account: PersonalAccount
    released: Money


def cancel_and_release(
    order: Order, account: PersonalAccount, at: dt.datetime, reason: str, *, entry_id: str
) -> Cancellation:
    """Cancel ``order`` (its entitlement ends) and move the money it holds to the customer's
    personal account, held by the order's seller, where it stays refundable (R16)."""
    if account.owner != order.customer:
        raise PaymentRefused(
            f"order {order.id} of {order.customer} cannot release money to the account of "
            f"{account.owner} (R14)",
            rule="R14",
        )
    cancelled = cancel_order(order, at, reason)
    held = cancelled.amount_held
    if held.is_positive:
        account = release_order_money(
            account,
            entry_id,
            order.id,
            held,
            at,
            holder=order.seller,
            reason=f"order {order.id} cancelled ({reason}): its money returns to the account",
        )
        cancelled = replace(cancelled, released=cancelled.released + held)
    return Cancellation(cancelled, account, held)


@dataclass(frozen=True, slots=True)
class BalancePayment:
    order: Order
    account: PersonalAccount
    amount: Money
    rule: str
    explanation: str


def pay_from_account(
    order: Order, account: PersonalAccount, entry_id: str, at: dt.datetime
) -> BalancePayment:
    """Pay the whole outstanding amount of ``order`` from the personal account (R9, R14)."""
    if order.payment_method is not PaymentMethod.ACCOUNT_BALANCE:
        raise PaymentRefused(
            f"order {order.id} was placed to be paid by {order.payment_method.value}; the "
            "payment method is chosen when placing the order (R9)",
            rule="R9",
        )
    check_payment_method(seller(order.seller), order.payment_method)
    if order.state is not OrderState.AWAITING_PAYMENT:
        raise PaymentError(
            f"order {order.id} is {order.state.value}, not awaiting payment", rule="R9"
        )
    if account.owner != order.customer:
        raise PaymentRefused(
            f"the personal account of {account.owner} cannot pay order {order.id} of "
            f"{order.customer} (R14)",
            rule="R14",
        )
    amount = order.outstanding
    debited = pay_order_from_balance(account, entry_id, order.id, amount, at, holder=order.seller)
    receipt = PaymentReceipt(entry_id, amount, PaymentMethod.ACCOUNT_BALANCE, at)
    paid = record_receipt(order, receipt)
    return BalancePayment(
        paid,
        debited,
        amount,
        "R9",
        f"{amount} taken from the personal account; balance now {debited.balance}",
    )

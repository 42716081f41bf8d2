"""Orders (R8–R10): entry points, named recipients, prices fixed at placement, a state machine.

States::

    DRAFT ─place─▶ AWAITING_PAYMENT ─paid in full─▶ PAID ─▶ IN_FULFILMENT ─▶ COMPLETED
      └───────────────┴──────────────┴────────────────┴──▶ CANCELLED

Every function returns a new :class:`Order`; an illegal transition raises
:class:`IllegalTransition` naming both states. Only a verified subscriber places an order
(R3, through the :class:`VerificationCheck` port). Dates derived from a moment (the day whose
prices apply) are taken in the moment's own time zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from atlas_ca.domain.account import require_aware
from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, total
from atlas_ca.domain.sellers import PaymentMethod, SellerCode, check_payment_method, seller
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.domain.subscribers import require_verified as require_subscriber_verified
from atlas_ca.domain.tariffs import (
    AnyDiscount,
    Catalogue,
    PricedLine,
    ProductKind,
    check_promo_codes,
    price_line,
)


class OrderError(BillingError):
    """An order rule refuses the operation (R8–R10)."""


class InvalidOrder(OrderError, InvalidBillingInput):
    """An order that cannot be formed as given (no recipients, bad quantity, ...)."""


class CustomerNotVerified(OrderError):
    """R3: only a verified user places orders."""


class IllegalTransition(OrderError):
    """The order's state does not allow the operation."""


class VerificationCheck(Protocol):
    """Port to the subscribers' register: raise a DomainError (rule R3) unless verified."""

    def require_verified(self, subscriber_id: SubscriberId) -> None: ...


@dataclass(frozen=True, slots=True)
class SubscriberRegisterCheck:
    """A :class:`VerificationCheck` over the subscribers' register (issue 6).

    ``lookup`` finds a :class:`~atlas_ca.domain.subscribers.Subscriber` by id (None if there is
    none); an unverified one raises the register's own ``NotVerified`` (rule R3), which lists the
    fields still unverified.
    """

    lookup: Callable[[SubscriberId], Subscriber | None]

    def require_verified(self, subscriber_id: SubscriberId) -> None:
        subscriber = self.lookup(subscriber_id)
        if subscriber is None:
            raise CustomerNotVerified(
                f"subscriber {subscriber_id} is not registered: only a verified user places "
                "orders (R3, R8)",
                rule="R3",
                subscriber=str(subscriber_id),
            )
        require_subscriber_verified(subscriber)


@dataclass(frozen=True, slots=True)
class VerifiedSubscribers:
    """A :class:`VerificationCheck` over a known set of verified subscriber ids."""

    verified: frozenset[SubscriberId]

    def require_verified(self, subscriber_id: SubscriberId) -> None:
        if subscriber_id not in self.verified:
            raise CustomerNotVerified(
                f"subscriber {subscriber_id} is not verified: only a verified user places "
                "orders (R3, R8)",
                rule="R3",
                subscriber=str(subscriber_id),
            )


class OrderState(enum.Enum):
    DRAFT = "draft"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    IN_FULFILMENT = "in_fulfilment"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_NEXT: dict[OrderState, frozenset[OrderState]] = {
    OrderState.DRAFT: frozenset({OrderState.AWAITING_PAYMENT, OrderState.CANCELLED}),
    OrderState.AWAITING_PAYMENT: frozenset({OrderState.PAID, OrderState.CANCELLED}),
    OrderState.PAID: frozenset({OrderState.IN_FULFILMENT, OrderState.CANCELLED}),
    OrderState.IN_FULFILMENT: frozenset({OrderState.COMPLETED, OrderState.CANCELLED}),
    OrderState.COMPLETED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}


def allowed_transitions(state: OrderState) -> frozenset[OrderState]:
    return _NEXT[state]


class EntryPoint(enum.Enum):
    """Where the order was placed (R8)."""

    DIGITAL_PROFILE = "digital_profile"  # кнопка «Оформить заказ» в Цифровом профиле
    SELF_SERVICE_SITE = "self_service_site"  # «Заказать самостоятельно» на сайте самообслуживания
    IN_PROGRAM_QUICK_PURCHASE = "in_program_quick_purchase"  # быстрая покупка в программе
    IN_PROGRAM_BUY = "in_program_buy"  # кнопка «Купить» в программе (серийный номер ПО)


class ActivationKind(enum.Enum):
    ACCOUNT = "account"
    CERTIFICATE = "certificate"


@dataclass(frozen=True, slots=True)
class ActivationTarget:
    """What a quick purchase is activated on (R8): the account or a chosen certificate."""

    kind: ActivationKind
    certificate_serial: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is ActivationKind.CERTIFICATE) != (self.certificate_serial is not None):
            raise InvalidOrder(
                "a quick purchase activated on a certificate names its serial, and only then (R8)",
                rule="R8",
            )


@dataclass(frozen=True, slots=True)
class OrderItem:
    product: ProductCode
    quantity: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.product, ProductCode):
            raise TypeError("OrderItem.product must be a ProductCode")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError("OrderItem.quantity must be int")
        if self.quantity < 1:
            raise InvalidOrder(
                f"quantity of {self.product} must be at least 1, got {self.quantity}", rule="R8"
            )


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    """Money received for the order, identified by the payment system's own id."""

    external_id: str
    amount: Money
    method: PaymentMethod
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ExtraDataRequest:
    """Unverified data that fulfilment asks for (R10); ``provided_at`` set once answered."""

    field: str
    reason: str
    requested_at: dt.datetime
    provided_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    source: OrderState
    target: OrderState
    at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    id: OrderId
    customer: SubscriberId
    entry_point: EntryPoint
    seller: SellerCode
    payment_method: PaymentMethod
    plan: TariffPlanId
    items: tuple[OrderItem, ...]
    recipients: tuple[SubscriberId, ...]
    created_at: dt.datetime
    state: OrderState = OrderState.DRAFT
    activation: ActivationTarget | None = None
    discounts: tuple[AnyDiscount, ...] = ()
    lines: tuple[PricedLine, ...] = ()
    placed_at: dt.datetime | None = None
    receipts: tuple[PaymentReceipt, ...] = ()
    extra_data: tuple[ExtraDataRequest, ...] = ()
    history: tuple[Transition, ...] = ()
    completed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None

    @property
    def total(self) -> Money:
        """The amount due, fixed when the order was placed (zero for a draft)."""
        return total(line.total for line in self.lines)

    @property
    def vat_total(self) -> Money:
        return total(line.vat_amount for line in self.lines)

    @property
    def amount_paid(self) -> Money:
        return total(r.amount for r in self.receipts)

    @property
    def amount_applied(self) -> Money:
        """Money received that pays this order (at most its total); the rest is surplus for
        the personal account (see :mod:`atlas_ca.domain.payments`)."""
        return min(self.amount_paid, self.total)

    @property
    def outstanding(self) -> Money:
        """What remains to pay (never below zero)."""
        rest = self.total - self.amount_paid
        return Money.zero() if rest.is_negative else rest

    @property
    def pending_extra_data(self) -> tuple[ExtraDataRequest, ...]:
        return tuple(r for r in self.extra_data if r.provided_at is None)

    def receipt(self, external_id: str) -> PaymentReceipt | None:
        for r in self.receipts:
            if r.external_id == external_id:
                return r
        return None


def _move(order: Order, target: OrderState, at: dt.datetime, reason: str) -> Order:
    require_aware("at", at)
    if target not in _NEXT[order.state]:
        allowed = ", ".join(sorted(s.value for s in _NEXT[order.state])) or "none"
        raise IllegalTransition(
            f"order {order.id}: cannot go from {order.state.value} to {target.value} "
            f"(allowed from {order.state.value}: {allowed})",
            rule="R8",
            order=str(order.id),
            source=order.state.value,
            target=target.value,
        )
    step = Transition(order.state, target, at, reason)
    return replace(order, state=target, history=(*order.history, step))


def draft_order(
    order_id: OrderId,
    customer: SubscriberId,
    entry_point: EntryPoint,
    seller_code: SellerCode,
    payment_method: PaymentMethod,
    plan: TariffPlanId,
    items: Sequence[OrderItem],
    recipients: Sequence[SubscriberId],
    at: dt.datetime,
    *,
    activation: ActivationTarget | None = None,
    discounts: Sequence[AnyDiscount] = (),
) -> Order:
    """A draft order; the seller's acceptance of the payment method is checked now (R9, R13)."""
    require_aware("at", at)
    check_payment_method(seller(seller_code), payment_method)
    if not items:
        raise InvalidOrder(f"order {order_id} has no items", rule="R8")
    if not recipients:
        raise InvalidOrder(
            f"order {order_id} names no person to receive the services (R10)", rule="R10"
        )
    if len(set(recipients)) != len(recipients):
        raise InvalidOrder(f"order {order_id} names a recipient twice (R10)", rule="R10")
    quick = entry_point is EntryPoint.IN_PROGRAM_QUICK_PURCHASE
    if quick and activation is None:
        raise InvalidOrder(
            "a quick purchase in a program is activated on the account or on a chosen "
            "certificate; name which (R8)",
            rule="R8",
        )
    if not quick and activation is not None:
        raise InvalidOrder(
            f"only a quick purchase names an activation target, not {entry_point.value} (R8)",
            rule="R8",
        )
    check_promo_codes(discounts)
    return Order(
        id=order_id,
        customer=customer,
        entry_point=entry_point,
        seller=seller_code,
        payment_method=payment_method,
        plan=plan,
        items=tuple(items),
        recipients=tuple(recipients),
        created_at=at,
        activation=activation,
        discounts=tuple(discounts),
    )


def place_order(
    order: Order, catalogue: Catalogue, at: dt.datetime, verification: VerificationCheck
) -> Order:
    """Place a draft: R3 check, prices in force at ``at`` fixed on the order (R11), then
    AWAITING_PAYMENT — or PAID straight away when discounts leave nothing to pay."""
    require_aware("at", at)
    if order.state is not OrderState.DRAFT:
        raise IllegalTransition(
            f"order {order.id} is {order.state.value}; only a draft is placed", rule="R8"
        )
    verification.require_verified(order.customer)
    day = at.date()
    if order.entry_point is EntryPoint.IN_PROGRAM_BUY:
        for item in order.items:
            kind = catalogue.product(item.product).kind
            if kind is not ProductKind.SOFTWARE_LICENCE:
                raise InvalidOrder(
                    f"the «Купить» button in a program sells software serial numbers; "
                    f"{item.product} is {kind.value} (R8)",
                    rule="R8",
                )
    lines = tuple(
        price_line(catalogue, order.plan, item.product, item.quantity, day, order.discounts)
        for item in order.items
    )
    placed = _move(
        replace(order, lines=lines, placed_at=at),
        OrderState.AWAITING_PAYMENT,
        at,
        f"placed via {order.entry_point.value}; prices of plan {order.plan} on {day}",
    )
    if placed.total.is_zero:
        return _move(placed, OrderState.PAID, at, "nothing to pay after discounts (R11)")
    return placed


def record_receipt(order: Order, receipt: PaymentReceipt) -> Order:
    """Add money received; the order becomes PAID when nothing remains outstanding (R9).

    Idempotency by ``external_id`` is the job of
    :func:`atlas_ca.domain.payments.apply_payment_notification`; here a repeated id is an error.
    """
    if order.receipt(receipt.external_id) is not None:
        raise InvalidOrder(
            f"payment {receipt.external_id} is already recorded on order {order.id}", rule="R9"
        )
    updated = replace(order, receipts=(*order.receipts, receipt))
    if order.state is OrderState.AWAITING_PAYMENT and updated.outstanding.is_zero:
        return _move(
            updated,
            OrderState.PAID,
            receipt.received_at,
            f"paid in full ({updated.amount_paid} of {updated.total}) (R9)",
        )
    return updated


def start_fulfilment(order: Order, at: dt.datetime) -> Order:
    return _move(order, OrderState.IN_FULFILMENT, at, "fulfilment started (R10)")


def request_extra_data(order: Order, field: str, reason: str, at: dt.datetime) -> Order:
    """Fulfilment asks for extra, unverified data (R10)."""
    require_aware("at", at)
    if order.state is not OrderState.IN_FULFILMENT:
        raise IllegalTransition(
            f"order {order.id} is {order.state.value}; extra data is asked only during "
            "fulfilment (R10)",
            rule="R10",
        )
    if not field.strip() or not reason.strip():
        raise InvalidOrder("an extra-data request names the field and why (R10)", rule="R10")
    if any(r.field == field for r in order.pending_extra_data):
        raise InvalidOrder(f"{field!r} is already requested on order {order.id}", rule="R10")
    return replace(order, extra_data=(*order.extra_data, ExtraDataRequest(field, reason, at)))


def provide_extra_data(order: Order, field: str, at: dt.datetime) -> Order:
    require_aware("at", at)
    for index, request in enumerate(order.extra_data):
        if request.field == field and request.provided_at is None:
            answered = replace(request, provided_at=at)
            extra = (*order.extra_data[:index], answered, *order.extra_data[index + 1 :])
            return replace(order, extra_data=extra)
    raise InvalidOrder(f"order {order.id} has no pending request for {field!r}", rule="R10")


def complete_order(order: Order, at: dt.datetime) -> Order:
    """Fulfilment completed: after this, its money is no longer refundable (R17)."""
    pending = order.pending_extra_data
    if order.state is OrderState.IN_FULFILMENT and pending:
        names = ", ".join(r.field for r in pending)
        raise IllegalTransition(
            f"order {order.id} waits for extra data ({names}) and cannot complete (R10)",
            rule="R10",
        )
    completed = _move(order, OrderState.COMPLETED, at, "fulfilment completed (R10)")
    return replace(completed, completed_at=at)


def cancel_order(order: Order, at: dt.datetime, reason: str) -> Order:
    """Cancel an order not yet completed; money paid for it stays refundable (R16)."""
    if not reason.strip():
        raise InvalidOrder("a cancellation states its reason", rule="R8")
    cancelled = _move(order, OrderState.CANCELLED, at, reason)
    return replace(cancelled, cancelled_at=at, cancel_reason=reason)


@dataclass(frozen=True, slots=True)
class ServiceAccess:
    """Whether ``person`` may receive the order's services in their own profile, and why."""

    order_id: OrderId
    person: SubscriberId
    granted: bool
    rule: str
    explanation: str


_SERVED = frozenset({OrderState.PAID, OrderState.IN_FULFILMENT})


def service_access(order: Order, person: SubscriberId) -> ServiceAccess:
    """R10: after payment, every person named in the order receives its services — until its
    fulfilment is complete: a COMPLETED order's services were received and it grants no more
    (how many certificates an order buys: :mod:`atlas_ca.domain.entitlements`)."""
    if person not in order.recipients:
        return ServiceAccess(
            order.id, person, False, "R10", f"{person} is not named in order {order.id}"
        )
    if order.state is OrderState.COMPLETED:
        return ServiceAccess(
            order.id,
            person,
            False,
            "R10",
            f"order {order.id} is completed; its services were received and it grants no more",
        )
    if order.state not in _SERVED:
        return ServiceAccess(
            order.id,
            person,
            False,
            "R10",
            f"order {order.id} is {order.state.value}; services follow payment",
        )
    return ServiceAccess(
        order.id, person, True, "R10", f"order {order.id} is paid; {person} is named in it"
    )

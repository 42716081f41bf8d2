"""Orders (R8–R10): entry points, named recipients, prices fixed at placement, a state machine.

States::

    DRAFT ─place─▶ AWAITING_PAYMENT ─paid in full─▶ PAID ─▶ IN_FULFILMENT ─▶ COMPLETED
      └───────────────┴──────────────┴────────────────┴──▶ CANCELLED

Every function returns a new :class:`Order`; an illegal transition raises
:class:`IllegalTransition` naming both states.

* **Who orders (R3, R8).** Placing an order is open to any *registered* person (the
  :class:`CustomerCheck` port): the seed lets a person order on the self-service site and
  register while ordering (lines 175, 191); what needs verification is *fulfilment* — issuing a
  certificate (:mod:`atlas_ca.services.issuance` requires a verified subscriber) or granting a
  service.
* **Money on an order.** A receipt records what was received and how much of it was surplus
  credited to the personal account (:attr:`PaymentReceipt.surplus`); the order holds only what
  it applied (:attr:`Order.amount_applied`, never above its total), less what was refunded from
  it and what a cancellation released back to the personal account (:attr:`Order.amount_held`).
  Every rouble is on exactly one side.
* **Days** (the day whose prices and VAT apply) are business days in the business time zone
  (:mod:`atlas_ca.domain.business_time`, Moscow by default), not the moment's own zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from atlas_ca.domain.account import require_aware
from atlas_ca.domain.business_time import MOSCOW, business_day
from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, total
from atlas_ca.domain.sellers import PaymentMethod, SellerCode, check_payment_method, seller
from atlas_ca.domain.subscribers import Subscriber
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


class CustomerNotRegistered(OrderError):
    """R3, R8: an order is placed by a registered person (registration is free and happens while
    ordering on the self-service site, seed line 175)."""


class IllegalTransition(OrderError):
    """The order's state does not allow the operation."""


class CustomerCheck(Protocol):
    """Port to the subscribers' register: raise :class:`CustomerNotRegistered` unless the
    person is registered. Verification is not required to order (R3: it is required to fulfil)."""

    def require_registered(self, subscriber_id: SubscriberId) -> None: ...


@dataclass(frozen=True, slots=True)
class SubscriberRegisterCheck:
    """A :class:`CustomerCheck` over the subscribers' register.

    ``lookup`` finds a :class:`~atlas_ca.domain.subscribers.Subscriber` by id (None if there is
    none). A registered but not yet verified person may order (R3): the verification is asked
    for when the order is fulfilled.
    """

    lookup: Callable[[SubscriberId], Subscriber | None]

    def require_registered(self, subscriber_id: SubscriberId) -> None:
        if self.lookup(subscriber_id) is None:
            raise CustomerNotRegistered(
                f"subscriber {subscriber_id} is not registered: the person registers (free, a "
                "mobile phone number) while placing the order (R1, R8)",
                rule="R8",
                subscriber=str(subscriber_id),
            )


@dataclass(frozen=True, slots=True)
class RegisteredCustomers:
    """A :class:`CustomerCheck` over a known set of registered subscriber ids."""

    registered: frozenset[SubscriberId]

    def require_registered(self, subscriber_id: SubscriberId) -> None:
        if subscriber_id not in self.registered:
            raise CustomerNotRegistered(
                f"subscriber {subscriber_id} is not registered: the person registers while "
                "placing the order (R1, R8)",
                rule="R8",
                subscriber=str(subscriber_id),
            )


_NO_MONEY = Money.zero()


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

    @classmethod
    def of(cls, product: str, quantity: int = 1) -> OrderItem:
        """``OrderItem.of("kep-issue", 2)``: an item from the product's code."""
        return cls(ProductCode(product), quantity)


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    """Money received for the order, identified by the payment system's own id."""

    external_id: str
    amount: Money
    method: PaymentMethod
    received_at: dt.datetime
    surplus: Money = _NO_MONEY
    """The part of ``amount`` credited to the personal account instead of the order (R14)."""

    def __post_init__(self) -> None:
        if self.surplus.is_negative or self.surplus > self.amount:
            raise InvalidOrder(
                f"payment {self.external_id}: surplus {self.surplus} is not within the amount "
                f"{self.amount}",
                rule="R9",
            )

    @property
    def applied(self) -> Money:
        """The part of ``amount`` that pays the order."""
        return self.amount - self.surplus


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
    refunded: Money = _NO_MONEY
    """Money refunded to the client from this order (granted requests, approved claims)."""
    released: Money = _NO_MONEY
    """Money of this order returned to the personal account when it was cancelled."""
    services_delivered_at: dt.datetime | None = None
    """When the order's non-certificate lines (licence serial numbers, subscriptions, other
    services) were delivered: access granted (:func:`deliver_services`)."""

    @property
    def total(self) -> Money:
        """The amount due, fixed when the order was placed (zero for a draft)."""
        return total(line.total for line in self.lines)

    @property
    def vat_total(self) -> Money:
        return total(line.vat_amount for line in self.lines)

    @property
    def amount_received(self) -> Money:
        """Everything received for this order, surplus included (what the payers sent)."""
        return total(r.amount for r in self.receipts)

    @property
    def amount_applied(self) -> Money:
        """Money that paid this order (never above its total); surplus went to the account."""
        return total(r.applied for r in self.receipts)

    @property
    def amount_held(self) -> Money:
        """Money this order holds now: applied, less refunded and released to the account."""
        return self.amount_applied - self.refunded - self.released

    @property
    def outstanding(self) -> Money:
        """What remains to pay (never below zero); nothing on a cancelled order, which takes no
        more payments (money sent to it is surplus for the personal account, R14)."""
        if self.state is OrderState.CANCELLED:
            return Money.zero()
        rest = self.total - self.amount_applied
        return Money.zero() if rest.is_negative else rest

    @property
    def fulfilment_started_at(self) -> dt.datetime | None:
        """When the first service of the order was delivered (None: nothing delivered yet)."""
        for step in self.history:
            if step.target is OrderState.IN_FULFILMENT:
                return step.at
        return None

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
    order: Order,
    catalogue: Catalogue,
    at: dt.datetime,
    customers: CustomerCheck,
    *,
    zone: dt.tzinfo = MOSCOW,
) -> Order:
    """Place a draft of a registered customer (R3, R8): prices in force on the business day of
    ``at`` in ``zone`` fixed on the order (R11), then AWAITING_PAYMENT — or PAID straight away
    when discounts leave nothing to pay."""
    require_aware("at", at)
    if order.state is not OrderState.DRAFT:
        raise IllegalTransition(
            f"order {order.id} is {order.state.value}; only a draft is placed", rule="R8"
        )
    customers.require_registered(order.customer)
    day = business_day(at, zone)
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
    if order.state is OrderState.AWAITING_PAYMENT and receipt.applied > order.outstanding:
        raise InvalidOrder(
            f"payment {receipt.external_id} applies {receipt.applied} to order {order.id}, "
            f"which has only {order.outstanding} outstanding: the rest is surplus (R9)",
            rule="R9",
        )
    if order.state is not OrderState.AWAITING_PAYMENT and receipt.applied.is_positive:
        raise InvalidOrder(
            f"order {order.id} is {order.state.value}: payment {receipt.external_id} applies "
            "nothing to it, all of it is surplus (R9)",
            rule="R9",
        )
    updated = replace(order, receipts=(*order.receipts, receipt))
    if order.state is OrderState.AWAITING_PAYMENT and updated.outstanding.is_zero:
        return _move(
            updated,
            OrderState.PAID,
            receipt.received_at,
            f"paid in full ({updated.amount_applied} of {updated.total}) (R9)",
        )
    return updated


def start_fulfilment(order: Order, at: dt.datetime) -> Order:
    """The first service of a paid order was delivered (a certificate issued, access granted)."""
    return _move(order, OrderState.IN_FULFILMENT, at, "fulfilment started (R10)")


def deliver_services(order: Order, at: dt.datetime) -> Order:
    """The order's non-certificate lines were delivered: the licence serial number handed over,
    the subscription or service access granted (R10). Starts fulfilment if it had not started.
    Completing the order is the caller's next step (:func:`~atlas_ca.domain.entitlements.
    fulfilment_complete`)."""
    require_aware("at", at)
    if order.services_delivered_at is not None:
        return order
    started = start_fulfilment(order, at) if order.state is OrderState.PAID else order
    if started.state is not OrderState.IN_FULFILMENT:
        raise IllegalTransition(
            f"order {order.id} is {order.state.value}; services are delivered after payment "
            "and before completion (R10)",
            rule="R10",
            order=str(order.id),
        )
    return replace(started, services_delivered_at=at)


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
    """Cancel an order not yet completed: its entitlement ends. The money it holds is released
    to the personal account by the caller (:func:`~atlas_ca.domain.payments.cancel_and_release`),
    where it stays refundable (R16)."""
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

"""Refunds (R15–R18): a written request, what is refundable, claims, and the deadline.

* **R15** — no refund without a written request (:class:`RefundRequest`: date and channel).
* **R16** — refundable: the unused balance of the personal account; money paid for an order
  nothing of which was delivered when the request arrived. A granted order refund ends the
  order's entitlement: the caller cancels it and releases what it still holds to the account.
* **R17** — money for an order whose services were received is not refundable: a request about
  an order delivered (fully — COMPLETED — or in part: fulfilment started, a certificate
  issued) on or before the day the request was received is a :class:`Claim`, decided by a
  person (approve all or part, or deny, with a reason). The seed speaks of «выполненным заказам
  (полученным услугам)» (line 134): a service received is the test, so a partly delivered
  order is a claim too, never an automatic refund of services already received.
* **R18** — the refund is due within 30 working days (Russian production calendar) from the
  day the request was received; for a claim, from the day it was decided. A deadline that
  touches a year without a known transfer decree says so (``deadline.provisional``).

A request carries the business day it was received (``received_on``: the date on the written
request's registration stamp, e.g. a letter that arrived days before it was entered), and the
moment it was entered (``received_at``). Days are business days in the business time zone
(:mod:`atlas_ca.domain.business_time`). The money an order holds, what was refunded from it and
what was released to the account are on the order itself (:attr:`Order.amount_held`).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from atlas_ca.domain.account import PersonalAccount, refund_from_balance, require_aware
from atlas_ca.domain.business_time import MOSCOW, business_day
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, require_positive
from atlas_ca.domain.orders import Order, OrderState
from atlas_ca.domain.sellers import SellerCode
from atlas_ca.domain.workdays import (
    RUSSIA,
    ProductionCalendar,
    WorkingDayDeadline,
    add_working_days,
)

#: R18: the refund term, in working days.
REFUND_TERM_WORKING_DAYS = 30


class RefundRefused(BillingError):
    """A refund rule (R15–R18) refuses the request."""


class InvalidClaimDecision(RefundRefused, InvalidBillingInput):
    """A claim decision that contradicts itself or the claim."""


class RequestChannel(enum.Enum):
    """How the written request arrived (R15)."""

    PAPER_AT_OFFICE = "paper_at_office"  # заявление в офисе
    POST = "post"  # почтой
    SIGNED_EMAIL = "signed_email"  # электронное письмо, подписанное ЭП
    DIGITAL_PROFILE = "digital_profile"  # письменное обращение в Цифровом профиле


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """The client's written request for a refund (R15).

    ``order_id`` None asks for the unused balance of the personal account; ``amount`` None asks
    for everything refundable.
    """

    request_id: str
    subscriber: SubscriberId
    received_at: dt.datetime
    channel: RequestChannel
    order_id: OrderId | None = None
    amount: Money | None = None
    received_on: dt.date | None = None
    """The business day the written request was received (R15 cut-off, R18 start); None: the
    business day of ``received_at`` in Moscow time."""

    def __post_init__(self) -> None:
        if self.received_on is not None and (
            not isinstance(self.received_on, dt.date) or isinstance(self.received_on, dt.datetime)
        ):
            raise TypeError("RefundRequest.received_on must be a date")
        if not isinstance(self.request_id, str) or not self.request_id.strip():
            raise InvalidBillingInput(
                "a refund request carries its registration id (R15)", rule="R15"
            )
        require_aware("received_at", self.received_at)
        if not isinstance(self.channel, RequestChannel):
            raise TypeError("RefundRequest.channel must be a RequestChannel")
        if self.amount is not None and not self.amount.is_positive:
            raise InvalidBillingInput(
                f"a refund request asks for an amount above zero, got {self.amount}", rule="R15"
            )

    @property
    def day(self) -> dt.date:
        """The business day the request was received."""
        if self.received_on is not None:
            return self.received_on
        return business_day(self.received_at, MOSCOW)


class RefundSource(enum.Enum):
    BALANCE = "balance"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class RefundDecision:
    """A granted refund: how much, from what, under which rule, and by when (R18)."""

    request_id: str
    source: RefundSource
    order_id: OrderId | None
    amount: Money
    refundable: Money
    rule: str
    explanation: str
    deadline: WorkingDayDeadline


class ClaimStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Claim:
    """A request about a completed order (R17): decided individually by a person."""

    request: RefundRequest
    order_id: OrderId
    paid: Money  # applied to the order and not released (surplus went to the personal account)
    refunded_before: Money
    delivered_at: dt.datetime
    """When the order's services were first received (fulfilment started, or completed)."""
    completed: bool
    """True if the order was completed at the request; False if delivered in part."""
    rule: str = "R17"
    status: ClaimStatus = ClaimStatus.PENDING
    approved: Money | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    deadline: WorkingDayDeadline | None = None

    @property
    def explanation(self) -> str:
        how = "completed" if self.completed else "delivered in part"
        return (
            f"order {self.order_id} was {how} (first delivery {self.delivered_at.isoformat()}) "
            f"by the request of {self.request.day}: money for services received is not "
            "refundable (R17); the request is a claim, decided individually by a person"
        )

    @property
    def ceiling(self) -> Money:
        """The most a decision may approve: paid for the order less earlier refunds."""
        return self.paid - self.refunded_before


def require_written_request(request: RefundRequest | None) -> RefundRequest:
    """R15: no written request, no refund."""
    if request is None:
        raise RefundRefused(
            "a refund is made only on the client's written request (R15); none was given",
            rule="R15",
        )
    if not isinstance(request, RefundRequest):
        raise TypeError(f"request must be a RefundRequest, not {type(request).__name__}")
    return request


def refund_deadline(start: dt.date, calendar: ProductionCalendar = RUSSIA) -> WorkingDayDeadline:
    """R18: 30 working days from ``start`` (the request day, or the claim decision day)."""
    return add_working_days(start, REFUND_TERM_WORKING_DAYS, calendar)


def _amount_to_grant(request: RefundRequest, refundable: Money, what: str, rule: str) -> Money:
    if not refundable.is_positive:
        raise RefundRefused(
            f"request {request.request_id}: nothing is refundable from {what} ({rule})",
            rule=rule,
        )
    if request.amount is None:
        return refundable
    if request.amount > refundable:
        raise RefundRefused(
            f"request {request.request_id} asks for {request.amount}, but only {refundable} "
            f"is refundable from {what} ({rule})",
            rule=rule,
            requested=str(request.amount.amount),
            refundable=str(refundable.amount),
        )
    return request.amount


def assess_balance_refund(
    request: RefundRequest | None,
    account: PersonalAccount,
    calendar: ProductionCalendar = RUSSIA,
) -> RefundDecision:
    """R16: the unused balance of the personal account is refundable, within R18's term."""
    req = require_written_request(request)
    if req.order_id is not None:
        raise RefundRefused(
            f"request {req.request_id} names order {req.order_id}; use assess_order_refund",
            rule="R16",
        )
    if account.owner != req.subscriber:
        raise RefundRefused(
            f"request {req.request_id} of {req.subscriber} cannot draw on the personal account "
            f"of {account.owner} (R16)",
            rule="R16",
        )
    refundable = account.balance
    amount = _amount_to_grant(req, refundable, "the personal account balance", "R16")
    return RefundDecision(
        request_id=req.request_id,
        source=RefundSource.BALANCE,
        order_id=None,
        amount=amount,
        refundable=refundable,
        rule="R16",
        explanation=(
            f"{amount} of the unused balance {refundable} is refundable (R16); due within "
            f"{REFUND_TERM_WORKING_DAYS} working days of the request (R18)"
        ),
        deadline=refund_deadline(req.day, calendar),
    )


def assess_order_refund(
    request: RefundRequest | None,
    order: Order,
    calendar: ProductionCalendar = RUSSIA,
    *,
    zone: dt.tzinfo = MOSCOW,
) -> RefundDecision | Claim:
    """R16/R17: refund the money an order holds if nothing of it was delivered by the day the
    request was received; otherwise the request is a :class:`Claim` decided by a person.

    What the order holds is on the order (:attr:`Order.amount_held`: applied, less refunded,
    less released to the account by a cancellation). ``zone`` is the business time zone of the
    delivery day compared with the request's day.
    """
    req = require_written_request(request)
    if req.order_id != order.id:
        raise RefundRefused(
            f"request {req.request_id} is about order {req.order_id}, not {order.id}",
            rule="R16",
        )
    if req.subscriber != order.customer:
        raise RefundRefused(
            f"request {req.request_id} of {req.subscriber} is not from the customer of order "
            f"{order.id} (R15)",
            rule="R15",
        )
    delivered_at = order.fulfilment_started_at or order.completed_at
    if delivered_at is not None and business_day(delivered_at, zone) <= req.day:
        return Claim(
            req,
            order.id,
            order.amount_applied - order.released,
            order.refunded,
            delivered_at,
            order.state is OrderState.COMPLETED,
        )
    refundable = order.amount_held
    what = f"order {order.id}"
    if order.state is OrderState.CANCELLED:
        what += " (cancelled: its money was released to the personal account, ask for that)"
    amount = _amount_to_grant(req, refundable, what, "R16")
    return RefundDecision(
        request_id=req.request_id,
        source=RefundSource.ORDER,
        order_id=order.id,
        amount=amount,
        refundable=refundable,
        rule="R16",
        explanation=(
            f"nothing of order {order.id} was delivered by the request of {req.day}: {amount} "
            f"of the {refundable} it holds is refundable (R16); the order is cancelled and any "
            f"rest returns to the personal account; due within {REFUND_TERM_WORKING_DAYS} "
            "working days of the request (R18)"
        ),
        deadline=refund_deadline(req.day, calendar),
    )


def record_order_refund(order: Order, amount: Money) -> Order:
    """``order`` with ``amount`` refunded from the money it holds (a granted request or an
    approved claim); never more than it holds, so a refund is never granted twice."""
    require_positive(amount, "a refund", rule="R16")
    if amount > order.amount_held:
        raise RefundRefused(
            f"order {order.id} holds {order.amount_held}; {amount} cannot be refunded from it",
            rule="R16",
            held=str(order.amount_held.amount),
            requested=str(amount.amount),
        )
    return replace(order, refunded=order.refunded + amount)


def pay_out_balance_refund(
    account: PersonalAccount, decision: RefundDecision, at: dt.datetime
) -> PersonalAccount:
    """Debit a granted balance refund (R16) from what each legal entity holds (R12), in the
    order of :class:`~atlas_ca.domain.sellers.SellerCode`; entry ids ``<request>:<seller>``."""
    if decision.source is not RefundSource.BALANCE:
        raise RefundRefused(f"refund {decision.request_id} is not from the balance", rule="R16")
    rest = decision.amount
    for code in SellerCode:
        if not rest.is_positive:
            break
        held = account.balance_at(code)
        part = min(held, rest)
        if part.is_positive:
            account = refund_from_balance(
                account,
                f"{decision.request_id}:{code.value}",
                part,
                at,
                f"refund of request {decision.request_id} (R16)",
                holder=code,
            )
            rest = rest - part
    if rest.is_positive:
        raise RefundRefused(
            f"refund {decision.request_id} asks {decision.amount}; the account holds less",
            rule="R16",
        )
    return account


def decide_claim(
    claim: Claim,
    *,
    approved: Money | None,
    reason: str,
    decided_at: dt.datetime,
    decided_by: str,
    calendar: ProductionCalendar = RUSSIA,
    zone: dt.tzinfo = MOSCOW,
) -> Claim:
    """A person decides a claim (R17): ``approved`` None denies; an amount approves it.

    An approval is due within 30 working days of the decision's business day in ``zone`` (R18).
    """
    require_aware("decided_at", decided_at)
    if claim.status is not ClaimStatus.PENDING:
        raise InvalidClaimDecision(
            f"claim of request {claim.request.request_id} is already {claim.status.value}",
            rule="R17",
        )
    if not reason.strip() or not decided_by.strip():
        raise InvalidClaimDecision("a claim decision names who decided and why (R17)", rule="R17")
    if decided_at < claim.request.received_at:
        raise InvalidClaimDecision(
            "a claim cannot be decided before the request arrived (R17)", rule="R17"
        )
    if approved is None:
        return replace(
            claim,
            status=ClaimStatus.DENIED,
            approved=Money.zero(),
            reason=reason,
            decided_at=decided_at,
            decided_by=decided_by,
        )
    if not approved.is_positive:
        raise InvalidClaimDecision(
            f"an approval grants an amount above zero, got {approved}; deny instead (R17)",
            rule="R17",
        )
    if approved > claim.ceiling:
        raise InvalidClaimDecision(
            f"approval of {approved} exceeds what was paid for order {claim.order_id} and not "
            f"refunded ({claim.ceiling}) (R17)",
            rule="R17",
        )
    return replace(
        claim,
        status=ClaimStatus.APPROVED,
        approved=approved,
        reason=reason,
        decided_at=decided_at,
        decided_by=decided_by,
        deadline=refund_deadline(business_day(decided_at, zone), calendar),
    )

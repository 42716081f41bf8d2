"""Refunds (R15–R18): a written request, what is refundable, claims, and the deadline.

* **R15** — no refund without a written request (:class:`RefundRequest`: date and channel).
* **R16** — refundable: the unused balance of the personal account; money paid for an order
  whose fulfilment was not completed when the request arrived.
* **R17** — money for an order completed before the request is not refundable; the request
  becomes a :class:`Claim`, decided by a person (approve all or part, or deny, with a reason).
* **R18** — the refund is due within 30 working days (Russian production calendar) from the
  request; for a claim, from the day it was decided. A deadline that touches a year without a
  known transfer decree says so (``deadline.provisional``).

A request's day is the date of ``received_at`` in its own time zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from atlas_ca.domain.account import PersonalAccount, require_aware
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money
from atlas_ca.domain.orders import Order, OrderState
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

    def __post_init__(self) -> None:
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
        return self.received_at.date()


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
    paid: Money  # applied to the order (surplus went to the personal account)
    refunded_before: Money
    completed_at: dt.datetime
    rule: str = "R17"
    status: ClaimStatus = ClaimStatus.PENDING
    approved: Money | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    deadline: WorkingDayDeadline | None = None

    @property
    def explanation(self) -> str:
        return (
            f"order {self.order_id} was completed on {self.completed_at.date()} before the "
            f"request of {self.request.day}: its money is not refundable (R17); the request is a "
            "claim, decided individually"
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
    refunded_before: Money,
    calendar: ProductionCalendar = RUSSIA,
) -> RefundDecision | Claim:
    """R16/R17: refund money paid for an order not completed at the request, else a claim.

    ``refunded_before`` is what was already refunded for this order (the caller's register).
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
    if refunded_before.is_negative:
        raise InvalidBillingInput("refunded_before must not be negative")
    paid = order.amount_applied
    if refunded_before > paid:
        raise InvalidBillingInput(
            f"order {order.id}: refunded before ({refunded_before}) exceeds paid ({paid})"
        )
    completed_at = order.completed_at
    if (
        order.state is OrderState.COMPLETED
        and completed_at is not None
        and completed_at <= req.received_at
    ):
        return Claim(req, order.id, paid, refunded_before, completed_at)
    refundable = paid - refunded_before
    amount = _amount_to_grant(req, refundable, f"order {order.id}", "R16")
    status = (
        "completed after the request"
        if order.state is OrderState.COMPLETED
        else f"{order.state.value} at the request"
    )
    return RefundDecision(
        request_id=req.request_id,
        source=RefundSource.ORDER,
        order_id=order.id,
        amount=amount,
        refundable=refundable,
        rule="R16",
        explanation=(
            f"order {order.id} was {status}: {amount} of {refundable} paid and not yet refunded "
            f"is refundable (R16); due within {REFUND_TERM_WORKING_DAYS} working days of the "
            "request (R18)"
        ),
        deadline=refund_deadline(req.day, calendar),
    )


def decide_claim(
    claim: Claim,
    *,
    approved: Money | None,
    reason: str,
    decided_at: dt.datetime,
    decided_by: str,
    calendar: ProductionCalendar = RUSSIA,
) -> Claim:
    """A person decides a claim (R17): ``approved`` None denies; an amount approves it.

    An approval is due within 30 working days of the decision day (R18).
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
        deadline=refund_deadline(decided_at.date(), calendar),
    )

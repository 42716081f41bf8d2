"""R15–R18: written requests, what is refundable, claims, and the 30-working-day deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.account import open_account, top_up
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import (
    Order,
    PaymentReceipt,
    complete_order,
    record_receipt,
    start_fulfilment,
)
from atlas_ca.domain.payments import PaymentNotification, apply_payment_notification
from atlas_ca.domain.refunds import (
    Claim,
    ClaimStatus,
    InvalidClaimDecision,
    RefundDecision,
    RefundRefused,
    RefundRequest,
    RefundSource,
    RequestChannel,
    assess_balance_refund,
    assess_order_refund,
    decide_claim,
    refund_deadline,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.workdays import RUSSIA, working_days_between
from support.billing_samples import ALICE, BOB, at, placed_order, rub


def request(
    received: dt.datetime,
    *,
    order: str | None = "ord-1",
    amount: Money | None = None,
    who: SubscriberId = ALICE,
) -> RefundRequest:
    return RefundRequest(
        "req-1",
        who,
        received,
        RequestChannel.PAPER_AT_OFFICE,
        OrderId(order) if order else None,
        amount,
    )


def paid_order(amount: str = "3600.00") -> Order:
    receipt = PaymentReceipt("p1", rub(amount), PaymentMethod.BANK_CARD, at(2026, 3, 11))
    return record_receipt(placed_order(), receipt)


def completed_order() -> Order:
    return complete_order(start_fulfilment(paid_order(), at(2026, 3, 12)), at(2026, 3, 13))


def test_R15_no_written_request_no_refund() -> None:
    with pytest.raises(RefundRefused, match="R15") as info:
        assess_order_refund(None, paid_order())
    assert info.value.rule == "R15"
    with pytest.raises(RefundRefused, match="R15"):
        assess_balance_refund(None, open_account(ALICE))


def test_R15_the_request_comes_from_the_orders_customer() -> None:
    with pytest.raises(RefundRefused, match="R15"):
        assess_order_refund(request(at(2026, 3, 12), who=BOB), paid_order())


def test_R16_the_unused_balance_is_refundable() -> None:
    account = top_up(
        open_account(ALICE),
        "t1",
        rub("700.00"),
        at(2026, 3, 1),
        "пополнение",
        holder=SellerCode.SERVER_CENTR,
        method=PaymentMethod.BANK_TRANSFER,
    )
    decision = assess_balance_refund(request(at(2026, 3, 2), order=None), account)
    assert decision.source is RefundSource.BALANCE
    assert decision.amount == rub("700.00")
    assert decision.rule == "R16"
    too_much = request(at(2026, 3, 2), order=None, amount=rub("700.01"))
    with pytest.raises(RefundRefused, match=r"only 700\.00"):
        assess_balance_refund(too_much, account)
    with pytest.raises(RefundRefused, match="nothing is refundable"):
        assess_balance_refund(request(at(2026, 3, 2), order=None), open_account(ALICE))


def test_R16_money_for_an_order_not_completed_at_the_request_is_refundable() -> None:
    decision = assess_order_refund(request(at(2026, 3, 12)), paid_order())
    assert isinstance(decision, RefundDecision)
    assert decision.amount == rub("3600.00")
    assert decision.source is RefundSource.ORDER
    partly_refunded = replace(paid_order(), refunded=rub("600.00"))
    again = assess_order_refund(request(at(2026, 3, 13)), partly_refunded)
    assert isinstance(again, RefundDecision)
    assert again.amount == rub("3000.00")


def test_R16_an_order_delivered_after_the_day_of_the_request_is_still_refundable() -> None:
    """Delivery began on 12 March; a letter received on 11 March asked before any delivery."""
    decision = assess_order_refund(request(at(2026, 3, 11, 18)), completed_order())
    assert isinstance(decision, RefundDecision)
    assert "nothing of order ord-1 was delivered by the request of 2026-03-11" in (
        decision.explanation
    )


def test_R17_a_request_received_on_the_day_of_the_first_delivery_is_a_claim() -> None:
    partly = start_fulfilment(paid_order(), at(2026, 3, 12))
    claim = assess_order_refund(request(at(2026, 3, 12, 18)), partly)
    assert isinstance(claim, Claim)
    assert not claim.completed
    assert "delivered in part" in claim.explanation


def test_R17_money_for_an_order_completed_before_the_request_becomes_a_claim() -> None:
    claim = assess_order_refund(request(at(2026, 3, 20)), completed_order())
    assert isinstance(claim, Claim)
    assert claim.status is ClaimStatus.PENDING
    assert claim.rule == "R17"
    assert "not refundable (R17)" in claim.explanation


def test_R17_a_claim_is_decided_by_a_person_with_a_reason() -> None:
    claim = assess_order_refund(request(at(2026, 3, 20)), completed_order())
    assert isinstance(claim, Claim)
    denied = decide_claim(
        claim, approved=None, reason="услуга оказана", decided_at=at(2026, 3, 25), decided_by="m1"
    )
    assert denied.status is ClaimStatus.DENIED
    assert denied.deadline is None
    partial = decide_claim(
        claim, approved=rub("1000.00"), reason="сбой", decided_at=at(2026, 3, 25), decided_by="m1"
    )
    assert partial.status is ClaimStatus.APPROVED
    assert partial.approved == rub("1000.00")
    with pytest.raises(InvalidClaimDecision, match="exceeds"):
        decide_claim(
            claim, approved=rub("3600.01"), reason="x", decided_at=at(2026, 3, 25), decided_by="m"
        )
    with pytest.raises(InvalidClaimDecision, match="already"):
        decide_claim(partial, approved=None, reason="x", decided_at=at(2026, 3, 26), decided_by="m")
    with pytest.raises(InvalidClaimDecision, match="who decided"):
        decide_claim(claim, approved=None, reason=" ", decided_at=at(2026, 3, 25), decided_by="m")


def test_R18_a_refund_is_due_within_30_working_days_of_the_request() -> None:
    decision = assess_order_refund(request(at(2026, 4, 28)), paid_order())
    assert isinstance(decision, RefundDecision)
    # May 2026: 1 and 11 May are days off (9 May falls on a Saturday)
    assert decision.deadline.start == dt.date(2026, 4, 28)
    assert decision.deadline.due == dt.date(2026, 6, 11)
    assert working_days_between(dt.date(2026, 4, 28), dt.date(2026, 6, 11)) == 30
    assert not decision.deadline.provisional


def test_R18_a_claim_is_due_30_working_days_from_its_decision() -> None:
    claim = assess_order_refund(request(at(2026, 3, 20)), completed_order())
    assert isinstance(claim, Claim)
    approved = decide_claim(
        claim,
        approved=rub("3600.00"),
        reason="признано",
        decided_at=at(2026, 12, 15),
        decided_by="manager",
    )
    assert approved.deadline is not None
    assert approved.deadline.start == dt.date(2026, 12, 15)
    # 31 Dec 2026 and 1–8 Jan 2027 are days off
    assert approved.deadline.due == dt.date(2027, 2, 4)


def test_R18_a_deadline_in_a_year_without_a_decree_is_marked_provisional() -> None:
    deadline = refund_deadline(dt.date(2027, 12, 10))
    assert deadline.provisional
    assert 2028 in deadline.provisional_years


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**6),
    st.integers(0, 10**6),
    st.one_of(st.none(), st.integers(1, 2 * 10**6)),
    st.dates(min_value=dt.date(2026, 3, 12), max_value=dt.date(2028, 6, 30)),
    st.booleans(),
)
def test_R16_no_refund_exceeds_what_was_paid_for_the_order(
    paid_k: int, before_k: int, asked_k: int | None, day: dt.date, complete: bool
) -> None:
    """Surplus over the order total belongs to the personal account, not to the order."""
    order = apply_payment_notification(
        placed_order(),
        PaymentNotification(
            "p",
            OrderId("ord-1"),
            Money(Decimal(paid_k) / 100),
            PaymentMethod.CHRONOPAY,
            at(2026, 3, 11),
        ),
    ).order
    applied = order.amount_applied
    assert applied == min(order.amount_received, order.total)
    before = min(Money(Decimal(before_k) / 100), applied)
    order = replace(order, refunded=before)
    asked = None if asked_k is None else Money(Decimal(asked_k) / 100)
    if complete and applied == order.total:
        order = complete_order(start_fulfilment(order, at(2026, 3, 11)), at(2026, 3, 11, 12))
    received = dt.datetime.combine(day, dt.time(9), at(2026, 1, 1).tzinfo)
    ask = request(received, amount=asked)
    if order.completed_at is not None:
        claim = assess_order_refund(ask, order)
        assert isinstance(claim, Claim)
        assert claim.ceiling == applied - before
        return
    if applied == before or (asked is not None and asked > applied - before):
        with pytest.raises(RefundRefused, match="R16"):
            assess_order_refund(ask, order)
        return
    result = assess_order_refund(ask, order)
    assert isinstance(result, RefundDecision)
    assert result.amount <= applied - before
    assert result.amount.is_positive
    assert RUSSIA.is_working_day(result.deadline.due)
    assert working_days_between(day, result.deadline.due) == 30


@settings(max_examples=100)
@given(st.integers(0, 10**7), st.one_of(st.none(), st.integers(1, 2 * 10**7)))
def test_R16_no_refund_exceeds_the_balance(balance_k: int, asked_k: int | None) -> None:
    account = open_account(ALICE)
    if balance_k:
        account = top_up(
            account,
            "t",
            Money(Decimal(balance_k) / 100),
            at(2026, 3, 1),
            "x",
            holder=SellerCode.SERVER_CENTR,
            method=PaymentMethod.BANK_TRANSFER,
        )
    asked = None if asked_k is None else Money(Decimal(asked_k) / 100)
    ask = request(at(2026, 3, 2), order=None, amount=asked)
    if balance_k == 0 or (asked_k is not None and asked_k > balance_k):
        with pytest.raises(RefundRefused, match="R16"):
            assess_balance_refund(ask, account)
        return
    decision = assess_balance_refund(ask, account)
    assert decision.amount <= account.balance
    assert decision.amount == (account.balance if asked is None else asked)

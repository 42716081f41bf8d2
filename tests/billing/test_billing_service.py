"""The billing service over real record stores (SQLite and PostgreSQL): the defects of issue 12
as named tests, the seed's journeys through the library, and business time around midnight."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atlas_ca.domain.account import EntryKind, InsufficientBalance
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.orders import (
    ActivationKind,
    ActivationTarget,
    CustomerNotRegistered,
    InvalidOrder,
)
from atlas_ca.domain.refunds import InvalidClaimDecision, RefundRefused
from atlas_ca.domain.sellers import PaymentRefused
from atlas_ca.domain.subscribers import NotVerified
from atlas_ca.errors import InvalidInput, OrderExhausted, OrderNotPaid
from atlas_ca.services.billing import (
    Claim,
    ClaimStatus,
    EntryPoint,
    Money,
    OrderItem,
    PaymentMethod,
    RefundDecision,
    RequestChannel,
    SellerCode,
)
from support.billing_env import KEP, LICENCE, NEWCOMER, OTHER, SERVICE, SUBSCRIPTION, VERIFIED, Desk
from support.billing_steps import issue_one

CARD = PaymentMethod.BANK_CARD
POST = RequestChannel.POST


def rub(text: str) -> Money:
    return Money(Decimal(text))


def kep_order(desk: Desk, order_id: str, quantity: int = 1, **kw: object) -> None:
    desk.billing.create_order(order_id, VERIFIED, [OrderItem(KEP, quantity)], **kw)  # type: ignore[arg-type]


def test_an_overpayment_of_400_reaches_the_personal_account_and_is_not_lost(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    got = desk.billing.notify_payment("ord-1", "sber-1", rub("4000.00"), PaymentMethod.SBERBANK)
    assert got.outcome.surplus == rub("400.00")
    assert "overpayment 400.00 ₽ goes to the personal account" in got.outcome.explanation
    account = desk.billing.account(VERIFIED)
    assert account.balance == rub("400.00")
    (entry,) = account.entries
    assert entry.kind is EntryKind.OVERPAYMENT
    assert entry.entry_id == "sber-1"
    assert entry.seller is SellerCode.SERVER_CENTR
    order = desk.billing.order("ord-1")
    assert order.amount_applied == rub("3600.00")
    assert order.amount_received == rub("4000.00")
    assert desk.billing.money_totals().balanced


def test_surplus_is_counted_once_3600_received_is_3600_not_6200(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("1000.00"), CARD)
    cancelled = desk.billing.cancel("ord-1", "клиент передумал")
    assert cancelled.released == rub("1000.00")
    desk.billing.notify_payment("ord-1", "p-2", rub("2600.00"), CARD)
    order = desk.billing.order("ord-1")
    assert order.amount_held == Money.zero()
    account = desk.billing.account(VERIFIED)
    assert account.balance == rub("3600.00")
    totals = desk.billing.money_totals()
    assert totals.received == rub("3600.00")
    assert totals.held_on_orders + totals.held_on_accounts == rub("3600.00")
    with pytest.raises(RefundRefused, match="nothing is refundable"):
        desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    refund = desk.billing.request_refund("zv-2", channel=POST, subscriber=VERIFIED)
    assert isinstance(refund.result, RefundDecision)
    assert refund.result.amount == rub("3600.00")
    assert desk.billing.money_totals().balanced


def test_a_repeated_notification_credits_nothing_again(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    for _ in range(3):
        got = desk.billing.notify_payment(
            "ord-1", "chrono-9", rub("5000.00"), PaymentMethod.CHRONOPAY
        )
    assert got.outcome.status.value == "duplicate"
    assert desk.billing.account(VERIFIED).balance == rub("1400.00")
    assert desk.billing.money_totals().received == rub("5000.00")


def test_R13_a_cash_top_up_is_taken_only_by_server_centr(desk: Desk) -> None:
    with pytest.raises(PaymentRefused, match="R13"):
        desk.billing.top_up(
            VERIFIED,
            "kassa-1",
            rub("5000.00"),
            seller=SellerCode.ATLAS_2,
            method=PaymentMethod.CASH,
        )
    assert desk.billing.account(VERIFIED).entries == ()


def test_R13_cash_on_the_account_cannot_pay_an_order_of_atlas_2(desk: Desk) -> None:
    desk.billing.top_up(
        VERIFIED,
        "kassa-1",
        rub("5000.00"),
        seller=SellerCode.SERVER_CENTR,
        method=PaymentMethod.CASH,
    )
    kep_order(desk, "ord-a2", seller=SellerCode.ATLAS_2, method=PaymentMethod.ACCOUNT_BALANCE)
    with pytest.raises(InsufficientBalance, match='АО "Атлас-2"'):
        desk.billing.pay_from_balance("ord-a2")
    assert desk.billing.order("ord-a2").state.value == "awaiting_payment"
    # the same money pays what АО "Сервер-Центр" sells
    kep_order(desk, "ord-sc", method=PaymentMethod.ACCOUNT_BALANCE)
    paid = desk.billing.pay_from_balance("ord-sc")
    assert paid.order.state.value == "paid"
    assert paid.account.balance_at(SellerCode.SERVER_CENTR) == rub("1400.00")
    assert desk.billing.money_totals().balanced


def test_R9_an_atlas_2_order_is_paid_from_money_atlas_2_received(desk: Desk) -> None:
    desk.billing.top_up(
        VERIFIED,
        "a2-1",
        rub("4000.00"),
        seller=SellerCode.ATLAS_2,
        method=PaymentMethod.BANK_TRANSFER,
    )
    kep_order(desk, "ord-a2", seller=SellerCode.ATLAS_2, method=PaymentMethod.ACCOUNT_BALANCE)
    paid = desk.billing.pay_from_balance("ord-a2")
    assert paid.account.balances() == {
        SellerCode.SERVER_CENTR: Money.zero(),
        SellerCode.ATLAS_2: rub("400.00"),
    }


def test_R17_a_refund_request_after_both_certificates_were_issued_is_a_claim(desk: Desk) -> None:
    kep_order(desk, "ord-1", 2)
    desk.billing.notify_payment("ord-1", "p-1", rub("7200.00"), CARD)
    assert issue_one(desk, "ord-1").state.value == "in_fulfilment"
    assert issue_one(desk, "ord-1").state.value == "completed"
    outcome = desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    assert isinstance(outcome.result, Claim)
    assert outcome.result.status is ClaimStatus.PENDING
    assert outcome.result.rule == "R17"
    assert outcome.order is None  # nothing was refunded or changed
    assert desk.billing.money_totals().refunded == Money.zero()


def test_R17_a_request_after_the_first_of_two_certificates_is_a_claim_too(desk: Desk) -> None:
    kep_order(desk, "ord-1", 2)
    desk.billing.notify_payment("ord-1", "p-1", rub("7200.00"), CARD)
    issue_one(desk, "ord-1")
    outcome = desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    assert isinstance(outcome.result, Claim)
    assert not outcome.result.completed


def test_R16_a_granted_refund_of_an_unused_paid_order_ends_its_entitlement(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    outcome = desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    assert isinstance(outcome.result, RefundDecision)
    assert outcome.result.amount == rub("3600.00")
    assert outcome.order is not None
    assert outcome.order.state.value == "cancelled"
    with pytest.raises(OrderNotPaid, match="cancelled"):
        issue_one(desk, "ord-1")
    assert desk.issued == {}


def test_R16_a_partial_refund_ends_the_order_and_returns_the_rest_to_the_account(
    desk: Desk,
) -> None:
    kep_order(desk, "ord-1", 2)
    desk.billing.notify_payment("ord-1", "p-1", rub("7200.00"), CARD)
    outcome = desk.billing.request_refund(
        "zv-1", channel=POST, order_id="ord-1", amount=rub("1000.00")
    )
    assert outcome.account is not None
    assert outcome.account.balance == rub("6200.00")
    order = desk.billing.order("ord-1")
    assert (order.refunded, order.released, order.amount_held) == (
        rub("1000.00"),
        rub("6200.00"),
        Money.zero(),
    )
    assert desk.billing.money_totals().balanced


def test_R17_an_approved_claim_is_refunded_once_and_never_beyond_the_order(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    issue_one(desk, "ord-1")
    desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    with pytest.raises(InvalidClaimDecision, match="exceeds"):
        desk.billing.decide_claim("zv-1", approved=rub("3600.01"), reason="x", decided_by="ops")
    desk.clock.advance(days=3)
    decided = desk.billing.decide_claim(
        "zv-1", approved=rub("1000.00"), reason="сбой при выпуске", decided_by="ops-3"
    )
    assert isinstance(decided.result, Claim)
    assert decided.result.status is ClaimStatus.APPROVED
    assert decided.result.deadline is not None
    assert decided.result.deadline.start == dt.date(2026, 3, 5)
    assert desk.billing.order("ord-1").refunded == rub("1000.00")
    with pytest.raises(InvalidClaimDecision, match="already approved"):
        desk.billing.decide_claim("zv-1", approved=rub("1.00"), reason="x", decided_by="ops")
    assert desk.billing.money_totals().refunded == rub("1000.00")
    assert desk.billing.money_totals().balanced


def test_R17_a_denied_claim_changes_no_money(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    issue_one(desk, "ord-1")
    desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    denied = desk.billing.decide_claim(
        "zv-1", approved=None, reason="услуга оказана", decided_by="ops-3"
    )
    assert isinstance(denied.result, Claim)
    assert denied.result.status is ClaimStatus.DENIED
    assert desk.billing.money_totals().refunded == Money.zero()


def test_R3_a_registered_person_orders_before_verification(desk: Desk) -> None:
    placed = desk.billing.create_order(
        "ord-n", NEWCOMER, [OrderItem(LICENCE)], entry_point=EntryPoint.SELF_SERVICE_SITE
    )
    assert placed.state.value == "awaiting_payment"
    desk.billing.notify_payment("ord-n", "p-n", rub("1500.00"), CARD)
    with pytest.raises(NotVerified, match="R3"):
        desk.billing.grant_access("ord-n", NEWCOMER)  # fulfilment needs verification
    with pytest.raises(CustomerNotRegistered, match="not registered"):
        desk.billing.create_order("ord-x", "nobody", [OrderItem(KEP)])


def test_R8_an_order_is_placed_on_each_entry_point(desk: Desk) -> None:
    desk.billing.create_order("o-profile", VERIFIED, [OrderItem(KEP)])
    desk.billing.create_order(
        "o-site", VERIFIED, [OrderItem(KEP)], entry_point=EntryPoint.SELF_SERVICE_SITE
    )
    desk.billing.create_order(
        "o-quick",
        VERIFIED,
        [OrderItem(SUBSCRIPTION)],
        entry_point=EntryPoint.IN_PROGRAM_QUICK_PURCHASE,
        activation=ActivationTarget(ActivationKind.ACCOUNT),
    )
    desk.billing.create_order(
        "o-buy", VERIFIED, [OrderItem(LICENCE)], entry_point=EntryPoint.IN_PROGRAM_BUY
    )
    with pytest.raises(InvalidOrder, match="serial numbers"):
        desk.billing.create_order(
            "o-bad", VERIFIED, [OrderItem(KEP)], entry_point=EntryPoint.IN_PROGRAM_BUY
        )
    placed = {
        o: desk.billing.order(o).entry_point for o in ("o-profile", "o-site", "o-quick", "o-buy")
    }
    assert set(placed.values()) == set(EntryPoint)


def test_delivery_of_each_product_kind_completes_the_order(desk: Desk) -> None:
    desk.billing.create_order("o-lic", VERIFIED, [OrderItem(LICENCE), OrderItem(SERVICE)])
    desk.billing.notify_payment("o-lic", "p-1", rub("2000.00"), CARD)
    assert desk.billing.grant_access("o-lic", VERIFIED).state.value == "completed"
    # certificates and a subscription: complete only when both are delivered
    desk.billing.create_order("o-mix", VERIFIED, [OrderItem(KEP), OrderItem(SUBSCRIPTION)])
    desk.billing.notify_payment("o-mix", "p-2", rub("4800.00"), CARD)
    assert issue_one(desk, "o-mix").state.value == "in_fulfilment"
    assert desk.billing.grant_access("o-mix", VERIFIED).state.value == "completed"
    with pytest.raises(OrderExhausted):
        issue_one(desk, "o-mix")
    # access to a person not named in the order is refused
    desk.billing.create_order("o-sub", VERIFIED, [OrderItem(SUBSCRIPTION)])
    desk.billing.notify_payment("o-sub", "p-3", rub("1200.00"), CARD)
    with pytest.raises(InvalidInput, match="not named"):
        desk.billing.grant_access("o-sub", OTHER)


# --- business time ---------------------------------------------------------------------------


def test_the_order_day_is_the_moscow_day_vat_22_from_new_year_at_0030_msk(desk: Desk) -> None:
    """21:30 UTC on 31 December is 00:30 on 1 January in Moscow: the VAT of 2026 (22 %)."""
    desk.clock.at = dt.datetime(2025, 12, 31, 21, 30, tzinfo=dt.UTC)
    placed = desk.billing.create_order("ord-ny", VERIFIED, [OrderItem(KEP)])
    (line,) = placed.lines
    assert line.vat.rate == Decimal(22)
    assert placed.vat_total == rub("649.18")
    desk.clock.at = dt.datetime(2025, 12, 31, 20, 59, tzinfo=dt.UTC)  # 23:59 MSK
    before = desk.billing.create_order("ord-oy", VERIFIED, [OrderItem(KEP)])
    assert before.lines[0].vat.rate == Decimal(20)


def test_the_refund_request_day_defaults_to_today_in_moscow(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    desk.clock.at = dt.datetime(2026, 3, 12, 21, 30, tzinfo=dt.UTC)  # 13 March 00:30 MSK
    outcome = desk.billing.request_refund("zv-1", channel=POST, order_id="ord-1")
    assert isinstance(outcome.result, RefundDecision)
    assert outcome.result.deadline.start == dt.date(2026, 3, 13)


def test_received_on_is_the_day_the_letter_arrived_and_starts_r18(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    desk.clock.advance(days=10)
    with pytest.raises(InvalidInput, match="after today"):
        desk.billing.request_refund(
            "zv-0", channel=POST, order_id="ord-1", received_on=dt.date(2026, 3, 13)
        )
    outcome = desk.billing.request_refund(
        "zv-1", channel=POST, order_id="ord-1", received_on=dt.date(2026, 3, 3)
    )
    assert isinstance(outcome.result, RefundDecision)
    assert outcome.result.deadline.start == dt.date(2026, 3, 3)


def test_a_letter_received_before_the_first_delivery_is_refundable_after_it(desk: Desk) -> None:
    """R16 is judged on the day the written request was received, not the day it was entered."""
    kep_order(desk, "ord-1")
    desk.billing.notify_payment("ord-1", "p-1", rub("3600.00"), CARD)
    desk.clock.advance(days=2)
    issue_one(desk, "ord-1")  # delivered (completed) on 4 March
    outcome = desk.billing.request_refund(
        "zv-1", channel=POST, order_id="ord-1", received_on=dt.date(2026, 3, 3)
    )
    assert isinstance(outcome.result, RefundDecision)
    assert desk.billing.order("ord-1").state.value == "completed"
    assert desk.billing.money_totals().balanced


def test_orders_for_one_id_are_created_once(desk: Desk) -> None:
    kep_order(desk, "ord-1")
    with pytest.raises(InvalidInput, match="already exists"):
        kep_order(desk, "ord-1")
    assert desk.billing.order(OrderId("ord-1")).customer == VERIFIED

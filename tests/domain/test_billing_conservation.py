"""Money is conserved across orders, payments, the personal account and refunds (R9, R14–R16).

Whatever the sequence of top-ups, orders paid by notification (partly, exactly or with a
surplus that goes to the personal account), orders paid from the balance and refunds:

    money received from outside = money held on orders + balance + refunded (orders and balance)

and a refund for an order never exceeds what was applied to it.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.account import (
    InsufficientBalance,
    PersonalAccount,
    open_account,
    top_up,
)
from atlas_ca.domain.money import Money, total
from atlas_ca.domain.orders import Order, OrderState
from atlas_ca.domain.payments import (
    PaymentNotification,
    pay_from_account,
    receive_payment,
)
from atlas_ca.domain.refunds import (
    RefundDecision,
    RefundRefused,
    RefundRequest,
    RequestChannel,
    assess_balance_refund,
    assess_order_refund,
    pay_out_balance_refund,
    record_order_refund,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from support.billing_samples import ALICE, at, placed_order

step = st.one_of(
    st.tuples(st.just("top_up"), st.integers(1, 500_000)),
    st.tuples(st.just("notify"), st.integers(1, 500_000)),
    st.tuples(st.just("pay_balance"), st.just(0)),
    st.tuples(st.just("refund_balance"), st.integers(0, 500_000)),
    st.tuples(st.just("refund_order"), st.integers(0, 500_000)),
)


def kop(n: int) -> Money:
    return Money(Decimal(n) / 100)


@settings(max_examples=120, deadline=None)
@given(st.lists(step, max_size=25))
def test_R14_R16_money_is_conserved_across_orders_payments_and_refunds(
    steps: list[tuple[str, int]],
) -> None:
    moment = at(2026, 3, 10, 12)
    account: PersonalAccount = open_account(ALICE)
    orders: list[Order] = []
    received = Money.zero()
    for n, (op, amount) in enumerate(steps):
        if op == "top_up":
            account = top_up(
                account,
                f"t{n}",
                kop(amount),
                moment,
                "пополнение",
                holder=SellerCode.ATLAS_2,
                method=PaymentMethod.BANK_TRANSFER,
            )
            received = received + kop(amount)
        elif op == "notify":
            open_orders = [o for o in orders if o.state is OrderState.AWAITING_PAYMENT]
            order = open_orders[0] if open_orders else placed_order(f"o{n}")
            note = PaymentNotification(
                f"n{n}", order.id, kop(amount), PaymentMethod.BANK_CARD, moment
            )
            got = receive_payment(order, account, note)
            received = received + kop(amount)
            account = got.account
            orders = [o for o in orders if o.id != order.id] + [got.order]
        elif op == "pay_balance":
            order = placed_order(f"b{n}", method=PaymentMethod.ACCOUNT_BALANCE)
            try:
                result = pay_from_account(order, account, f"p{n}", moment)
            except InsufficientBalance:
                continue
            account = result.account
            orders.append(result.order)
        elif op == "refund_balance":
            ask = RefundRequest(
                f"r{n}",
                ALICE,
                moment,
                RequestChannel.SIGNED_EMAIL,
                None,
                kop(amount) if amount else None,
            )
            try:
                decision = assess_balance_refund(ask, account)
            except RefundRefused:
                continue
            account = pay_out_balance_refund(account, decision, moment)
        elif orders:
            order = orders[n % len(orders)]
            ask = RefundRequest(
                f"q{n}",
                ALICE,
                moment,
                RequestChannel.PAPER_AT_OFFICE,
                order.id,
                kop(amount) if amount else None,
            )
            try:
                result_ = assess_order_refund(ask, order)
            except RefundRefused:
                continue
            assert isinstance(result_, RefundDecision)
            refunded = record_order_refund(order, result_.amount)
            assert refunded.refunded <= order.amount_applied
            orders = [o for o in orders if o.id != order.id] + [refunded]
        held = total(o.amount_held for o in orders)
        refunded_out = total(o.refunded for o in orders) + account.refunded
        assert not account.balance.is_negative
        assert all(not o.amount_held.is_negative for o in orders)
        assert received == held + account.balance + refunded_out

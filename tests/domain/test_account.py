"""R14: the personal account is a ledger that never goes negative; money is conserved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.account import (
    DuplicateEntry,
    EntryKind,
    InsufficientBalance,
    PersonalAccount,
    correct,
    open_account,
    pay_order_from_balance,
    refund_from_balance,
    top_up,
)
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.money import InvalidBillingInput, InvalidMoney, Money
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from support.billing_samples import ALICE, at, rub


def test_R14_the_balance_is_the_sum_of_the_entries() -> None:
    account = top_up(
        open_account(ALICE),
        "e1",
        rub("5000.00"),
        at(2026, 3, 1),
        "пополнение",
        holder=SellerCode.SERVER_CENTR,
        method=PaymentMethod.BANK_TRANSFER,
    )
    account = pay_order_from_balance(
        account, "e2", OrderId("o1"), rub("3600.00"), at(2026, 3, 2), holder=SellerCode.SERVER_CENTR
    )
    assert account.balance == rub("1400.00")
    assert account.paid_for(OrderId("o1")) == rub("3600.00")
    assert [e.kind for e in account.entries] == [EntryKind.TOP_UP, EntryKind.ORDER_PAYMENT]
    assert "o1" in account.entries[1].reason


def test_R14_the_balance_never_goes_negative() -> None:
    account = top_up(
        open_account(ALICE),
        "e1",
        rub("100.00"),
        at(2026, 3, 1),
        "пополнение",
        holder=SellerCode.SERVER_CENTR,
        method=PaymentMethod.BANK_TRANSFER,
    )
    with pytest.raises(InsufficientBalance, match="R14") as info:
        pay_order_from_balance(
            account,
            "e2",
            OrderId("o1"),
            rub("100.01"),
            at(2026, 3, 2),
            holder=SellerCode.SERVER_CENTR,
        )
    assert info.value.context["balance"] == "100.00"
    with pytest.raises(InsufficientBalance):
        correct(
            account,
            "e3",
            rub("-100.01"),
            at(2026, 3, 2),
            "ошибка зачисления",
            holder=SellerCode.SERVER_CENTR,
        )
    assert correct(
        account, "e3", rub("-100.00"), at(2026, 3, 2), "ошибка", holder=SellerCode.SERVER_CENTR
    ).balance.is_zero


def test_R14_every_entry_has_a_reason_and_a_unique_id() -> None:
    account = top_up(
        open_account(ALICE),
        "e1",
        rub("100.00"),
        at(2026, 3, 1),
        "пополнение",
        holder=SellerCode.SERVER_CENTR,
        method=PaymentMethod.BANK_TRANSFER,
    )
    with pytest.raises(DuplicateEntry, match="e1"):
        top_up(
            account,
            "e1",
            rub("100.00"),
            at(2026, 3, 1),
            "повтор",
            holder=SellerCode.SERVER_CENTR,
            method=PaymentMethod.BANK_TRANSFER,
        )
    with pytest.raises(InvalidBillingInput, match="reason"):
        correct(account, "e2", rub("1.00"), at(2026, 3, 1), "  ", holder=SellerCode.SERVER_CENTR)


def test_R14_amounts_must_be_positive_where_a_direction_is_implied() -> None:
    with pytest.raises(InvalidMoney):
        top_up(
            open_account(ALICE),
            "e1",
            rub("0.00"),
            at(2026, 3, 1),
            "x",
            holder=SellerCode.SERVER_CENTR,
            method=PaymentMethod.BANK_TRANSFER,
        )
    with pytest.raises(InvalidMoney):
        refund_from_balance(
            open_account(ALICE),
            "e1",
            rub("-5.00"),
            at(2026, 3, 1),
            "x",
            holder=SellerCode.SERVER_CENTR,
        )


def test_R14_the_ledger_is_append_only_in_time() -> None:
    account = top_up(
        open_account(ALICE),
        "e1",
        rub("100.00"),
        at(2026, 3, 2),
        "x",
        holder=SellerCode.SERVER_CENTR,
        method=PaymentMethod.BANK_TRANSFER,
    )
    with pytest.raises(InvalidBillingInput, match="append-only"):
        top_up(
            account,
            "e2",
            rub("100.00"),
            at(2026, 3, 1),
            "x",
            holder=SellerCode.SERVER_CENTR,
            method=PaymentMethod.BANK_TRANSFER,
        )


ops = st.lists(
    st.tuples(
        st.sampled_from(["top_up", "pay", "refund", "correct"]), st.integers(-(10**6), 10**7)
    ),
    max_size=30,
)


@settings(max_examples=200)
@given(ops)
def test_R14_money_is_conserved_per_account(steps: list[tuple[str, int]]) -> None:
    """paid in = consumed by orders + refunded + balance, whatever sequence is tried."""
    account = PersonalAccount(ALICE)
    moment = at(2026, 3, 1)
    for n, (op, kopecks) in enumerate(steps):
        amount = Money(Decimal(abs(kopecks) or 1) / 100)
        before = account
        try:
            if op == "top_up":
                account = top_up(
                    account,
                    f"e{n}",
                    amount,
                    moment,
                    "пополнение",
                    holder=SellerCode.SERVER_CENTR,
                    method=PaymentMethod.BANK_TRANSFER,
                )
            elif op == "pay":
                account = pay_order_from_balance(
                    account,
                    f"e{n}",
                    OrderId(f"o{n}"),
                    amount,
                    moment,
                    holder=SellerCode.SERVER_CENTR,
                )
            elif op == "refund":
                account = refund_from_balance(
                    account, f"e{n}", amount, moment, "возврат R16", holder=SellerCode.SERVER_CENTR
                )
            else:
                signed = Money(Decimal(kopecks) / 100) if kopecks else amount
                account = correct(
                    account,
                    f"e{n}",
                    signed,
                    moment,
                    "корректировка",
                    holder=SellerCode.SERVER_CENTR,
                )
        except InsufficientBalance:
            assert account is before
            assert (before.balance - amount).is_negative or kopecks < 0
        assert not account.balance.is_negative
        assert (
            account.topped_up + account.corrections
            == account.paid_for_orders + account.refunded + account.balance
        )

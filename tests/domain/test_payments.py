"""R9, R12–R14: gapless invoice numbers, idempotent payment notifications, balance payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.account import InsufficientBalance, open_account, top_up
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import OrderItem, OrderState
from atlas_ca.domain.payments import (
    ConflictingNotification,
    InvalidInvoice,
    InvoiceNumber,
    PaymentError,
    PaymentNotification,
    PaymentStatus,
    apply_payment_notification,
    check_invoice_sequence,
    issue_invoice,
    next_invoice_number,
    pay_from_account,
)
from atlas_ca.domain.sellers import ATLAS_2, PaymentMethod, PaymentRefused, SellerCode
from support.billing_samples import ALICE, BOB, KEP, LICENCE, at, placed_order, rub

SC = SellerCode.SERVER_CENTR
A2 = SellerCode.ATLAS_2


def note(ext: str, amount: str, order: str = "ord-1") -> PaymentNotification:
    return PaymentNotification(
        ext, OrderId(order), rub(amount), PaymentMethod.SBERBANK, at(2026, 3, 11)
    )


def test_R12_invoices_are_numbered_per_seller_and_year_without_gaps() -> None:
    first = next_invoice_number(SC, None, dt.date(2026, 1, 12))
    second = next_invoice_number(SC, first, dt.date(2026, 1, 13))
    assert str(first) == "СЦ-2026-000001"
    assert str(second) == "СЦ-2026-000002"
    assert InvoiceNumber.parse("СЦ-2026-000002") == second
    assert next_invoice_number(SC, second, dt.date(2027, 1, 11)).sequence == 1
    with pytest.raises(InvalidInvoice, match="R12"):
        next_invoice_number(A2, second, dt.date(2026, 1, 13))
    with pytest.raises(InvalidInvoice, match="dated after"):
        next_invoice_number(SC, second, dt.date(2025, 12, 30))


def test_R12_a_gap_in_an_invoice_series_is_detected() -> None:
    series = [InvoiceNumber(SC, 2026, n) for n in (1, 2, 4)]
    with pytest.raises(InvalidInvoice, match=r"missing \[3\]"):
        check_invoice_sequence(series)
    check_invoice_sequence([InvoiceNumber(SC, 2026, 1), InvoiceNumber(A2, 2026, 1)])


@settings(max_examples=100)
@given(st.lists(st.sampled_from([SC, A2]), max_size=40))
def test_R12_numbers_from_next_invoice_number_are_always_gapless(sellers: list[SellerCode]) -> None:
    last: dict[SellerCode, InvoiceNumber | None] = {SC: None, A2: None}
    issued = []
    for code in sellers:
        number = next_invoice_number(code, last[code], dt.date(2026, 5, 5))
        last[code] = number
        issued.append(number)
    check_invoice_sequence(issued)
    assert len(set(issued)) == len(issued)


def test_R14_an_invoice_shows_requisites_vat_lines_and_due_date() -> None:
    order = placed_order(items=(OrderItem(KEP), OrderItem(LICENCE, 2)))
    invoice = issue_invoice(order, InvoiceNumber(A2, 2026, 7), dt.date(2026, 3, 10), due_in_days=5)
    assert invoice.seller is ATLAS_2
    assert "ОГРН 1052503122902" in invoice.requisites()
    assert invoice.due_on == dt.date(2026, 3, 15)
    assert invoice.total == rub("6600.00")
    labels = {v.label: v.vat for v in invoice.vat_totals}
    assert labels == {"Без НДС": Money.zero(), "НДС 22%": rub("649.18")}
    assert invoice.vat_total == rub("649.18")
    assert invoice.amount_due == rub("6600.00")
    assert invoice.lines[0].description == "Квалифицированный сертификат ЭП"
    assert invoice.lines[1].vat_label == "Без НДС"


def test_R12_an_invoice_is_numbered_in_its_sellers_series() -> None:
    with pytest.raises(InvalidInvoice, match="R12"):
        issue_invoice(placed_order(), InvoiceNumber(SC, 2026, 1), dt.date(2026, 3, 10))


def test_R9_a_partial_payment_shows_the_remainder() -> None:
    outcome = apply_payment_notification(placed_order(), note("sb-1", "1000.00"))
    assert outcome.status is PaymentStatus.PARTIAL
    assert outcome.remainder == rub("2600.00")
    assert outcome.order.state is OrderState.AWAITING_PAYMENT
    assert "2600.00" in outcome.explanation
    final = apply_payment_notification(outcome.order, note("sb-2", "2600.00"))
    assert final.status is PaymentStatus.PAID_IN_FULL
    assert final.order.state is OrderState.PAID


def test_R9_a_repeated_notification_never_credits_twice() -> None:
    once = apply_payment_notification(placed_order(), note("sb-1", "1000.00"))
    twice = apply_payment_notification(once.order, note("sb-1", "1000.00"))
    assert twice.status is PaymentStatus.DUPLICATE
    assert twice.order == once.order
    assert twice.order.amount_applied == rub("1000.00")
    with pytest.raises(ConflictingNotification):
        apply_payment_notification(once.order, note("sb-1", "999.00"))


def test_R9_overpayment_and_late_money_are_surplus_for_the_personal_account() -> None:
    over = apply_payment_notification(placed_order(), note("sb-1", "4000.00"))
    assert over.status is PaymentStatus.PAID_IN_FULL
    assert over.applied == rub("3600.00")
    assert over.surplus == rub("400.00")
    late = apply_payment_notification(over.order, note("sb-2", "50.00"))
    assert late.status is PaymentStatus.SURPLUS_ONLY
    assert late.surplus == rub("50.00")
    again = apply_payment_notification(late.order, note("sb-2", "50.00"))
    assert again.status is PaymentStatus.DUPLICATE


def test_R9_a_notification_for_another_order_is_refused() -> None:
    with pytest.raises(PaymentError, match="ord-2"):
        apply_payment_notification(placed_order(), note("sb-1", "1.00", order="ord-2"))


def test_R9_paying_from_the_personal_account() -> None:
    order = placed_order(method=PaymentMethod.ACCOUNT_BALANCE)
    account = top_up(
        open_account(ALICE),
        "t1",
        rub("5000.00"),
        at(2026, 3, 9),
        "пополнение",
        holder=order.seller,
        method=PaymentMethod.BANK_TRANSFER,
    )
    result = pay_from_account(order, account, "pay-1", at(2026, 3, 10, 11))
    assert result.order.state is OrderState.PAID
    assert result.account.balance == rub("1400.00")
    assert result.account.paid_for(order.id) == rub("3600.00")
    poor = top_up(
        open_account(ALICE),
        "t1",
        rub("100.00"),
        at(2026, 3, 9),
        "пополнение",
        holder=order.seller,
        method=PaymentMethod.BANK_TRANSFER,
    )
    with pytest.raises(InsufficientBalance, match="R14"):
        pay_from_account(order, poor, "pay-1", at(2026, 3, 10, 11))
    with pytest.raises(PaymentRefused, match="R14"):
        pay_from_account(order, open_account(BOB), "pay-1", at(2026, 3, 10, 11))
    with pytest.raises(PaymentRefused, match="R9"):
        pay_from_account(placed_order(), account, "pay-1", at(2026, 3, 10, 11))


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 200_000)),
        min_size=1,
        max_size=15,
    )
)
def test_R9_payment_notifications_are_idempotent(raw: list[tuple[int, int]]) -> None:
    """Delivering notifications with repeats gives the same order as delivering each once."""
    amounts: dict[int, int] = {}
    deliveries = []
    for ext, kopecks in raw:
        amounts.setdefault(ext, kopecks)
        deliveries.append(ext)

    def notification(ext: int) -> PaymentNotification:
        return PaymentNotification(
            f"x{ext}",
            OrderId("ord-1"),
            Money(Decimal(amounts[ext]) / 100),
            PaymentMethod.BANK_CARD,
            at(2026, 3, 11),
        )

    with_repeats = placed_order()
    for ext in deliveries:
        with_repeats = apply_payment_notification(with_repeats, notification(ext)).order
    once = placed_order()
    for ext in dict.fromkeys(deliveries):
        once = apply_payment_notification(once, notification(ext)).order
    assert with_repeats == once
    assert with_repeats.amount_received == Money(Decimal(sum(amounts.values())) / 100)
    assert with_repeats.amount_applied == min(with_repeats.amount_received, with_repeats.total)
    expected = (
        OrderState.PAID
        if with_repeats.amount_received >= with_repeats.total
        else OrderState.AWAITING_PAYMENT
    )
    assert with_repeats.state is expected


def test_R13_a_cash_payment_notification_for_atlas_2_is_refused() -> None:
    cash = PaymentNotification(
        "kassa-1", OrderId("ord-1"), rub("3600.00"), PaymentMethod.CASH, at(2026, 3, 11)
    )
    with pytest.raises(PaymentRefused, match="R13"):
        apply_payment_notification(placed_order(seller=A2), cash)
    paid = apply_payment_notification(placed_order(seller=SC), cash)
    assert paid.status is PaymentStatus.PAID_IN_FULL

"""R8–R10 (and R3): entry points, verified customers, recipients, the order state machine."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import InvalidBillingInput
from atlas_ca.domain.orders import (
    ActivationKind,
    ActivationTarget,
    CustomerNotRegistered,
    EntryPoint,
    IllegalTransition,
    InvalidOrder,
    Order,
    OrderItem,
    OrderState,
    PaymentReceipt,
    SubscriberRegisterCheck,
    allowed_transitions,
    cancel_order,
    complete_order,
    draft_order,
    place_order,
    provide_extra_data,
    record_receipt,
    request_extra_data,
    service_access,
    start_fulfilment,
)
from atlas_ca.domain.sellers import PaymentMethod, PaymentRefused, SellerCode
from atlas_ca.domain.subscribers import SubscriberKind, register
from support.billing_samples import (
    ALICE,
    BASIC,
    BOB,
    CATALOGUE,
    KEP,
    LICENCE,
    MALLORY,
    VERIFIED,
    at,
    placed_order,
    rub,
)


def draft(
    entry: EntryPoint = EntryPoint.DIGITAL_PROFILE,
    *,
    customer: SubscriberId = ALICE,
    items: tuple[OrderItem, ...] = (OrderItem(KEP),),
    activation: ActivationTarget | None = None,
    method: PaymentMethod = PaymentMethod.BANK_CARD,
    seller: SellerCode = SellerCode.ATLAS_2,
    recipients: tuple[SubscriberId, ...] = (ALICE,),
) -> Order:
    return draft_order(
        OrderId("ord-7"),
        customer,
        entry,
        seller,
        method,
        BASIC,
        items,
        recipients,
        at(2026, 3, 10),
        activation=activation,
    )


def pay(order: Order, amount: str = "3600.00", ext: str = "pay-1") -> Order:
    return record_receipt(
        order, PaymentReceipt(ext, rub(amount), PaymentMethod.BANK_CARD, at(2026, 3, 11))
    )


def test_R8_a_person_who_is_not_registered_cannot_place_an_order() -> None:
    with pytest.raises(CustomerNotRegistered, match="not registered") as info:
        place_order(draft(customer=MALLORY), CATALOGUE, at(2026, 3, 10), VERIFIED)
    assert info.value.rule == "R8"


def test_R8_an_order_from_the_digital_profile_is_placed_and_priced() -> None:
    order = place_order(draft(), CATALOGUE, at(2026, 3, 10), VERIFIED)
    assert order.state is OrderState.AWAITING_PAYMENT
    assert order.total == rub("3600.00")
    assert order.placed_at == at(2026, 3, 10)
    assert order.history[-1].target is OrderState.AWAITING_PAYMENT


def test_R8_self_service_site_entry_point() -> None:
    order = place_order(draft(EntryPoint.SELF_SERVICE_SITE), CATALOGUE, at(2026, 3, 10), VERIFIED)
    assert order.entry_point is EntryPoint.SELF_SERVICE_SITE


def test_R8_quick_purchase_is_activated_on_the_account_or_a_certificate() -> None:
    with pytest.raises(InvalidOrder, match="R8"):
        draft(EntryPoint.IN_PROGRAM_QUICK_PURCHASE)
    on_cert = ActivationTarget(ActivationKind.CERTIFICATE, "01AB")
    order = draft(EntryPoint.IN_PROGRAM_QUICK_PURCHASE, activation=on_cert)
    assert order.activation == on_cert
    with pytest.raises(InvalidOrder, match="R8"):
        ActivationTarget(ActivationKind.CERTIFICATE)
    with pytest.raises(InvalidOrder, match="R8"):
        draft(EntryPoint.DIGITAL_PROFILE, activation=ActivationTarget(ActivationKind.ACCOUNT))


def test_R8_the_buy_button_in_a_program_sells_only_software_serial_numbers() -> None:
    ok = draft(EntryPoint.IN_PROGRAM_BUY, items=(OrderItem(LICENCE),))
    assert place_order(ok, CATALOGUE, at(2026, 3, 10), VERIFIED).total == rub("1500.00")
    with pytest.raises(InvalidOrder, match="Купить"):
        place_order(draft(EntryPoint.IN_PROGRAM_BUY), CATALOGUE, at(2026, 3, 10), VERIFIED)


def test_R8_an_order_needs_items_and_positive_quantities() -> None:
    with pytest.raises(InvalidOrder, match="no items"):
        draft(items=())
    with pytest.raises(InvalidOrder, match="at least 1"):
        OrderItem(KEP, 0)


def test_R9_the_payment_method_is_chosen_when_placing_and_checked_against_the_seller() -> None:
    with pytest.raises(PaymentRefused, match="R13"):
        draft(method=PaymentMethod.CASH, seller=SellerCode.ATLAS_2)
    order = draft(method=PaymentMethod.CASH, seller=SellerCode.SERVER_CENTR)
    assert order.payment_method is PaymentMethod.CASH


def test_R10_every_named_person_receives_the_services_after_payment() -> None:
    order = placed_order(recipients=(ALICE, BOB))
    before = service_access(order, BOB)
    assert not before.granted
    assert "services follow payment" in before.explanation
    paid = pay(order)
    assert paid.state is OrderState.PAID
    assert service_access(paid, ALICE).granted
    assert service_access(paid, BOB).granted
    stranger = service_access(paid, MALLORY)
    assert not stranger.granted
    assert stranger.rule == "R10"


def test_R10_an_order_names_recipients_once_each() -> None:
    with pytest.raises(InvalidOrder, match="R10"):
        draft(recipients=())
    with pytest.raises(InvalidOrder, match="twice"):
        draft(recipients=(ALICE, ALICE))


def test_R10_fulfilment_may_ask_for_extra_data_and_waits_for_it() -> None:
    order = start_fulfilment(pay(placed_order()), at(2026, 3, 12))
    asked = request_extra_data(order, "email", "для отправки сертификата", at(2026, 3, 12))
    with pytest.raises(IllegalTransition, match="email"):
        complete_order(asked, at(2026, 3, 13))
    answered = provide_extra_data(asked, "email", at(2026, 3, 13))
    done = complete_order(answered, at(2026, 3, 14))
    assert done.state is OrderState.COMPLETED
    assert done.completed_at == at(2026, 3, 14)
    with pytest.raises(IllegalTransition, match="R10"):
        request_extra_data(placed_order(), "email", "x", at(2026, 3, 12))


def test_R8_a_partial_payment_leaves_the_order_awaiting_payment() -> None:
    order = pay(placed_order(), "1000.00")
    assert order.state is OrderState.AWAITING_PAYMENT
    assert order.outstanding == rub("2600.00")


def test_R8_illegal_transitions_name_both_states() -> None:
    order = placed_order()
    with pytest.raises(IllegalTransition, match="awaiting_payment to in_fulfilment"):
        start_fulfilment(order, at(2026, 3, 11))
    done = complete_order(start_fulfilment(pay(order), at(2026, 3, 11)), at(2026, 3, 12))
    with pytest.raises(IllegalTransition, match="completed to cancelled"):
        cancel_order(done, at(2026, 3, 13), "передумал")
    with pytest.raises(IllegalTransition):
        place_order(order, CATALOGUE, at(2026, 3, 10), VERIFIED)


def test_R8_cancel_needs_a_reason_and_records_it() -> None:
    order = placed_order()
    with pytest.raises(InvalidOrder):
        cancel_order(order, at(2026, 3, 11), " ")
    cancelled = cancel_order(order, at(2026, 3, 11), "клиент передумал")
    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.cancel_reason == "клиент передумал"
    assert order.state is OrderState.AWAITING_PAYMENT  # the original is unchanged


def test_R8_a_cancelled_order_has_nothing_outstanding() -> None:
    """Nothing remains to pay on a cancelled order: money sent to it afterwards is surplus for
    the personal account (R14), so ``outstanding`` (what an invoice shows as due) is zero."""
    order = placed_order()
    assert order.outstanding.is_positive
    cancelled = cancel_order(order, at(2026, 3, 11), "клиент передумал")
    assert cancelled.outstanding.is_zero
    assert cancelled.total == order.total  # what it cost is still known


def test_moments_must_be_timezone_aware() -> None:
    with pytest.raises(InvalidBillingInput, match="timezone-aware"):
        start_fulfilment(pay(placed_order()), dt.datetime(2026, 3, 11, 10))


OPS = ["fulfil", "complete", "cancel", "pay"]


@settings(max_examples=150)
@given(st.lists(st.sampled_from(OPS), max_size=8))
def test_R8_the_state_machine_only_takes_allowed_steps(ops: list[str]) -> None:
    order = placed_order()
    moment = at(2026, 3, 11)
    for n, op in enumerate(ops):
        before = order.state
        try:
            if op == "fulfil":
                order = start_fulfilment(order, moment)
            elif op == "complete":
                order = complete_order(order, moment)
            elif op == "cancel":
                order = cancel_order(order, moment, "reason")
            else:
                order = pay(order, "3600.00", f"p{n}")
        except (IllegalTransition, InvalidOrder):
            assert order.state is before
            continue
        if order.state is not before:
            assert order.state in allowed_transitions(before)
    steps = [(t.source, t.target) for t in order.history]
    assert all(target in allowed_transitions(source) for source, target in steps)
    if order.state in (OrderState.COMPLETED, OrderState.CANCELLED):
        assert allowed_transitions(order.state) == frozenset()


def test_R3_a_registered_person_orders_before_verification_seed_lines_175_191() -> None:
    """The seed lets a person order on the self-service site and register while ordering;
    what verification opens is the *fulfilment* of orders (R3)."""
    newcomer = register(
        ALICE, SubscriberKind.INDIVIDUAL, MobilePhone("+79241234567"), at=at(2026, 3, 1)
    )
    check = SubscriberRegisterCheck({ALICE: newcomer}.get)
    placed = place_order(draft(), CATALOGUE, at(2026, 3, 10), check)
    assert placed.state is OrderState.AWAITING_PAYMENT
    with pytest.raises(CustomerNotRegistered, match="not registered"):
        place_order(draft(customer=BOB), CATALOGUE, at(2026, 3, 10), check)

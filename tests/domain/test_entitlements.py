"""R10 (with R16/R17): how many certificates an order buys, who receives them, and the pure
decision on one more issuance given the count the caller read from its register."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.domain.entitlements import (
    BoughtCertificates,
    Verdict,
    certificate_entitlement,
    certificates_fulfilled,
    decide_issuance,
    require_issuance,
)
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.orders import (
    Order,
    OrderItem,
    PaymentReceipt,
    cancel_order,
    complete_order,
    record_receipt,
    service_access,
    start_fulfilment,
)
from atlas_ca.domain.sellers import PaymentMethod
from atlas_ca.domain.tariffs import ProductKind
from atlas_ca.errors import (
    DomainError,
    EntitlementRefused,
    NoCertificateBought,
    OrderExhausted,
    OrderNotPaid,
    Refused,
)
from support.billing_samples import (
    ALICE,
    BOB,
    KEP,
    LICENCE,
    MALLORY,
    RENEW,
    SUBSCRIPTION,
    at,
    placed_order,
)


def paid(
    items: tuple[OrderItem, ...] = (OrderItem(KEP),),
    recipients: tuple[SubscriberId, ...] = (ALICE,),
) -> Order:
    order = placed_order(items=items, recipients=recipients)
    return record_receipt(
        order,
        PaymentReceipt("pay-1", order.total, PaymentMethod.BANK_CARD, at(2026, 3, 11)),
    )


# --- what an order buys -----------------------------------------------------------------------


def test_R10_an_order_buys_its_issuance_and_renewal_quantities_and_nothing_else() -> None:
    order = paid((OrderItem(KEP, 2), OrderItem(RENEW), OrderItem(LICENCE, 5)))
    bought = certificate_entitlement(order)
    assert bought.bought == 3
    assert bought.lines == (
        BoughtCertificates(KEP, ProductKind.CERTIFICATE_ISSUANCE, 2),
        BoughtCertificates(RENEW, ProductKind.CERTIFICATE_RENEWAL, 1),
    )
    assert bought.recipients == (ALICE,)


def test_R10_the_line_keeps_the_product_kind_from_placement() -> None:
    (line,) = paid().lines
    assert line.kind is ProductKind.CERTIFICATE_ISSUANCE


def test_R10_a_line_stored_without_its_kind_buys_no_certificate() -> None:
    order = paid()
    old = dataclasses.replace(order, lines=(dataclasses.replace(order.lines[0], kind=None),))
    assert certificate_entitlement(old).bought == 0
    with pytest.raises(NoCertificateBought, match="R10"):
        require_issuance(old, ALICE, used=0)


# --- one more issuance ------------------------------------------------------------------------


def test_R10_an_order_for_one_issuance_gives_exactly_one_certificate() -> None:
    order = paid()
    first = require_issuance(order, ALICE, used=0)
    assert first.allowed
    assert (first.bought, first.used, first.remaining) == (1, 0, 1)
    refused = decide_issuance(order, ALICE, used=1)
    assert refused.verdict is Verdict.EXHAUSTED
    assert refused.rule == "R10"
    assert refused.remaining == 0
    with pytest.raises(OrderExhausted, match="R10") as info:
        require_issuance(order, ALICE, used=1)
    error = info.value
    assert isinstance(error, EntitlementRefused)
    assert isinstance(error, DomainError)
    assert isinstance(error, Refused)
    assert error.rule == "R10"
    assert error.context["bought"] == 1
    assert error.context["used"] == 1
    assert error.context["order"] == "ord-1"
    assert "bought 1 certificate(s) and 1 are issued or being issued" in str(error)


def test_R10_quantity_two_gives_two() -> None:
    order = paid((OrderItem(KEP, 2),))
    assert require_issuance(order, ALICE, used=1).remaining == 1
    with pytest.raises(OrderExhausted):
        require_issuance(order, ALICE, used=2)


def test_R10_every_named_person_takes_from_the_units_the_order_paid_for() -> None:
    # Two people named, two issuances bought: two certificates, to either person.
    two = paid((OrderItem(KEP, 2),), recipients=(ALICE, BOB))
    assert require_issuance(two, ALICE, used=0).allowed
    assert require_issuance(two, BOB, used=1).allowed
    with pytest.raises(OrderExhausted):
        require_issuance(two, BOB, used=2)
    # Two people named, one issuance bought: one certificate, not one each.
    one = paid(recipients=(ALICE, BOB))
    assert require_issuance(one, BOB, used=0).allowed
    with pytest.raises(OrderExhausted):
        require_issuance(one, ALICE, used=1)


def test_R10_a_person_not_named_gets_nothing() -> None:
    decision = decide_issuance(paid(), MALLORY, used=0)
    assert decision.verdict is Verdict.NOT_NAMED
    with pytest.raises(OrderNotPaid, match="not named"):
        require_issuance(paid(), MALLORY, used=0)


def test_R10_nothing_is_issued_before_payment_or_after_cancellation() -> None:
    unpaid = placed_order()
    assert decide_issuance(unpaid, ALICE, used=0).verdict is Verdict.NOT_PAID
    with pytest.raises(OrderNotPaid, match="R10") as info:
        require_issuance(unpaid, ALICE, used=0)
    assert info.value.context["state"] == "awaiting_payment"
    cancelled = cancel_order(paid(), at(2026, 3, 12), "передумал")
    assert decide_issuance(cancelled, ALICE, used=0).verdict is Verdict.CANCELLED
    with pytest.raises(OrderNotPaid):
        require_issuance(cancelled, ALICE, used=0)


def test_R10_an_order_buying_no_certificate_issues_none() -> None:
    order = paid((OrderItem(LICENCE), OrderItem(SUBSCRIPTION)))
    assert decide_issuance(order, ALICE, used=0).verdict is Verdict.NOTHING_BOUGHT
    with pytest.raises(NoCertificateBought, match="buys no certificate"):
        require_issuance(order, ALICE, used=0)


def test_R10_an_order_in_fulfilment_still_issues_what_is_left() -> None:
    order = start_fulfilment(paid((OrderItem(KEP, 2),)), at(2026, 3, 12))
    assert require_issuance(order, ALICE, used=1).allowed


def test_R17_a_completed_order_grants_nothing_more_whatever_the_count() -> None:
    order = complete_order(
        start_fulfilment(paid((OrderItem(KEP, 3),)), at(2026, 3, 12)), at(2026, 3, 13)
    )
    decision = decide_issuance(order, ALICE, used=1)  # closed early: two units never used
    assert decision.verdict is Verdict.COMPLETED
    assert not decision.allowed
    with pytest.raises(OrderExhausted, match="completed") as info:
        require_issuance(order, ALICE, used=1)
    assert info.value.context["state"] == "completed"
    access = service_access(order, ALICE)
    assert not access.granted
    assert "completed" in access.explanation


def test_R17_certificate_fulfilment_is_complete_when_every_unit_is_issued() -> None:
    order = paid((OrderItem(KEP, 2),))
    assert not certificates_fulfilled(order, issued=0)
    assert not certificates_fulfilled(order, issued=1)
    assert certificates_fulfilled(order, issued=2)
    assert not certificates_fulfilled(paid((OrderItem(LICENCE),)), issued=0)


def test_the_count_is_a_non_negative_int() -> None:
    with pytest.raises(ValueError, match="negative"):
        decide_issuance(paid(), ALICE, used=-1)
    with pytest.raises(TypeError):
        decide_issuance(paid(), ALICE, used=True)
    with pytest.raises(TypeError):
        certificates_fulfilled(paid(), issued=1.0)  # type: ignore[arg-type]


# --- property: never more issued than bought ---------------------------------------------------


@st.composite
def orders(draw: st.DrawFn) -> tuple[Order, int]:
    """A paid order of random certificate and other lines; and how many certificates it buys."""
    lines = []
    bought = 0
    for product, counts in ((KEP, True), (RENEW, True), (LICENCE, False), (SUBSCRIPTION, False)):
        quantity = draw(st.integers(0, 4))
        if quantity:
            lines.append(OrderItem(product, quantity))
            bought += quantity if counts else 0
    if not lines:
        lines.append(OrderItem(LICENCE))
    recipients = draw(st.sampled_from([(ALICE,), (BOB,), (ALICE, BOB), (BOB, ALICE)]))
    return paid(tuple(lines), recipients), bought


@settings(max_examples=300, deadline=None)
@given(
    orders(),
    st.lists(st.tuples(st.sampled_from([ALICE, BOB, MALLORY]), st.booleans()), max_size=30),
)
def test_R10_property_however_requests_and_voids_interleave_never_more_than_bought(
    sample: tuple[Order, int], requests: list[tuple[SubscriberId, bool]]
) -> None:
    order, bought = sample
    assert certificate_entitlement(order).bought == bought
    live = 0  # issued or being issued, as the register counts them
    for person, voided in requests:
        decision = decide_issuance(order, person, used=live)
        assert decision.bought == bought
        assert decision.remaining == max(bought - live, 0)
        assert decision.allowed == (person in order.recipients and live < bought)
        if decision.allowed:
            live += 0 if voided else 1  # a voided intent gives its unit back
        else:
            with pytest.raises((OrderExhausted, NoCertificateBought, OrderNotPaid)):
                require_issuance(order, person, used=live)
        assert live <= bought
    assert certificates_fulfilled(order, issued=live) == (bought > 0 and live == bought)

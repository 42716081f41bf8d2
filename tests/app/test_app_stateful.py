"""The billing state machine of tests/billing, run over the FACADE (``atlas_ca.open``) on SQLite
and on PostgreSQL, with real issuance: a certificate is asked for with a one-time code and
signed by the CA exactly when the order as stored allows it (issue 12).

Random sequences of orders (certificates, licences, both; each seller; every method),
payments (partial, exact, over; repeated notifications), top-ups (every method at each
seller), payments from the balance, issuances, access grants, cancellations, refund requests
(orders and balance; received today or earlier), claim decisions and remote renewals (R20: a
request signed with the subscriber's current certificate key, under an order with a renewal
line). After every step:

* money received = held on orders + held on accounts + refunded (one accounting model);
* refunds granted ≤ money received; a request id is assessed once;
* no certificate in the register beyond what a paid, unrefunded order bought;
* no ledger (an order's money, an account's balance held by either legal entity) negative.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from atlas_ca.domain.business_time import MOSCOW, business_day
from atlas_ca.domain.entitlements import certificate_entitlement, require_issuance
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import BillingError, total
from atlas_ca.domain.orders import Order, OrderState
from atlas_ca.errors import AtlasCaError, DomainError, InvalidInput
from atlas_ca.hsm.software import SoftwareKey
from atlas_ca.services.billing import (
    Claim,
    ClaimStatus,
    Money,
    PaymentMethod,
    PersonalAccount,
    RefundDecision,
    RequestChannel,
    SellerCode,
)
from atlas_ca.services.renewal import RenewalApplication
from atlas_ca.storage.ports import RecordKind, iter_records
from atlas_ca.trust.cms import sign_attached
from atlas_ca.x509.certificate import Certificate
from support.app_env import Desk, Pki, new_key_and_csr, open_desk, verified

PEOPLE = ("sub-v", "sub-o")
OUTSIDE_METHODS = [m for m in PaymentMethod if m is not PaymentMethod.ACCOUNT_BALANCE]
REFUSED = (BillingError, DomainError, InvalidInput)

people = st.sampled_from(PEOPLE)
sellers = st.sampled_from(list(SellerCode))
kopecks = st.integers(1, 900_000).map(lambda k: Money(Decimal(k) / 100))
slot = st.integers(0, 7)


class FacadeMachine(RuleBasedStateMachine):
    pki: Pki
    signed: list[str]
    renewed: list[str]
    kind: str
    pg: str | None
    where: Path

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        self.desk: Desk = open_desk(cls.pki, cls.kind, cls.pg, cls.where)
        self.ca = self.desk.ca
        for n, who in enumerate(PEOPLE):
            verified(self.desk, cls.pki, who, phone=f"+7924111220{n}")
        self.run = uuid.uuid4().hex[:6]  # order ids unique in a register shared by examples
        self.orders: list[str] = []
        self.payments: dict[str, tuple[str, Money, PaymentMethod]] = {}
        self.requests: set[str] = set()
        self.claims: list[str] = []
        # each person's newest certificate and its key: what a remote renewal is signed with
        self.holders: dict[str, tuple[bytes, SoftwareKey]] = {}
        self.n = 0

    def teardown(self) -> None:
        self.ca.close()

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.run}-{self.n}"

    def _order(self, index: int) -> str | None:
        return self.orders[index % len(self.orders)] if self.orders else None

    def _issued(self, order_id: str) -> int:
        return self.ca.register.order_usage(OrderId(order_id)).certificates

    # --- rules ---------------------------------------------------------------------------------

    @initialize(who=people, certificates=st.integers(1, 2))
    def a_paid_order_to_begin_with(self, who: str, certificates: int) -> None:
        """Every run starts from an order paid by invoice (random amounts seldom pay one) that
        buys certificates and two renewals (one pool: whichever comes first uses it), and from
        the first certificate issued under it, so that remote renewals are reached."""
        order_id = self._id("ord")
        placed = self.ca.create_order(order_id, who, [f"kep-issue:{certificates}", "kep-renew:2"])
        self.ca.pay(order_id, self._id("inv"), placed.total, PaymentMethod.BANK_TRANSFER)
        self.orders.append(order_id)
        key, csr = new_key_and_csr(type(self).where, self._id("key"))
        self.ca.send_issuance_code(csr, subscriber=who, order=order_id)
        first = self.ca.issue(csr, subscriber=who, order=order_id, code=self.desk.inbox.code())
        self.holders[who] = (first.certificate.der, key)

    @rule(
        who=people,
        seller=sellers,
        method=st.sampled_from(list(PaymentMethod)),
        certificates=st.integers(0, 2),
        renewal=st.booleans(),
        licence=st.booleans(),
    )
    def create_order(
        self,
        who: str,
        seller: SellerCode,
        method: PaymentMethod,
        certificates: int,
        renewal: bool,
        licence: bool,
    ) -> None:
        items = [f"kep-issue:{certificates}"] if certificates else []
        if renewal:
            items.append("kep-renew")
        if licence or not items:
            items.append("kavista-licence")
        order_id = self._id("ord")
        try:
            self.ca.create_order(order_id, who, items, seller=seller, method=method)
        except REFUSED:
            assert seller is SellerCode.ATLAS_2
            assert method is PaymentMethod.CASH  # R13: the only refusal for these inputs
            return
        self.orders.append(order_id)

    @rule(index=slot, amount=kopecks, method=st.sampled_from(OUTSIDE_METHODS), repeat=slot)
    def notify_payment(self, index: int, amount: Money, method: PaymentMethod, repeat: int) -> None:
        order_id = self._order(index)
        if order_id is None:
            return
        known = [p for p, (o, _, _) in self.payments.items() if o == order_id]
        if known and repeat < 3:  # a repeated notification: the same id, amount and method
            payment_id = known[repeat % len(known)]
            _, amount, method = self.payments[payment_id]
        else:
            payment_id = self._id("pay")
        before = self.ca.money_totals()
        try:
            got = self.ca.pay(order_id, payment_id, amount, method)
        except REFUSED:
            assert self.ca.money_totals() == before
            return
        self.payments[payment_id] = (order_id, amount, method)
        if got.outcome.status.value == "duplicate":
            assert self.ca.money_totals() == before
        else:
            assert self.ca.money_totals().received == before.received + amount

    @rule(index=slot)
    def pay_what_is_outstanding(self, index: int) -> None:
        """The common case: the customer pays the invoice exactly (by bank transfer)."""
        order_id = self._order(index)
        if order_id is None:
            return
        order = self.ca.order(order_id)
        outstanding = order.outstanding
        if order.state is not OrderState.AWAITING_PAYMENT or not outstanding.is_positive:
            return
        before = self.ca.money_totals()
        try:
            got = self.ca.pay(order_id, self._id("inv"), outstanding, PaymentMethod.BANK_TRANSFER)
        except REFUSED:
            assert self.ca.money_totals() == before
            return
        assert got.outcome.status.value == "paid_in_full"
        assert got.outcome.surplus.is_zero

    @rule(who=people, seller=sellers, amount=kopecks, method=st.sampled_from(OUTSIDE_METHODS))
    def top_up(self, who: str, seller: SellerCode, amount: Money, method: PaymentMethod) -> None:
        try:
            self.ca.top_up(who, self._id("top"), amount, seller=seller, method=method)
        except REFUSED:
            assert method is PaymentMethod.CASH
            assert seller is SellerCode.ATLAS_2

    @rule(index=slot)
    def pay_from_balance(self, index: int) -> None:
        order_id = self._order(index)
        if order_id is None:
            return
        try:
            paid = self.ca.pay_from_balance(order_id, self._id("bal"))
        except REFUSED:
            return
        assert paid.order.state is OrderState.PAID
        assert paid.order.payment_method is PaymentMethod.ACCOUNT_BALANCE

    @rule(index=slot, who=people)
    def issue(self, index: int, who: str) -> None:
        """The two steps of issuance through the facade; it succeeds exactly when the order
        as stored allows one more certificate to ``who`` (R3, R10, R16)."""
        order_id = self._order(index)
        if order_id is None:
            return
        stored = self.ca.order(order_id)
        used = self._issued(order_id)
        try:
            require_issuance(stored, SubscriberId(who), used=used)
            allowed = True
        except AtlasCaError:
            allowed = False
        key, csr = new_key_and_csr(type(self).where, self._id("key"))
        try:
            self.ca.send_issuance_code(csr, subscriber=who, order=order_id)
            issued = self.ca.issue(csr, subscriber=who, order=order_id, code=self.desk.inbox.code())
        except AtlasCaError as exc:
            refused: AtlasCaError | None = exc
        else:
            refused = None
        if refused is not None:
            assert not allowed, str(refused)
            assert self._issued(order_id) == used
            return
        assert allowed
        type(self).signed.append(order_id)
        self.holders[who] = (issued.certificate.der, key)
        # what the CA signed: only for a paid, unrefunded order, within its count
        assert stored.state in (OrderState.PAID, OrderState.IN_FULFILMENT)
        assert stored.refunded.is_zero
        assert used < certificate_entitlement(stored).bought
        assert self._issued(order_id) == used + 1
        assert self.ca.order(order_id).state in (OrderState.IN_FULFILMENT, OrderState.COMPLETED)

    @precondition(lambda self: bool(self.holders))
    @rule(index=slot, data=st.data())
    def renew(self, index: int, data: st.DataObject) -> None:
        """R20 through the facade: a renewal signed with the current certificate's key succeeds
        exactly when the order as stored has a renewal line and allows one more certificate to
        that person (R10); it then counts against the order like any issuance."""
        order_id = self._order(index)
        if order_id is None:
            return
        who = data.draw(st.sampled_from(sorted(self.holders)))
        current, current_key = self.holders[who]
        stored = self.ca.order(order_id)
        used = self._issued(order_id)
        bought = certificate_entitlement(stored)
        try:
            require_issuance(stored, SubscriberId(who), used=used)
            allowed = any(line.kind.value == "certificate_renewal" for line in bought.lines)
        except AtlasCaError:
            allowed = False
        self.ca.publish_crl(operator="ops-1")  # the signer's status must be known (R20)
        key, csr = new_key_and_csr(type(self).where, self._id("renew"))
        application = RenewalApplication(
            signed_request=sign_attached(csr, current_key, current, at=self.desk.clock.now()),
            order=OrderId(order_id),
        )
        before = self.ca.money_totals()
        flow = self.ca.renewal()
        try:
            flow.send_code(application)
            renewed = flow.renew(application, self.desk.inbox.code())
        except AtlasCaError as exc:
            refused: AtlasCaError | None = exc
        else:
            refused = None
        assert self.ca.money_totals() == before  # a renewal moves no money by itself
        if refused is not None:
            assert not allowed, str(refused)
            assert self._issued(order_id) == used
            return
        assert allowed
        type(self).renewed.append(order_id)
        assert renewed.record.subscriber == SubscriberId(who)
        assert (
            Certificate.from_der(renewed.certificate.der).serial_number
            != Certificate.from_der(current).serial_number
        )
        assert self._issued(order_id) == used + 1
        self.holders[who] = (renewed.certificate.der, key)

    @rule(index=slot, who=people)
    def grant_access(self, index: int, who: str) -> None:
        order_id = self._order(index)
        if order_id is None:
            return
        try:
            self.ca.grant_access(order_id, who)
        except REFUSED:
            return

    @rule(index=slot)
    def cancel(self, index: int) -> None:
        order_id = self._order(index)
        if order_id is None:
            return
        try:
            done = self.ca.cancel_order(order_id, "отмена клиентом")
        except REFUSED:
            return
        assert done.order.amount_held.is_zero

    @rule(index=slot, part=st.one_of(st.none(), kopecks), days_ago=st.integers(0, 3))
    def refund_order(self, index: int, part: Money | None, days_ago: int) -> None:
        order_id = self._order(index)
        if order_id is None:
            return
        request_id = self._id("zv")
        before = self.ca.order(order_id)
        received_on = self.ca.billing().today() - dt.timedelta(days=days_ago)
        try:
            outcome = self.ca.request_refund(
                request_id,
                channel=RequestChannel.POST,
                order=order_id,
                amount=part,
                received_on=received_on,
            )
        except REFUSED:
            return
        self.requests.add(request_id)
        delivered = before.fulfilment_started_at or before.completed_at
        by_then = delivered is not None and business_day(delivered, MOSCOW) <= received_on
        assert isinstance(outcome.result, Claim) == by_then  # R16 before delivery, R17 after
        if isinstance(outcome.result, Claim):
            self.claims.append(request_id)
            return
        assert isinstance(outcome.result, RefundDecision)
        after = self.ca.order(order_id)
        assert after.refunded == before.refunded + outcome.result.amount
        assert after.state in (OrderState.CANCELLED, OrderState.COMPLETED)

    @rule(who=people, part=st.one_of(st.none(), kopecks))
    def refund_balance(self, who: str, part: Money | None) -> None:
        request_id = self._id("zb")
        try:
            self.ca.request_refund(
                request_id, channel=RequestChannel.SIGNED_EMAIL, subscriber=who, amount=part
            )
        except REFUSED:
            return
        self.requests.add(request_id)

    @precondition(lambda self: bool(self.requests))
    @rule(data=st.data())
    def repeat_a_request(self, data: st.DataObject) -> None:
        request_id = data.draw(st.sampled_from(sorted(self.requests)))
        before = self.ca.money_totals()
        with pytest.raises(InvalidInput, match="already assessed"):
            self.ca.request_refund(request_id, channel=RequestChannel.POST, subscriber=PEOPLE[0])
        assert self.ca.money_totals() == before

    @precondition(lambda self: bool(self.claims))
    @rule(data=st.data(), approve=st.one_of(st.none(), kopecks))
    def decide_claim(self, data: st.DataObject, approve: Money | None) -> None:
        request_id = data.draw(st.sampled_from(self.claims))
        try:
            outcome = self.ca.decide_claim(
                request_id, approved=approve, reason="рассмотрено", decided_by="ops"
            )
        except REFUSED:
            return
        assert isinstance(outcome.result, Claim)
        assert outcome.result.status is not ClaimStatus.PENDING

    @rule(hours=st.integers(1, 60))
    def time_passes(self, hours: int) -> None:
        self.desk.clock.advance(hours=hours)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def money_is_on_exactly_one_side(self) -> None:
        totals = self.ca.money_totals()
        assert totals.balanced, totals
        assert totals.refunded <= totals.received

    @invariant()
    def no_ledger_is_negative_and_no_order_over_refunded(self) -> None:
        for order in iter_records(self.ca.records, RecordKind.ORDER, Order):
            assert not order.amount_held.is_negative
            assert order.refunded <= order.amount_applied
            assert order.amount_applied <= order.total
            if order.state is OrderState.CANCELLED:
                assert order.amount_held.is_zero
        for account in iter_records(self.ca.records, RecordKind.ACCOUNT, PersonalAccount):
            for held in account.balances().values():
                assert not held.is_negative

    @invariant()
    def no_certificate_beyond_what_a_paid_unrefunded_order_bought(self) -> None:
        for order_id in self.orders:
            order = self.ca.order(order_id)
            issued = self._issued(order_id)
            assert issued <= certificate_entitlement(order).bought
            if issued:
                assert order.receipts  # something was paid before anything was issued

    @invariant()
    def refunds_never_exceed_what_was_received(self) -> None:
        refunded = total(o.refunded for o in iter_records(self.ca.records, RecordKind.ORDER, Order))
        assert refunded <= self.ca.money_totals().received


def machine_settings(kind: str) -> settings:
    """Example counts that keep each backend's run under a minute on a shared 2-core machine
    (PostgreSQL's round trips cost about twice SQLite's)."""
    return settings(
        max_examples=40 if kind == "sqlite" else 20,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_money_and_certificates_hold_under_random_journeys_through_the_facade(
    kind: str, pki: Pki, pg_dsn: str | None, tmp_path: Path
) -> None:
    open_desk(pki, kind, pg_dsn, tmp_path).ca.close()  # fails under CI without PostgreSQL

    class Machine(FacadeMachine):
        pass

    Machine.pki, Machine.kind, Machine.pg, Machine.where = pki, kind, pg_dsn, tmp_path
    Machine.signed = []
    Machine.renewed = []
    Machine.TestCase.settings = machine_settings(kind)
    Machine.TestCase().runTest()
    assert Machine.signed  # the runs did reach the CA's signature, not only refusals
    assert Machine.renewed  # and remote renewals that succeeded

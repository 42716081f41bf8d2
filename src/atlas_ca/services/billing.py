"""The billing service: the money use cases of the service standard (R8–R18) over the record
store, with one accounting model.

**Money exactly once.** Every rouble received is on exactly one side: applied to an order (the
order holds it: :attr:`~atlas_ca.domain.orders.Order.amount_held`) or held on the customer's
personal account, by the legal entity that received it (R12). Money leaves only as a refund.
After every operation, over the whole store (:meth:`BillingService.money_totals`)::

    received from outside = held on orders + held on accounts + refunded

* A payment notification (bank transfer, card, Sberbank, Chronopay, cash) applies up to what
  the order still owes; the surplus is credited to the personal account in the same transaction
  under the payment's own id, so a repeated notification changes nothing (R9, R14).
* Paying from the balance debits what the order's seller holds on the account (R9, R12): cash
  is taken only by АО "Сервер-Центр" (R13), so cash money never pays an order of АО "Атлас-2".
* Cancelling releases what the order holds to the account (it stays refundable, R16).
* A refund request about an order nothing of which was delivered by the day it was received is
  granted (R16) and ends the order's entitlement (the order is cancelled, any rest released);
  after a delivery it is a claim decided by a person (R17), due 30 working days after the
  decision (R18).

**Life cycle.** The issuance pipeline reports each certificate stored
(:meth:`BillingService.certificate_issued`): the first starts fulfilment, and the order
completes when everything it bought is delivered
(:func:`~atlas_ca.domain.entitlements.fulfilment_complete`); :meth:`BillingService.grant_access`
delivers the non-certificate lines.

**Concurrency.** Each use case reads the records it changes and writes them together with
``put_all(unchanged=...)``: if another writer changed one meanwhile the store refuses
(:class:`~atlas_ca.errors.RecordChanged`) and the use case reads again and retries
(:data:`ATTEMPTS` times), so two nodes paying from one account cannot lose a ledger entry.

**Business time.** Every day (order day and its prices and VAT, request day, claim decision
day) is a business day in one configured zone (Moscow by default), whatever the clock's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from atlas_ca.domain.account import PersonalAccount, open_account, top_up
from atlas_ca.domain.business_time import MOSCOW, business_day, business_zone
from atlas_ca.domain.entitlements import fulfilment_complete
from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import Money, total
from atlas_ca.domain.orders import (
    ActivationTarget,
    EntryPoint,
    Order,
    OrderItem,
    OrderState,
    SubscriberRegisterCheck,
    complete_order,
    deliver_services,
    draft_order,
    place_order,
    start_fulfilment,
)
from atlas_ca.domain.payments import (
    BalancePayment,
    Cancellation,
    PaymentNotification,
    PaymentStatus,
    ReceivedPayment,
    cancel_and_release,
    pay_from_account,
    receive_payment,
)
from atlas_ca.domain.refunds import (
    Claim,
    ClaimStatus,
    RefundDecision,
    RefundRefused,
    RefundRequest,
    RequestChannel,
    assess_balance_refund,
    assess_order_refund,
    decide_claim,
    pay_out_balance_refund,
    record_order_refund,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import Subscriber, require_verified
from atlas_ca.domain.tariffs import AnyDiscount, Catalogue, PriceVersion, Product, ProductKind
from atlas_ca.domain.tariffs import TariffPlan as Plan
from atlas_ca.domain.workdays import RUSSIA, ProductionCalendar
from atlas_ca.errors import InvalidInput, RecordChanged, RecordNotFound
from atlas_ca.profiles.config import ConfigError
from atlas_ca.services.ports import Clock
from atlas_ca.storage.ports import RecordKind, RecordStore, get_record, iter_records

T = TypeVar("T")

#: How often a use case reads again and retries after another writer came first.
ATTEMPTS = 5

IssuedCount = Callable[[OrderId], int]
"""Certificates the register stored under an order (``order_usage(order).certificates``)."""


def catalogue_from(table: Mapping[str, Any] | None) -> Catalogue:
    """The tariff catalogue of a configuration's ``[tariffs]`` table (R11)."""
    if not table:
        raise ConfigError("the configuration has no [tariffs] table (R11)", field="tariffs")
    try:
        products = [
            Product(ProductCode(p["code"]), p["name"], ProductKind(p.get("kind", "service")))
            for p in table.get("products", [])
        ]
        plans = [Plan(TariffPlanId(p["id"]), p["name"]) for p in table.get("plans", [])]
        prices = [
            PriceVersion(
                TariffPlanId(p["plan"]),
                ProductCode(p["product"]),
                dt.date.fromisoformat(str(p["from"])),
                Money.parse(str(p["price"])),
            )
            for p in table.get("prices", [])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"[tariffs] is malformed: {exc}", field="tariffs") from None
    return Catalogue(products, plans, prices)


@dataclass(frozen=True, slots=True)
class MoneyTotals:
    """Where the money of the whole store is (see the module docstring's equation)."""

    received: Money
    """From outside: notified payments (surplus included) and top-ups."""
    held_on_orders: Money
    held_on_accounts: Money
    refunded: Money

    @property
    def balanced(self) -> bool:
        return self.received == self.held_on_orders + self.held_on_accounts + self.refunded


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """A refund request's result and the records it changed (None: not changed)."""

    result: RefundDecision | Claim
    order: Order | None
    account: PersonalAccount | None


class BillingService:
    """Orders, payments, the personal account, cancellations, refunds and claims (R8–R18).

    ``records`` holds orders, accounts, refund records and subscribers; ``clock`` is the only
    source of "now"; ``zone`` the business time zone; ``catalogue`` the tariffs (needed only to
    place orders); ``issued_count`` counts the certificates stored under an order (the
    register's ``order_usage``), used when access is granted to decide whether the order is
    complete (without it, an order that also bought certificates completes through
    :meth:`certificate_issued` only).
    """

    def __init__(
        self,
        records: RecordStore,
        *,
        clock: Clock,
        zone: dt.tzinfo = MOSCOW,
        catalogue: Catalogue | None = None,
        calendar: ProductionCalendar = RUSSIA,
        issued_count: IssuedCount | None = None,
    ) -> None:
        self._records = records
        self._clock = clock
        self._zone = zone
        self._catalogue = catalogue
        self._calendar = calendar
        self._issued_count = issued_count

    @property
    def zone(self) -> dt.tzinfo:
        return self._zone

    def _now(self) -> dt.datetime:
        now = self._clock.now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def today(self) -> dt.date:
        """Today's business day in the business time zone."""
        return business_day(self._now(), self._zone)

    # --- reading ------------------------------------------------------------------------------

    def order(self, order_id: OrderId | str) -> Order:
        return get_record(self._records, RecordKind.ORDER, _oid(order_id).value, Order)

    def current_order(self, order_id: OrderId) -> Order:
        """The order as stored now (the issuance pipeline's entitlement check reads it)."""
        return self.order(order_id)

    def _stored_account(self, owner: SubscriberId) -> PersonalAccount | None:
        if self._records.find(RecordKind.ACCOUNT, owner.value) is None:
            return None
        return get_record(self._records, RecordKind.ACCOUNT, owner.value, PersonalAccount)

    def account(self, subscriber: SubscriberId | str) -> PersonalAccount:
        """The personal account of a registered subscriber (empty if nothing was posted)."""
        sub = self._subscriber(_sid(subscriber))
        return self._stored_account(sub.id) or open_account(sub.id)

    def refund_record(self, request_id: str) -> RefundDecision | Claim:
        """A refund request's stored result: the granted decision or the claim."""
        found = self._records.find(RecordKind.REFUND, request_id)
        if isinstance(found, RefundDecision | Claim):
            return found
        raise RecordNotFound(
            f"no refund request {request_id!r} in the register", kind="refund", key=request_id
        )

    def _subscriber(self, sid: SubscriberId) -> Subscriber:
        return get_record(self._records, RecordKind.SUBSCRIBER, sid.value, Subscriber)

    def money_totals(self) -> MoneyTotals:
        """Sum the whole store: what came in, where it is, what went back (R9, R14, R16)."""
        orders = list(iter_records(self._records, RecordKind.ORDER, Order))
        accounts = list(iter_records(self._records, RecordKind.ACCOUNT, PersonalAccount))
        received = total(
            r.amount
            for o in orders
            for r in o.receipts
            if r.method is not PaymentMethod.ACCOUNT_BALANCE
        ) + total(a.topped_up for a in accounts)
        return MoneyTotals(
            received=received,
            held_on_orders=total(o.amount_held for o in orders),
            held_on_accounts=total(a.balance for a in accounts),
            refunded=total(o.refunded for o in orders) + total(a.refunded for a in accounts),
        )

    # --- writing ------------------------------------------------------------------------------

    def _retry(self, attempt: Callable[[], T]) -> T:
        for _ in range(ATTEMPTS - 1):
            try:
                return attempt()
            except RecordChanged:
                continue
        return attempt()

    def _write(
        self,
        at: dt.datetime,
        changes: Iterable[tuple[RecordKind, str, object, object | None]],
    ) -> None:
        """Write each (kind, key, new, as read) together, only if none changed since read."""
        items = list(changes)
        self._records.put_all(
            [(kind, key, new) for kind, key, new, _ in items],
            at=at,
            unchanged=[(kind, key, old) for kind, key, _, old in items],
        )

    # --- orders -------------------------------------------------------------------------------

    def create_order(
        self,
        order_id: OrderId | str,
        customer: SubscriberId | str,
        items: Sequence[OrderItem],
        *,
        plan: TariffPlanId | str = "basic",
        seller: SellerCode = SellerCode.SERVER_CENTR,
        method: PaymentMethod = PaymentMethod.BANK_CARD,
        entry_point: EntryPoint = EntryPoint.DIGITAL_PROFILE,
        recipients: Sequence[SubscriberId | str] = (),
        activation: ActivationTarget | None = None,
        discounts: Sequence[AnyDiscount] = (),
    ) -> Order:
        """Place an order on any entry point (R8) at the prices of today's business day (R11).

        The customer is registered; verification is not needed to order (R3: it is needed for
        fulfilment). The payment method is chosen now and the seller must accept it (R9, R13).
        """
        if self._catalogue is None:
            raise ConfigError("no tariff catalogue: orders cannot be priced (R11)", field="tariffs")
        oid, cid = _oid(order_id), _sid(customer)
        now = self._now()
        if self._records.find(RecordKind.ORDER, oid.value) is not None:
            raise InvalidInput(f"order {oid} already exists")

        def lookup(sid: SubscriberId) -> Subscriber | None:
            found = self._records.find(RecordKind.SUBSCRIBER, sid.value)
            return found if isinstance(found, Subscriber) else None

        draft = draft_order(
            oid,
            cid,
            entry_point,
            seller,
            method,
            TariffPlanId(plan) if isinstance(plan, str) else plan,
            items,
            [_sid(r) for r in recipients] or [cid],
            now,
            activation=activation,
            discounts=discounts,
        )
        placed = place_order(
            draft, self._catalogue, now, SubscriberRegisterCheck(lookup), zone=self._zone
        )
        self._write(now, [(RecordKind.ORDER, oid.value, placed, None)])
        return placed

    def cancel(self, order_id: OrderId | str, reason: str) -> Cancellation:
        """Cancel an order not yet completed: its entitlement ends and the money it holds goes
        to the customer's personal account, where it stays refundable (R16)."""
        oid = _oid(order_id)

        def attempt() -> Cancellation:
            now = self._now()
            order = self.order(oid)
            stored = self._stored_account(order.customer)
            done = cancel_and_release(
                order,
                stored or open_account(order.customer),
                now,
                reason,
                entry_id=f"release-{oid.value}",
            )
            changes: list[tuple[RecordKind, str, object, object | None]] = [
                (RecordKind.ORDER, oid.value, done.order, order)
            ]
            if done.released.is_positive:
                changes.append((RecordKind.ACCOUNT, order.customer.value, done.account, stored))
            self._write(now, changes)
            return done

        return self._retry(attempt)

    # --- payments -----------------------------------------------------------------------------

    def notify_payment(
        self,
        order_id: OrderId | str,
        payment_id: str,
        amount: Money,
        method: PaymentMethod,
    ) -> ReceivedPayment:
        """A payment for an order arrived (bank transfer, card, Sberbank, Chronopay, cash at
        АО "Сервер-Центр"'s desk): applied once by its id; a repeat changes nothing (R9); the
        surplus is credited to the personal account in the same write (R14)."""
        oid = _oid(order_id)

        def attempt() -> ReceivedPayment:
            now = self._now()
            order = self.order(oid)
            stored = self._stored_account(order.customer)
            done = receive_payment(
                order,
                stored or open_account(order.customer),
                PaymentNotification(payment_id, oid, amount, method, now),
            )
            if done.outcome.status is PaymentStatus.DUPLICATE:
                return done
            changes: list[tuple[RecordKind, str, object, object | None]] = [
                (RecordKind.ORDER, oid.value, done.order, order)
            ]
            if done.outcome.surplus.is_positive:
                changes.append((RecordKind.ACCOUNT, order.customer.value, done.account, stored))
            self._write(now, changes)
            return done

        return self._retry(attempt)

    def pay_from_balance(
        self, order_id: OrderId | str, entry_id: str | None = None
    ) -> BalancePayment:
        """Pay what is outstanding from the money the order's seller holds on the customer's
        personal account (R9, R12, R14); the order and the account are written together."""
        oid = _oid(order_id)
        entry = entry_id or f"pay-{oid.value}"

        def attempt() -> BalancePayment:
            now = self._now()
            order = self.order(oid)
            stored = self._stored_account(order.customer)
            paid = pay_from_account(order, stored or open_account(order.customer), entry, now)
            self._write(
                now,
                [
                    (RecordKind.ORDER, oid.value, paid.order, order),
                    (RecordKind.ACCOUNT, order.customer.value, paid.account, stored),
                ],
            )
            return paid

        return self._retry(attempt)

    def top_up(
        self,
        subscriber: SubscriberId | str,
        entry_id: str,
        amount: Money,
        *,
        seller: SellerCode,
        method: PaymentMethod,
        reason: str = "top-up of the personal account",
    ) -> PersonalAccount:
        """Credit money received by ``seller`` by ``method`` to the personal account (R12–R14);
        cash only at АО "Сервер-Центр" (R13). An entry id is posted once."""
        sid = _sid(subscriber)

        def attempt() -> PersonalAccount:
            now = self._now()
            sub = self._subscriber(sid)
            stored = self._stored_account(sub.id)
            account = top_up(
                stored or open_account(sub.id),
                entry_id,
                amount,
                now,
                reason,
                holder=seller,
                method=method,
            )
            self._write(now, [(RecordKind.ACCOUNT, sub.id.value, account, stored)])
            return account

        return self._retry(attempt)

    # --- fulfilment ---------------------------------------------------------------------------

    def certificate_issued(self, order_id: OrderId, *, issued: int) -> Order:
        """The issuance pipeline stored a certificate under ``order_id``; ``issued`` is the
        register's count of certificates under it. The first starts fulfilment; the order
        completes when everything it bought is delivered. Idempotent."""

        def attempt() -> Order:
            now = self._now()
            order = self.order(order_id)
            updated = order
            if updated.state is OrderState.PAID and issued > 0:
                updated = start_fulfilment(updated, now)
            if updated.state is OrderState.IN_FULFILMENT and fulfilment_complete(
                updated, issued=issued
            ):
                updated = complete_order(updated, now)
            if updated is not order:
                self._write(now, [(RecordKind.ORDER, order_id.value, updated, order)])
            return updated

        return self._retry(attempt)

    def grant_access(self, order_id: OrderId | str, person: SubscriberId | str) -> Order:
        """Deliver the order's licence serial numbers, subscriptions and services to a verified
        person named in it (R3, R10); the order completes if nothing else is left to deliver."""
        oid, pid = _oid(order_id), _sid(person)

        def attempt() -> Order:
            now = self._now()
            order = self.order(oid)
            if pid not in order.recipients:
                raise InvalidInput(f"{pid} is not named in order {oid} (R10)")
            require_verified(self._subscriber(pid))  # R3: fulfilment needs verification
            updated = deliver_services(order, now)
            issued = 0 if self._issued_count is None else self._issued_count(oid)
            if updated.state is OrderState.IN_FULFILMENT and fulfilment_complete(
                updated, issued=issued
            ):
                updated = complete_order(updated, now)
            if updated is not order:
                self._write(now, [(RecordKind.ORDER, oid.value, updated, order)])
            return updated

        return self._retry(attempt)

    # --- refunds and claims -------------------------------------------------------------------

    def request_refund(
        self,
        request_id: str,
        *,
        channel: RequestChannel,
        order_id: OrderId | str | None = None,
        subscriber: SubscriberId | str | None = None,
        amount: Money | None = None,
        received_on: dt.date | None = None,
    ) -> RefundOutcome:
        """Assess the client's written request (R15) received on ``received_on`` (default:
        today's business day): about an order (``order_id``) — granted if nothing of it was
        delivered by then (R16; the order is cancelled, any rest released to the account),
        else a claim (R17) — or about the unused balance of ``subscriber``'s account (R16).
        The refund is due within 30 working days of the request day (R18)."""
        if (order_id is None) == (subscriber is None):
            raise InvalidInput("a refund request names an order or (for the balance) a subscriber")

        def attempt() -> RefundOutcome:
            now = self._now()
            day = self._received_on(received_on, now)
            if self._records.find(RecordKind.REFUND, request_id) is not None:
                raise InvalidInput(f"refund request {request_id} was already assessed")
            if order_id is None:
                who = _sid(subscriber or "")
                return self._balance_refund(request_id, who, channel, amount, day, now)
            return self._order_refund(request_id, _oid(order_id), channel, amount, day, now)

        return self._retry(attempt)

    def _received_on(self, given: dt.date | None, now: dt.datetime) -> dt.date:
        today = business_day(now, self._zone)
        if given is None:
            return today
        if given > today:
            raise InvalidInput(
                f"a request cannot be received on {given.isoformat()}, after today "
                f"({today.isoformat()}, business time) (R15)"
            )
        return given

    def _balance_refund(
        self,
        request_id: str,
        sid: SubscriberId,
        channel: RequestChannel,
        amount: Money | None,
        day: dt.date,
        now: dt.datetime,
    ) -> RefundOutcome:
        sub = self._subscriber(sid)
        stored = self._stored_account(sub.id)
        account = stored or open_account(sub.id)
        request = RefundRequest(request_id, sub.id, now, channel, None, amount, day)
        decision = assess_balance_refund(request, account, self._calendar)
        paid_out = pay_out_balance_refund(account, decision, now)
        self._write(
            now,
            [
                (RecordKind.ACCOUNT, sub.id.value, paid_out, stored),
                (RecordKind.REFUND, request_id, decision, None),
            ],
        )
        return RefundOutcome(decision, None, paid_out)

    def _order_refund(
        self,
        request_id: str,
        oid: OrderId,
        channel: RequestChannel,
        amount: Money | None,
        day: dt.date,
        now: dt.datetime,
    ) -> RefundOutcome:
        order = self.order(oid)
        request = RefundRequest(request_id, order.customer, now, channel, oid, amount, day)
        result = assess_order_refund(request, order, self._calendar, zone=self._zone)
        if isinstance(result, Claim):
            self._write(now, [(RecordKind.REFUND, request_id, result, None)])
            return RefundOutcome(result, None, None)
        refunded, account, stored = self._end_with_refund(order, result.amount, now, request_id)
        changes: list[tuple[RecordKind, str, object, object | None]] = [
            (RecordKind.ORDER, oid.value, refunded, order),
            (RecordKind.REFUND, request_id, result, None),
        ]
        if account is not None:
            changes.append((RecordKind.ACCOUNT, order.customer.value, account, stored))
        self._write(now, changes)
        return RefundOutcome(result, refunded, account)

    def _end_with_refund(
        self, order: Order, amount: Money, now: dt.datetime, request_id: str
    ) -> tuple[Order, PersonalAccount | None, PersonalAccount | None]:
        """Refund ``amount`` from ``order``; an order not yet completed is cancelled (the refund
        ends its entitlement) and what it still holds goes to the personal account. Returns the
        order, the changed account (None: unchanged) and the account as read."""
        refunded = record_order_refund(order, amount)
        stored = self._stored_account(order.customer)
        if refunded.state in (OrderState.COMPLETED, OrderState.CANCELLED):
            return refunded, None, stored
        done = cancel_and_release(
            refunded,
            stored or open_account(order.customer),
            now,
            f"refund {request_id} granted: the order's entitlement ends (R16)",
            entry_id=f"release-{order.id.value}",
        )
        return done.order, (done.account if done.released.is_positive else None), stored

    def decide_claim(
        self,
        request_id: str,
        *,
        approved: Money | None,
        reason: str,
        decided_by: str,
    ) -> RefundOutcome:
        """A person decides a claim (R17): ``approved`` None denies it; an approved amount is
        refunded from the order (never more than it holds) and due in 30 working days from the
        decision day (R18). An approval on an order still in fulfilment ends its entitlement."""

        def attempt() -> RefundOutcome:
            now = self._now()
            claim = get_record(self._records, RecordKind.REFUND, request_id, Claim)
            decided = decide_claim(
                claim,
                approved=approved,
                reason=reason,
                decided_at=now,
                decided_by=decided_by,
                calendar=self._calendar,
                zone=self._zone,
            )
            changes: list[tuple[RecordKind, str, object, object | None]] = [
                (RecordKind.REFUND, request_id, decided, claim)
            ]
            order: Order | None = None
            account: PersonalAccount | None = None
            if decided.status is ClaimStatus.APPROVED and decided.approved is not None:
                before = self.order(claim.order_id)
                if decided.approved > before.amount_held:
                    raise RefundRefused(
                        f"order {before.id} holds {before.amount_held}; the claim cannot "
                        f"approve {decided.approved} (R17)",
                        rule="R17",
                    )
                order, account, stored = self._end_with_refund(
                    before, decided.approved, now, request_id
                )
                changes.append((RecordKind.ORDER, before.id.value, order, before))
                if account is not None:
                    changes.append((RecordKind.ACCOUNT, before.customer.value, account, stored))
            self._write(now, changes)
            return RefundOutcome(decided, order, account)

        return self._retry(attempt)


def _oid(value: OrderId | str) -> OrderId:
    return value if isinstance(value, OrderId) else OrderId(value)


def _sid(value: SubscriberId | str) -> SubscriberId:
    return value if isinstance(value, SubscriberId) else SubscriberId(value)


__all__ = [
    # the service
    "ATTEMPTS",
    # the domain's types a caller of the service names (re-exported: one import for a caller)
    "MOSCOW",
    "ActivationTarget",
    "BalancePayment",
    "BillingService",
    "Cancellation",
    "Claim",
    "ClaimStatus",
    "EntryPoint",
    "IssuedCount",
    "Money",
    "MoneyTotals",
    "Order",
    "OrderItem",
    "PaymentMethod",
    "PersonalAccount",
    "ReceivedPayment",
    "RefundDecision",
    "RefundOutcome",
    "RequestChannel",
    "SellerCode",
    "business_zone",
    "catalogue_from",
]

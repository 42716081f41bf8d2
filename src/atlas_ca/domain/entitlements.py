"""Certificate entitlements of an order (R10, R16, R17): what a paid order buys in certificates,
who may receive them, and whether one more may be issued under it.

Decisions written down here:

* **What is bought.** An order buys as many certificates as the quantities of its lines whose
  product is a certificate issuance or renewal (:data:`CERTIFICATE_KINDS`; the kind is fixed on
  the line when the order is placed, like its price). Issuance and renewal lines form one pool:
  each unit is one certificate.
* **For whom.** The quantity is what was priced and paid (unit price × quantity,
  :func:`~atlas_ca.domain.tariffs.price_line`), so it counts certificates for the whole order,
  not per person: every person named in the order (R10) may receive certificates from that pool
  while it lasts. An order for one issuance naming two people gives one certificate, to the
  first who asks; an order for two gives two, to one person or one each. Multiplying by the
  recipients would hand out certificates nobody paid for.
* **What is used.** The caller counts, from the register, the certificates issued under the
  order *and* the issuances in progress (open intents): a request being signed holds its unit.
  A voided intent gives its unit back. The domain reads no storage: the count is a parameter.
* **Fulfilment** (in certificates) is complete when the certificates issued equal those bought
  (:func:`certificates_fulfilled`); the caller then completes the order
  (:func:`~atlas_ca.domain.orders.complete_order`), after which its money is not refundable
  (R17) and it grants nothing more: a COMPLETED order refuses any further issuance with
  :class:`~atlas_ca.errors.OrderExhausted`, whatever its count says (an operator may also close
  an order early; what is left is then a matter for a claim, R17).
* Before payment, for a person not named, or for a cancelled order nothing is issued
  (:class:`~atlas_ca.errors.OrderNotPaid`, R10). A refund ends the entitlement too: an order
  anything was refunded from issues nothing more (the billing service also cancels it; this
  check holds even for an order read before the cancellation was written).
* **Delivered** (:func:`fulfilment_complete`), per product kind of the catalogue:
  certificate issuance and renewal lines are delivered when the certificates issued under the
  order reach the quantity bought; software licences (a serial number), subscriptions and other
  services are delivered together when access is granted
  (:func:`~atlas_ca.domain.orders.deliver_services`: the serial number handed over, the
  service switched on). An order completes when every line is delivered. An order with nothing
  to deliver does not complete by itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId
from atlas_ca.domain.orders import Order, OrderState, service_access
from atlas_ca.domain.tariffs import ProductKind
from atlas_ca.errors import NoCertificateBought, OrderExhausted, OrderNotPaid

#: Product kinds of which each unit bought is one certificate.
CERTIFICATE_KINDS = frozenset({ProductKind.CERTIFICATE_ISSUANCE, ProductKind.CERTIFICATE_RENEWAL})


@dataclass(frozen=True, slots=True)
class BoughtCertificates:
    """One line of an order that buys certificates."""

    product: ProductCode
    kind: ProductKind
    quantity: int


@dataclass(frozen=True, slots=True)
class CertificateEntitlement:
    """What an order buys in certificates (``bought``) and who may receive them."""

    order_id: OrderId
    lines: tuple[BoughtCertificates, ...]
    recipients: tuple[SubscriberId, ...]

    @property
    def bought(self) -> int:
        return sum(line.quantity for line in self.lines)


def certificate_entitlement(order: Order) -> CertificateEntitlement:
    """The certificates ``order`` buys, from its priced lines (empty for a draft)."""
    lines = tuple(
        BoughtCertificates(line.product, line.kind, line.quantity)
        for line in order.lines
        if line.kind is not None and line.kind in CERTIFICATE_KINDS
    )
    return CertificateEntitlement(order.id, lines, order.recipients)


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    NOT_NAMED = "not_named"
    NOT_PAID = "not_paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    COMPLETED = "completed"
    NOTHING_BOUGHT = "nothing_bought"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class IssuanceDecision:
    """Whether ``person`` may receive one more certificate under the order, and why.

    ``used`` is what the caller counted: certificates issued under the order plus issuances in
    progress. ``remaining`` is what is left before this request.
    """

    order_id: OrderId
    person: SubscriberId
    verdict: Verdict
    bought: int
    used: int
    explanation: str
    rule: str = "R10"

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED

    @property
    def remaining(self) -> int:
        return max(self.bought - self.used, 0)


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")


def decide_issuance(order: Order, person: SubscriberId, *, used: int) -> IssuanceDecision:
    """May ``person`` receive one more certificate under ``order``, of which ``used`` are issued
    or being issued? Pure: the count comes from the caller's register (R10)."""
    _check_count("used", used)
    bought = certificate_entitlement(order).bought

    def decision(verdict: Verdict, explanation: str) -> IssuanceDecision:
        return IssuanceDecision(order.id, person, verdict, bought, used, explanation)

    if order.state is OrderState.CANCELLED:
        return decision(Verdict.CANCELLED, f"order {order.id} is cancelled")
    if order.refunded.is_positive:
        return decision(
            Verdict.REFUNDED,
            f"order {order.id} was refunded ({order.refunded}): a refund ends its entitlement "
            "(R16)",
        )
    access = service_access(order, person)
    if person not in order.recipients:
        return decision(Verdict.NOT_NAMED, access.explanation)
    if order.state is OrderState.COMPLETED:
        return decision(
            Verdict.COMPLETED,
            f"order {order.id} is completed: its services were received and it grants no "
            f"further certificate ({used} of {bought} used)",
        )
    if not access.granted:
        return decision(Verdict.NOT_PAID, access.explanation)
    if bought == 0:
        return decision(
            Verdict.NOTHING_BOUGHT,
            f"order {order.id} buys no certificate issuance or renewal",
        )
    if used >= bought:
        return decision(
            Verdict.EXHAUSTED,
            f"order {order.id} bought {bought} certificate(s) and {used} are issued or being "
            "issued",
        )
    return decision(
        Verdict.ALLOWED,
        f"order {order.id} is paid and names {person}; {bought - used} of {bought} "
        "certificate(s) left",
    )


def require_issuance(order: Order, person: SubscriberId, *, used: int) -> IssuanceDecision:
    """:func:`decide_issuance`, raising on refusal: OrderNotPaid (not paid, not named,
    cancelled), NoCertificateBought, or OrderExhausted (all used, or the order completed)."""
    decision = decide_issuance(order, person, used=used)
    context = {"order": order.id.value, "bought": decision.bought, "used": decision.used}
    verdict = decision.verdict
    if verdict is Verdict.ALLOWED:
        return decision
    if verdict in (Verdict.NOT_NAMED, Verdict.NOT_PAID, Verdict.CANCELLED, Verdict.REFUNDED):
        raise OrderNotPaid(
            f"{decision.explanation}: nothing is issued before payment (R10)",
            rule="R10",
            order=order.id.value,
            state=order.state.value,
        )
    if verdict is Verdict.NOTHING_BOUGHT:
        raise NoCertificateBought(
            f"{decision.explanation}: nothing to issue (R10)", rule="R10", **context
        )
    raise OrderExhausted(
        f"{decision.explanation}: a new order buys more (R10)",
        rule="R10",
        state=order.state.value,
        **context,
    )


def certificates_fulfilled(order: Order, *, issued: int) -> bool:
    """True when the certificates issued under ``order`` are all it bought (and it bought some):
    its certificate fulfilment is complete and the caller may complete the order (R17)."""
    _check_count("issued", issued)
    bought = certificate_entitlement(order).bought
    return bought > 0 and issued >= bought


def has_services(order: Order) -> bool:
    """True if ``order`` has lines other than certificates (licences, subscriptions, services)."""
    return any(line.kind not in CERTIFICATE_KINDS for line in order.lines)


def fulfilment_complete(order: Order, *, issued: int) -> bool:
    """True when everything ``order`` bought is delivered (see "Delivered" in the module
    docstring): the certificates it bought are issued and, if it has other lines, access to
    them was granted. An order with no lines is never complete by itself."""
    _check_count("issued", issued)
    if not order.lines:
        return False
    bought = certificate_entitlement(order).bought
    certificates_done = issued >= bought
    services_done = not has_services(order) or order.services_delivered_at is not None
    return certificates_done and services_done


__all__ = [
    "CERTIFICATE_KINDS",
    "BoughtCertificates",
    "CertificateEntitlement",
    "IssuanceDecision",
    "Verdict",
    "certificate_entitlement",
    "certificates_fulfilled",
    "decide_issuance",
    "fulfilment_complete",
    "has_services",
    "require_issuance",
]

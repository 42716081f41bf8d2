"""Steps shared by the billing tests (not a test module)."""

from __future__ import annotations

from atlas_ca.domain.entitlements import require_issuance
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.orders import Order
from support.billing_env import VERIFIED, Desk


def issue_one(desk: Desk, order_id: str, person: SubscriberId = VERIFIED) -> Order:
    """What the issuance pipeline does for the order's side: the entitlement check at *prepare*
    on the order as stored now (R10), then, once the certificate is stored, the register's count
    reported to :meth:`BillingService.certificate_issued`."""
    oid = OrderId(order_id)
    require_issuance(desk.billing.current_order(oid), person, used=desk.issued.get(order_id, 0))
    desk.issued[order_id] = desk.issued.get(order_id, 0) + 1
    return desk.billing.certificate_issued(oid, issued=desk.issued[order_id])

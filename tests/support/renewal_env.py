"""Set-up of the remote-renewal tests (not a test module): a world whose subscriber holds a
certificate issued by the pipeline, a paid renewal order, the CA's CRL and a signed request."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    PaymentReceipt,
    RegisteredCustomers,
    draft_order,
    place_order,
    record_receipt,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.tariffs import Catalogue, PriceVersion, Product, ProductKind, TariffPlan
from atlas_ca.hsm.base import SigningKey
from atlas_ca.services.issuance import OtpConfirmation
from atlas_ca.services.renewal import RenewalRequest, RenewalService, renewal_binding
from atlas_ca.trust import PathValidator
from atlas_ca.trust.cms import sign_attached
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from support.issuance_env import PLAN, T0, World, make_csr, software_key

RENEW = ProductCode("kep-renew")
RENEWAL_CATALOGUE = Catalogue(
    products=[
        Product(RENEW, "Продление квалифицированного сертификата", ProductKind.CERTIFICATE_RENEWAL)
    ],
    plans=[TariffPlan(PLAN, "Базовый")],
    prices=[PriceVersion(PLAN, RENEW, dt.date(2025, 1, 1), Money(Decimal("1800.00")))],
)


def renewal_order(subscriber: SubscriberId, order_id: str = "ord-renew") -> Order:
    """A paid order of one certificate renewal for ``subscriber``."""
    draft = draft_order(
        OrderId(order_id), subscriber, EntryPoint.DIGITAL_PROFILE, SellerCode.ATLAS_2,
        PaymentMethod.BANK_CARD, PLAN, (OrderItem(RENEW, 1),), (subscriber,),
        T0 - dt.timedelta(days=2),
    )  # fmt: skip
    placed = place_order(
        draft, RENEWAL_CATALOGUE, T0 - dt.timedelta(days=2),
        RegisteredCustomers(frozenset({subscriber})),
    )  # fmt: skip
    return record_receipt(
        placed,
        PaymentReceipt(
            f"pay-{order_id}", placed.total, PaymentMethod.BANK_CARD, T0 - dt.timedelta(days=1)
        ),
    )


def revoked_entry(cert: Certificate, at: dt.datetime) -> RevokedEntry:
    return RevokedEntry(
        cert.serial_number, at - dt.timedelta(hours=2), RevocationReason.KEY_COMPROMISE
    )


def ca_crl(
    world: World, *revoked: Certificate, number: int = 1, at: dt.datetime | None = None
) -> bytes:
    at = at or world.clock.now()
    return (
        CrlBuilder()
        .issuer_certificate(world.ca.certificate.der)
        .this_update(at - dt.timedelta(hours=1))
        .next_update(at + dt.timedelta(days=7))
        .crl_number(number)
        .sign(world.ca.key, [revoked_entry(c, at) for c in revoked])
        .der()
    )


@dataclasses.dataclass
class Renewal:
    world: World
    current: Certificate  # the subscriber's valid certificate, issued by the pipeline
    new_key: SigningKey
    order: Order

    def service(self, *crl_revoked: Certificate, crl: bytes | None = None) -> RenewalService:
        crl_der = crl if crl is not None else ca_crl(self.world, *crl_revoked)
        return RenewalService(
            issuance=self.world.service(),
            validator=PathValidator([self.world.ca.certificate.der], crls=[crl_der]),
            register=self.world.register,
            clock=self.world.clock,
        )

    def signed(
        self, *, csr: bytes | None = None, key: SigningKey | None = None,
        certificate: Certificate | None = None,
    ) -> bytes:  # fmt: skip
        return sign_attached(
            csr if csr is not None else make_csr(self.new_key),
            key or self.world.subscriber_key,
            (certificate or self.current).der,
            at=self.world.clock.now(),
        )

    def request(self, signed: bytes | None = None, **kw: object) -> RenewalRequest:
        signed = signed if signed is not None else self.signed()
        subscriber = kw.pop("subscriber", self.world.subscriber)
        order = kw.pop("order", self.order)
        assert isinstance(order, Order)
        challenge, code = self.world.challenge(
            renewal_binding(signed, order, "individual"),
            subscriber.id,  # type: ignore[attr-defined]
        )
        return RenewalRequest(
            signed_request=signed,
            subscriber=subscriber,  # type: ignore[arg-type]
            order=order,
            confirmation=OtpConfirmation(challenge.id, code),
            **kw,  # type: ignore[arg-type]
        )


def make_renewal(world: World, base: Path) -> Renewal:
    current = world.service().issue(world.request(csr=make_csr(world.subscriber_key))).certificate
    return Renewal(
        world, current, software_key(base, "subscriber-new", "cryptopro-a"),
        renewal_order(world.subscriber.id),
    )  # fmt: skip

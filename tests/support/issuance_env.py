"""Shared set-up of the issuance, revocation and CRL publication tests (not a test module).

A self-signed test CA (GOST R 34.10-2012 256, software key or SoftHSM key), a verified
subscriber taken through R2 with the domain's fakes, a paid order, a CSR and a one-time code
bound to the issuance; registers on SQLite and PostgreSQL (the storage tests' fixtures).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
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
from atlas_ca.domain.otp import OperationBinding, create_challenge
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.domain.tariffs import Catalogue, PriceVersion, Product, ProductKind, TariffPlan
from atlas_ca.gost import generate_private_scalar, public_key_from_private
from atlas_ca.gost import param_set as gost_param_set
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.software import SoftwarePrehashKey, generate_software_key, open_software_key
from atlas_ca.profiles.config import CaConfig
from atlas_ca.profiles.planning import issue_certificate, plan_ca_certificate
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.issuance import (
    IssuanceRequest,
    IssuanceService,
    OtpConfirmation,
    issuance_binding,
)
from atlas_ca.services.ports import DirectoryOutbox, InMemoryChallengeStore
from atlas_ca.storage.ports import IdempotencyKey, Register
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support import registers as registers
from support.profiles_samples import CA_ORG, CONFIG

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
SIGN_TOOL = 'СКЗИ "КриптоПро CSP" (версия 5.0)'
KEP = ProductCode("kep-issue")
PLAN = TariffPlanId("basic")

CATALOGUE = Catalogue(
    products=[Product(KEP, "Квалифицированный сертификат ЭП", ProductKind.CERTIFICATE_ISSUANCE)],
    plans=[TariffPlan(PLAN, "Базовый")],
    prices=[PriceVersion(PLAN, KEP, dt.date(2025, 1, 1), Money(Decimal("3600.00")))],
)


class FakeClock:
    """A settable clock (the services' Clock port)."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


def software_key(base: Path, name: str, param_set: str | None = None) -> SigningKey:
    path = base / f"{name}.key"
    if not path.exists():
        generate_software_key(
            path, KeyType.GOST3410_2012_256, password="test", param_set=param_set, iterations=1000
        )
    return open_software_key(f"file:{path}", password="test")


def make_ca(key: SigningKey, config: CaConfig = CONFIG) -> CertificateAuthority:
    plan = plan_ca_certificate(
        CA_ORG,
        key.public_key_info,
        config,
        key,
        not_before=T0 - dt.timedelta(days=1),
        not_after=T0 + dt.timedelta(days=3650),
    )
    certificate = issue_certificate(plan, key, serial=1, self_signed=True)
    return CertificateAuthority(key, certificate, config)


#: What the shared world's order buys: enough issuances for the load and fault tests (the
#: entitlement tests build orders of their own).
WORLD_ORDER_QUANTITY = 5000


def paid_order(
    subscriber: SubscriberId,
    order_id: str = "ord-1",
    *,
    paid: bool = True,
    quantity: int = 1,
    recipients: tuple[SubscriberId, ...] = (),
) -> Order:
    """An order of ``subscriber`` for ``quantity`` certificate issuances (KEP), naming
    ``recipients`` (default: the subscriber), paid in full unless ``paid`` is False."""
    draft = draft_order(
        OrderId(order_id),
        subscriber,
        EntryPoint.DIGITAL_PROFILE,
        SellerCode.ATLAS_2,
        PaymentMethod.BANK_CARD,
        PLAN,
        (OrderItem(KEP, quantity),),
        recipients or (subscriber,),
        T0 - dt.timedelta(days=2),
    )
    placed = place_order(
        draft, CATALOGUE, T0 - dt.timedelta(days=2), RegisteredCustomers(frozenset({subscriber}))
    )
    if not paid:
        return placed
    return record_receipt(
        placed,
        PaymentReceipt(
            f"pay-{order_id}", placed.total, PaymentMethod.BANK_CARD, T0 - dt.timedelta(days=1)
        ),
    )


def fresh_key() -> SigningKey:
    """A new GOST 256 (CryptoPro-A) key in memory: every certificate certifies a key of its own
    (the register certifies a key once, 63-ФЗ ст. 13)."""
    ps = gost_param_set("cryptopro-a")
    d = generate_private_scalar(ps)
    spki = public_key_from_private(ps, d).spki_der()
    return SoftwarePrehashKey(KeyType.GOST3410_2012_256, spki, (ps, d), "memory:test")


def make_csr(key: SigningKey, common_name: str = "Иванов Иван Иванович") -> bytes:
    subject = Name.build([(oids.NameAttribute.COMMON_NAME, common_name)])
    return CsrBuilder().subject_name(subject).sign(key).der


@dataclass
class World:
    """One CA, one register, one subscriber with a paid order and a key; build requests."""

    ca: CertificateAuthority
    register: Register
    outbox: DirectoryOutbox
    clock: FakeClock
    subscriber: Subscriber
    order: Order
    subscriber_key: SigningKey
    challenges: InMemoryChallengeStore = field(default_factory=InMemoryChallengeStore)
    steps: list[str] = field(default_factory=list)

    def service(self, **kw: Any) -> IssuanceService:
        values: dict[str, Any] = {
            "ca": self.ca,
            "register": self.register,
            "challenges": self.challenges,
            "outbox": self.outbox,
            "clock": self.clock,
            "random_bytes": secrets.token_bytes,
            "on_step": self.steps.append,
        }
        values.update(kw)
        return IssuanceService(**values)

    def challenge(
        self, binding: OperationBinding, subscriber: SubscriberId | None = None
    ) -> tuple[Any, str]:
        challenge, code = create_challenge(
            subscriber or self.subscriber.id,
            binding,
            now=self.clock.now(),
            random_bytes=secrets.token_bytes,
        )
        self.challenges.save(challenge)
        return challenge, code

    def request(
        self,
        *,
        csr: bytes | None = None,
        profile: str = "individual",
        key: str | None = None,
        code: str | None = None,
        **kw: Any,
    ) -> IssuanceRequest:
        csr = csr if csr is not None else make_csr(fresh_key())
        order = kw.pop("order", self.order)
        challenge, real_code = self.challenge(issuance_binding(csr, order, profile))
        values: dict[str, Any] = {
            "csr": csr,
            "subscriber": self.subscriber,
            "order": order,
            "profile": profile,
            "subject_sign_tool": SIGN_TOOL,
            "confirmation": OtpConfirmation(challenge.id, real_code if code is None else code),
            "idempotency_key": None if key is None else IdempotencyKey(key),
        }
        values.update(kw)
        return IssuanceRequest(**values)


def make_world(register: Register, base: Path, ca_key: SigningKey | None = None) -> World:
    """A world in ``base``: the CA key, CA certificate and subscriber key are created once and
    reused by every process that builds a world in the same directory."""
    key = ca_key or software_key(base, "ca")
    cert_path = base / "ca.der"
    if cert_path.exists():
        ca = CertificateAuthority(key, Certificate.from_der(cert_path.read_bytes()), CONFIG)
    else:
        ca = make_ca(key)
        cert_path.write_bytes(ca.certificate.der)
    subscriber = verified_subscriber("sub-1", at=T0 - dt.timedelta(days=3))
    return World(
        ca=ca,
        register=register,
        outbox=DirectoryOutbox(base / "outbox"),
        clock=FakeClock(),
        subscriber=subscriber,
        order=paid_order(subscriber.id, quantity=WORLD_ORDER_QUANTITY),
        subscriber_key=software_key(base, "subscriber", "cryptopro-a"),
    )


# --- the storage tests' register fixtures (SQLite, and PostgreSQL per ATLAS_CA_TEST_PG_DSN) ----

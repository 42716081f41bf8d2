"""Remote renewal (R20): a subscriber with a valid qualified certificate renews without a visit.

The subscriber sends a new certification request inside a CMS SignedData signed with the key of
the current certificate (GOST CAdES-BES, attached — :mod:`atlas_ca.trust.cms`). The CA:

1. opens the SignedData: digest, signature over the signed attributes, signingCertificateV2
   naming the signer's certificate (refused: ``signature``);
2. requires a renewal line in the order (:class:`~atlas_ca.errors.RenewalNotBought`); the
   count of certificates left is the issuance pipeline's (R10);
3. validates the signer's certificate *now*, up to the trust store, with revocation required
   (RFC 5280 §6 and §6.3, :class:`atlas_ca.trust.PathValidator`): revoked or on hold →
   :class:`~atlas_ca.errors.RenewalSignerRevoked`, expired →
   :class:`~atlas_ca.errors.RenewalSignerExpired`, anything else (no path, revocation unknown,
   bad signature in the chain) → :class:`~atlas_ca.errors.RenewalSignerUntrusted`;
4. requires the signer to be the same subscriber: a certificate of this CA must be registered
   to this subscriber, and for any certificate the СНИЛС must be the subscriber's
   (:class:`~atlas_ca.errors.RenewalAnotherPerson`);
5. requires the verified data to be unchanged since that certificate: the identity attributes
   the new certificate would carry (surname, given name, СНИЛС, ИНН, ОГРНИП) equal the old
   ones, else :class:`~atlas_ca.errors.RenewalDataChanged` sends the person back to
   verification at a registrar (R2);
6. requires a new key (the request's key is not the signer's);
7. issues through the normal pipeline (:class:`~atlas_ca.services.issuance.IssuanceService`):
   verified subscriber (R3), paid order with a certificate left (R10), profile, lint, one-time
   code (R7), record before sign, verify, store.

Nothing is recorded and no code is spent when a step before 7 refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509

from atlas_ca.asn1.oids import NameAttribute, Oid, RuAttribute
from atlas_ca.domain.entitlements import certificate_entitlement
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import OperationBinding
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.domain.tariffs import ProductKind
from atlas_ca.errors import (
    CertificateRevoked,
    PathValidationFailed,
    RecordNotFound,
    RenewalAnotherPerson,
    RenewalDataChanged,
    RenewalNotBought,
    RenewalRefused,
    RenewalSignerExpired,
    RenewalSignerRevoked,
    RenewalSignerUntrusted,
    SignatureInvalid,
)
from atlas_ca.profiles.planning import Address
from atlas_ca.services.issuance import (
    IssuanceRequest,
    IssuanceResult,
    IssuanceService,
    OtpConfirmation,
    issuance_binding,
)
from atlas_ca.services.ports import Clock
from atlas_ca.storage.ports import IdempotencyKey, IssuerKeyId, Register
from atlas_ca.trust.cms import SignedContent, open_signed
from atlas_ca.trust.validation import (
    PathCertificate,
    PathValidator,
    ValidatedPath,
    describe,
    load_certificate,
)
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.names import Name

#: A signing time this far in the future of the CA's clock is refused (clock skew allowed).
SIGNING_TIME_SKEW = timedelta(minutes=5)

#: Identity attributes that must not have changed since the signer's certificate (R2, R6).
IDENTITY_ATTRIBUTES: tuple[Oid, ...] = (
    NameAttribute.SURNAME,
    NameAttribute.GIVEN_NAME,
    RuAttribute.SNILS,
    RuAttribute.INN,
    RuAttribute.OGRNIP,
)


@dataclass(frozen=True, slots=True)
class RenewalRequest:
    """A remote renewal: the signed request (CAdES-BES over a PKCS #10, DER or PEM), who asks,
    under which order, and the one-time code bound to the request's CSR (R7)."""

    signed_request: bytes = field(repr=False)
    subscriber: Subscriber
    order: Order
    confirmation: OtpConfirmation
    profile: str = "individual"
    subject_sign_tool: str = 'СКЗИ "КриптоПро CSP" (версия 5.0)'
    idempotency_key: IdempotencyKey | None = None
    address: Address | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class RenewalCheck:
    """What the checks before issuance established."""

    csr: bytes
    signer: PathCertificate
    signer_path: ValidatedPath
    signing_time: datetime


def renewal_binding(signed_request: bytes, order: Order, profile: str) -> OperationBinding:
    """What the one-time code of a renewal confirms: the CSR inside the signed request (by its
    digest), under this order and profile — the issuance binding of that CSR."""
    return issuance_binding(open_signed(signed_request).content, order, profile)


def _attributes(name: asn1_x509.Name) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for rdn in name.chosen:
        for atv in rdn:
            value = atv["value"].native
            out.setdefault(atv["type"].dotted, []).append(str(value).strip())
    return {k: tuple(v) for k, v in out.items()}


def _planned(name: Name) -> dict[str, tuple[str, ...]]:
    return {oid.dotted: tuple(v.strip() for v in name.get(oid)) for oid in IDENTITY_ATTRIBUTES}


class RenewalService:
    """R20 renewals into one CA, checked against one trust store (see the module docstring).

    ``validator`` holds the trust anchors (this CA's certificate, or the head CA's roots with
    the cross-certificates) and the CRLs; it should require revocation
    (:attr:`atlas_ca.trust.RevocationMode.REQUIRE`, its default).
    """

    def __init__(
        self,
        *,
        issuance: IssuanceService,
        validator: PathValidator,
        register: Register,
        clock: Clock,
    ) -> None:
        self._issuance = issuance
        self._validator = validator
        self._register = register
        self._clock = clock

    def _issuance_request(self, request: RenewalRequest, csr: bytes) -> IssuanceRequest:
        return IssuanceRequest(
            csr=csr,
            subscriber=request.subscriber,
            order=request.order,
            profile=request.profile,
            subject_sign_tool=request.subject_sign_tool,
            confirmation=request.confirmation,
            idempotency_key=request.idempotency_key,
            address=request.address,
            email=request.email,
        )

    def check(self, request: RenewalRequest) -> RenewalCheck:
        """Steps 1–6; raise the specific refusal of the first that fails."""
        now = self._clock.now()
        subscriber = str(request.subscriber.id)
        try:
            signed = open_signed(request.signed_request)
        except SignatureInvalid as exc:
            raise RenewalRefused(
                f"the renewal request's signature does not check out: {exc} (R20)",
                reason="signature",
                subscriber=subscriber,
            ) from exc
        self._require_renewal_line(request.order)
        path = self._validate_signer(signed, now, subscriber)
        signer = load_certificate(signed.signer, "signer's certificate")
        if not path.target.not_before <= signed.signing_time <= now + SIGNING_TIME_SKEW:
            raise RenewalRefused(
                f"the signing time {signed.signing_time:%Y-%m-%d %H:%M:%SZ} is outside the "
                f"signer's certificate or in the future (R20)",
                reason="signature",
                subscriber=subscriber,
            )
        self._require_same_subscriber(signer, request)
        csr = CertificationRequest.load(signed.content)
        if csr.public_key_info == signer.public_key.dump():
            raise RenewalRefused(
                "the renewal request reuses the current certificate's key: a renewal needs a "
                "new key pair (R20)",
                reason="same-key",
                subscriber=subscriber,
            )
        prepared = self._issuance.prepare(self._issuance_request(request, signed.content), at=now)
        if not isinstance(prepared, IssuanceResult):
            self._require_unchanged(signer, prepared.plan.subject, request)
        return RenewalCheck(signed.content, describe(signer), path, signed.signing_time)

    def signer_subscriber(self, signed_request: bytes) -> SubscriberId | None:
        """The subscriber this CA's register holds the request's signing certificate for, or
        None when the signer's certificate is not one of this CA's. Only a lookup: the request
        is not validated here (that is :meth:`check`)."""
        signer = load_certificate(open_signed(signed_request).signer, "signer's certificate")
        aki = signer.authority_key_identifier
        if aki is None or signer.issuer.dump() != self._issuance.ca.certificate.subject_der:
            return None
        try:
            record = self._register.get_certificate(
                IssuerKeyId.from_bytes(aki), int(signer.serial_number)
            )
        except RecordNotFound:
            return None
        return record.subscriber

    def renew(self, request: RenewalRequest) -> IssuanceResult:
        """Check (steps 1–6), then issue through the normal pipeline (step 7)."""
        checked = self.check(request)
        return self._issuance.issue(self._issuance_request(request, checked.csr))

    # --- the steps ----------------------------------------------------------------------------

    @staticmethod
    def _require_renewal_line(order: Order) -> None:
        lines = certificate_entitlement(order).lines
        if not any(line.kind is ProductKind.CERTIFICATE_RENEWAL for line in lines):
            raise RenewalNotBought(
                f"order {order.id} has no certificate-renewal line: a remote renewal is bought "
                "as a renewal (R20, R10)",
                rule="R20",
                order=order.id.value,
            )

    def _validate_signer(self, signed: SignedContent, now: datetime, who: str) -> ValidatedPath:
        try:
            return self._validator.validate(signed.signer, at=now, chain=signed.certificates)
        except CertificateRevoked as exc:
            raise RenewalSignerRevoked(
                f"the signer's certificate is revoked: {exc} (R20)",
                reason="revoked",
                check=exc.context.get("check"),
                subscriber=who,
            ) from exc
        except PathValidationFailed as exc:
            check = exc.context.get("check")
            if (
                check == "validity"
                and exc.context.get("certificate")
                == describe(load_certificate(signed.signer)).label
            ):
                raise RenewalSignerExpired(
                    f"the signer's certificate is not valid now: {exc} (R20)",
                    reason="expired",
                    check=check,
                    subscriber=who,
                ) from exc
            raise RenewalSignerUntrusted(
                f"the signer's certificate does not validate up to the trust store: {exc} (R20)",
                reason="untrusted",
                check=check,
                subscriber=who,
            ) from exc

    def _require_same_subscriber(
        self, signer: asn1_x509.Certificate, request: RenewalRequest
    ) -> None:
        who = request.subscriber.id
        ca = self._issuance.ca
        aki = signer.authority_key_identifier
        if signer.issuer.dump() == ca.certificate.subject_der and aki is not None:
            try:
                record = self._register.get_certificate(
                    IssuerKeyId.from_bytes(aki), int(signer.serial_number)
                )
            except RecordNotFound as exc:
                raise RenewalSignerUntrusted(
                    "the signer's certificate names this CA but is not in its register (R20)",
                    reason="untrusted",
                    subscriber=str(who),
                ) from exc
            if record.subscriber != who:
                raise RenewalAnotherPerson(
                    f"the renewal request is signed with a certificate of another subscriber, "
                    f"not {who} (R20)",
                    reason="another-person",
                    subscriber=str(who),
                )

    @staticmethod
    def _require_unchanged(
        signer: asn1_x509.Certificate, planned_subject: Name, request: RenewalRequest
    ) -> None:
        who = str(request.subscriber.id)
        old = _attributes(signer.subject)
        new = _planned(planned_subject)
        snils = RuAttribute.SNILS.dotted
        if old.get(snils, ()) != new.get(snils, ()):
            raise RenewalAnotherPerson(
                f"the signer's certificate carries another СНИЛС than subscriber {who}'s "
                "verified data (R20)",
                reason="another-person",
                subscriber=who,
            )
        changed = [
            oid.name
            for oid in IDENTITY_ATTRIBUTES
            if old.get(oid.dotted, ()) != new.get(oid.dotted, ())
        ]
        if changed:
            raise RenewalDataChanged(
                f"subscriber {who}'s verified data differs from the current certificate "
                f"({', '.join(changed)}): a remote renewal needs unchanged data; the person "
                "goes through identity verification at a registrar again (R2, R20)",
                reason="data-changed",
                subscriber=who,
                fields=tuple(changed),
            )


__all__ = [
    "IDENTITY_ATTRIBUTES",
    "RenewalCheck",
    "RenewalRequest",
    "RenewalService",
    "renewal_binding",
]

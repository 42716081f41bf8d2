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

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509

from atlas_ca.asn1.oids import NameAttribute, Oid, RuAttribute
from atlas_ca.domain.entitlements import certificate_entitlement
from atlas_ca.domain.identity_ports import SmsGateway
from atlas_ca.domain.ids import ChallengeId, OrderId, SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import OperationBinding, RandomBytes
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.domain.tariffs import ProductKind
from atlas_ca.errors import (
    CertificateRevoked,
    InvalidInput,
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
from atlas_ca.services.certificates import (
    DEFAULT_SIGN_TOOL,
    NO_CHALLENGE,
    RESOLVE_GRACE,
    PendingChallenges,
)
from atlas_ca.services.issuance import (
    IssuanceRequest,
    IssuanceResult,
    IssuanceService,
    OtpConfirmation,
    issuance_binding,
)
from atlas_ca.services.ports import ChallengeStore, Clock
from atlas_ca.storage.ports import (
    IdempotencyKey,
    IssuerKeyId,
    RecordKind,
    RecordStore,
    Register,
    get_record,
)
from atlas_ca.trust.cms import SignedContent, open_signed
from atlas_ca.trust.store import SUFFIXES, TrustStore, read_objects
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


# --- the two-step remote renewal (R7, R20) and its trust inputs ---------------------------


def published_crls(directory: Path) -> list[bytes]:
    """The CRLs in the CA's publication directory (full and delta, PEM or DER)."""
    if not directory.is_dir():
        return []
    crls: list[bytes] = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            crls.extend(read_objects(path)[1])
    return crls


def renewal_validator(
    ca_certificate: bytes,
    *,
    crl_dir: Path,
    trust_store: Path | None = None,
    crl_files: Sequence[Path] = (),
) -> PathValidator:
    """The path validator of renewals into this CA: trust anchors are the CA's own certificate
    and the trust store's (head CA roots, cross-certificates); CRLs are the CA's published ones
    in ``crl_dir``, the store's and ``crl_files``; revocation is required."""
    store = TrustStore((ca_certificate,))
    if trust_store is not None:
        store = store.merged(TrustStore.from_directory(trust_store))
    crls = [*published_crls(crl_dir), *store.crls]
    for f in crl_files:
        crls.extend(read_objects(f)[1])
    return PathValidator(store.anchors, intermediates=store.certificates, crls=crls)


@dataclass(frozen=True, slots=True)
class RenewalApplication:
    """A remote renewal as the subscriber sends it: the signed request, the order with its
    renewal line, and (if not the signer's own) the subscriber id."""

    signed_request: bytes = field(repr=False)
    order: OrderId
    subscriber: SubscriberId | None = None
    profile: str = "individual"
    subject_sign_tool: str = DEFAULT_SIGN_TOOL


@dataclass(frozen=True, slots=True)
class RenewalCodeSent:
    """Step 1 done: the request checked completely, the code sent to ``subscriber``."""

    challenge: ChallengeId
    expires_at: datetime
    subscriber: SubscriberId
    signer: str


def renewal_pending_key(binding: OperationBinding) -> str:
    """Where the challenge sent for a renewal waits for step 2 (by what it confirms)."""
    return f"pending-renew-{binding.digest().hex()[:40]}"


class RemoteRenewal:
    """R20 in two steps, as issuance (R7): :meth:`send_code` checks the signed request
    completely (signature, the signer's path with revocation, same subscriber, unchanged data,
    renewal line, new key) and sends the code; :meth:`renew` issues with it."""

    def __init__(
        self,
        *,
        renewal: RenewalService,
        issuance: IssuanceService,
        records: RecordStore,
        challenges: ChallengeStore,
        gateway: SmsGateway,
        clock: Clock,
        random_bytes: RandomBytes,
    ) -> None:
        self._renewal = renewal
        self._issuance = issuance
        self._records = records
        self._gateway = gateway
        self._clock = clock
        self._random = random_bytes
        self._pending = PendingChallenges(records, challenges, clock=clock)

    def _request(
        self, application: RenewalApplication, confirmation: OtpConfirmation
    ) -> RenewalRequest:
        who = application.subscriber
        if who is None:
            who = self._renewal.signer_subscriber(application.signed_request)
            if who is None:
                raise InvalidInput(
                    "the request's signer is not a certificate of this CA: name the subscriber"
                )
        subscriber = get_record(self._records, RecordKind.SUBSCRIBER, who.value, Subscriber)
        order = get_record(self._records, RecordKind.ORDER, application.order.value, Order)
        return RenewalRequest(
            signed_request=application.signed_request,
            subscriber=subscriber,
            order=order,
            confirmation=confirmation,
            profile=application.profile,
            subject_sign_tool=application.subject_sign_tool,
        )

    def send_code(self, application: RenewalApplication) -> RenewalCodeSent:
        """Step 1: every check of the renewal (nothing recorded), then the code (R7)."""
        request = self._request(application, OtpConfirmation(NO_CHALLENGE, ""))
        checked = self._renewal.check(request)
        binding = renewal_binding(request.signed_request, request.order, request.profile)
        challenge = self._pending.send(
            renewal_pending_key(binding),
            request.subscriber,
            binding,
            gateway=self._gateway,
            random_bytes=self._random,
        )
        return RenewalCodeSent(
            challenge.id, challenge.expires_at, request.subscriber.id, checked.signer.label
        )

    def renew(self, application: RenewalApplication, code: str) -> IssuanceResult:
        """Step 2: renew with the code sent for this same request, order and profile."""
        request = self._request(application, OtpConfirmation(NO_CHALLENGE, ""))
        binding = renewal_binding(request.signed_request, request.order, request.profile)
        sent = self._pending.find(renewal_pending_key(binding))
        # a crash between signing and storing left an intent open: complete or void it first
        self._issuance.resolve_open_intents(older_than=RESOLVE_GRACE)
        return self._renewal.renew(replace(request, confirmation=OtpConfirmation(sent.id, code)))


__all__ = [
    "IDENTITY_ATTRIBUTES",
    "RemoteRenewal",
    "RenewalApplication",
    "RenewalCheck",
    "RenewalCodeSent",
    "RenewalRequest",
    "RenewalService",
    "published_crls",
    "renewal_binding",
    "renewal_pending_key",
    "renewal_validator",
]

"""The issuance service: CSR + verified subscriber + paid order + one-time code → certificate.

One visible pipeline (style lesson 10; Boulder's ``ca/ca.go``)::

    prepare   parse the CSR, check its proof of possession; the subscriber is verified (R3),
              the organisation's authority is in force (R4), the order is paid, names the
              subscriber and has a certificate left of those it bought — issued and in-progress
              issuances count (R10, OrderExhausted); plan the certificate from the profile and
              VERIFIED data only
    lint      build the TBS with a fresh random serial; any lint error refuses, with findings
    confirm   the one-time code, bound to the operation and its parameters (R7), is spent
    record    the serial and the Streebog-256 digest of the TBS are committed as an intent; the
              register counts the order's live intents against what it bought in the same
              transaction, under the order's lock (a concurrent request that took the last
              certificate meanwhile makes this one OrderExhausted; its code is spent)
    sign      the CA key (HSM) signs the TBS; on failure the intent is voided
    verify    the certificate is checked against the CA certificate's public key and against
              the recorded TBS digest; on failure the intent is voided
    store     the certificate goes to the outbox (a file), then the register stores it and
              completes the intent in one transaction (with the ``certificate.issued`` audit
              event); only then is it returned

*record* and *store* are one group commit (issue 17, :mod:`atlas_ca.services.group_commit`):
the writes of concurrent requests waiting at either step go in one transaction, and each
request continues only once that transaction has committed — an intent is durable before the
token signs its TBS. A lone request is written alone. A failed transaction fails every request
in it, each with its own StorageUnavailable, and writes nothing of it.

A crash between *record* and *store* leaves an open intent. :meth:`IssuanceService.
resolve_open_intents` finds it on restart: with the certificate in the outbox (signed, verified,
digest equal to the intent's) the intent is completed, otherwise voided — its serial is never
used again. A certificate the register does not know is never returned.

Serials are 127-bit CSPRNG values; the register's primary key refuses a repeated one and the
pipeline draws a new serial. An idempotency key makes a retried request return the first
request's certificate (the code was spent by the first request and is not checked again).

The one-time code is checked after the lint, so a request refused for its data does not burn
the subscriber's code; it is checked before anything is recorded or signed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from atlas_ca.audit.events import Actor
from atlas_ca.domain.authorities import Authority, require_authority
from atlas_ca.domain.entitlements import IssuanceDecision, require_issuance
from atlas_ca.domain.ids import ChallengeId, OrderId, SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import Operation, OperationBinding, bind, verify_code
from atlas_ca.domain.subscribers import Subscriber, require_verified
from atlas_ca.errors import (
    AtlasCaError,
    CsrRejected,
    DecodeError,
    DuplicateIdempotencyKey,
    IdempotentRequestFailed,
    IntentNotOpen,
    InvalidPublicKey,
    IssuanceFailed,
    IssuanceInProgress,
    IssuancePending,
    KeyAlreadyCertified,
    OrderQuotaReached,
    RecordNotFound,
    SerialCollision,
    SignatureInvalid,
    StorageError,
    StorageReadOnly,
    StorageUnavailable,
)
from atlas_ca.gost import streebog256
from atlas_ca.profiles import PROFILES, ProfileKind, UnknownProfile, get_profile
from atlas_ca.profiles.planning import (
    Address,
    CertificatePlan,
    Organisation,
    PreparedTbs,
    SubscriberRequest,
    plan_subscriber_certificate,
    prepare_tbs,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.group_commit import DEFAULT_MAX_BATCH, BatchStats, GroupCommit
from atlas_ca.services.ports import (
    CertificateOutbox,
    ChallengeStore,
    Clock,
    RandomBytes,
    StepHook,
)
from atlas_ca.storage.ports import (
    CertificateRecord,
    IdempotencyKey,
    Intent,
    IntentOutcome,
    IntentState,
    IssuedCertificate,
    IssuerKeyId,
    NewIntent,
    ProfileName,
    Register,
    serial_text,
)
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.extensions import SubjectKeyIdentifier, key_identifier
from atlas_ca.x509.key_identity import public_key_fingerprint

#: Pipeline steps, in order; the step hook is called with each name once the step is done.
STEPS = ("prepare", "lint", "confirm", "record", "sign", "verify", "outbox", "store")
MAX_SERIAL_ATTEMPTS = 5
SYSTEM_ACTOR = Actor("system:issuance")


# --- the order life cycle (issue 12) ------------------------------------------------------------


class OrderProgress(Protocol):
    """The orders' side of issuance (:class:`~atlas_ca.services.billing.BillingService`):
    *prepare* checks the entitlement on the order as stored now (a refund or cancellation
    written after the caller read the order ends it), and each certificate stored is reported
    so the first starts the order's fulfilment and the last completes it (R10, R17)."""

    def current_order(self, order_id: OrderId) -> Order: ...

    def certificate_issued(self, order_id: OrderId, *, issued: int) -> Order: ...


# --- requests and results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OtpConfirmation:
    """The challenge a code was sent for, and the code the subscriber typed (R7)."""

    challenge: ChallengeId
    code: str = field(repr=False)


def _length_prefixed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def issuance_binding(
    csr: bytes | CertificationRequest, order: Order | OrderId, profile: str
) -> OperationBinding:
    """What the one-time code of an issuance confirms: this CSR (by its Streebog-256 digest),
    under this order and profile (R7).

    The only builder of an issuance binding: the code is sent with it and
    :meth:`IssuanceService.confirm` checks the code against it, so the two cannot drift.
    ``csr`` is PEM, DER or an already parsed request (the pipeline's; not parsed again)."""
    der = csr.der if isinstance(csr, CertificationRequest) else _parse_csr(csr).der
    order_id = order.id if isinstance(order, Order) else order
    return bind(
        Operation.ISSUE_CERTIFICATE,
        {"csr": streebog256(der).hex(), "order": order_id.value, "profile": profile},
    )


@dataclass(frozen=True, slots=True)
class IssuanceRequest:
    """Everything one issuance needs; the caller loads the domain objects from their registers.

    ``csr`` is PEM or DER. ``profile`` names a profile of :mod:`atlas_ca.profiles`
    (``individual``, ``entrepreneur``, ``legal-entity``). ``organisation`` (legal-entity
    profile) needs an authority of ``authorities`` in force (R4). ``not_after`` defaults to the
    profile's maximum. ``idempotency_key`` makes a retry return the first certificate.
    """

    csr: bytes = field(repr=False)
    subscriber: Subscriber
    order: Order
    profile: str
    subject_sign_tool: str
    confirmation: OtpConfirmation
    idempotency_key: IdempotencyKey | None = None
    organisation: Organisation | None = None
    authorities: tuple[Authority, ...] = ()
    title: str | None = None
    address: Address | None = None
    email: str | None = None
    not_after: datetime | None = None
    private_key_not_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class PreparedIssuance:
    """The outcome of *prepare*: a checked request and its certificate plan."""

    request: IssuanceRequest
    csr: CertificationRequest
    plan: CertificatePlan
    request_digest: bytes
    at: datetime
    entitlement: IssuanceDecision
    """The order's certificate entitlement as counted at *prepare* (R10)."""
    key_hash: bytes | None = None
    """The CSR key's fingerprint (``x509.key_identity``): the register certifies a key once."""


@dataclass(frozen=True, slots=True)
class IssuanceResult:
    """The issued certificate and its register record. ``replayed`` is True when an idempotency
    key found an earlier request's certificate; ``warnings`` are the plan's and the lint's."""

    certificate: Certificate
    record: CertificateRecord
    replayed: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolution:
    """What :meth:`IssuanceService.resolve_open_intents` did, by serial."""

    completed: tuple[int, ...] = ()
    voided: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    """Open intents younger than ``older_than``: possibly still being issued."""
    cleaned: tuple[int, ...] = ()
    """Outbox files of intents already resolved, removed."""


#: The profiles a subscriber's certificate is issued under (CA and OCSP certificates are not).
SUBSCRIBER_PROFILE_KINDS = frozenset(
    {ProfileKind.INDIVIDUAL, ProfileKind.ENTREPRENEUR, ProfileKind.LEGAL_ENTITY}
)
_SUBSCRIBER_KINDS = SUBSCRIBER_PROFILE_KINDS


# --- the service ------------------------------------------------------------------------------


def _parse_csr(data: bytes) -> CertificationRequest:
    try:
        return CertificationRequest.load(data)
    except InvalidPublicKey:
        raise  # the request's key is off the curve or of small order: say so, specifically
    except DecodeError as exc:
        raise CsrRejected(f"the certification request cannot be read: {exc}") from exc


class IssuanceService:
    """Issues certificates of one CA into one register (see the module docstring)."""

    def __init__(
        self,
        *,
        ca: CertificateAuthority,
        register: Register,
        challenges: ChallengeStore,
        outbox: CertificateOutbox,
        clock: Clock,
        random_bytes: RandomBytes,
        actor: Actor = SYSTEM_ACTOR,
        on_step: StepHook | None = None,
        orders: OrderProgress | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self._orders = orders
        self._ca = ca
        self._register = register
        self._challenges = challenges
        self._outbox = outbox
        self._clock = clock
        self._random = random_bytes
        self._actor = actor
        self._on_step = on_step
        # record and store are one group commit (issue 17): the intents of the requests waiting
        # at *record* and the certificates of those waiting at *store* share one transaction;
        # a lone request is written alone, as before
        self._writes: GroupCommit[_Write, _Written] = GroupCommit(
            self._write_batch, _batch_failed, max_batch
        )
        self._on_batch = on_batch  # observes each group commit (intents, certificates) first

    @property
    def ca(self) -> CertificateAuthority:
        return self._ca

    @property
    def batches(self) -> BatchStats:
        """How the writes of *record* and *store* were grouped so far (group commit, issue 17)."""
        return self._writes.stats

    @property
    def waiting_writes(self) -> int:
        """Writes queued for the next group commit (tests make batches with it)."""
        return self._writes.waiting

    def _done(self, step: str) -> None:
        if self._on_step is not None:
            self._on_step(step)

    def _now(self) -> datetime:
        now = self._clock.now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    # --- the pipeline ---------------------------------------------------------------------------

    def issue(self, request: IssuanceRequest) -> IssuanceResult:
        """Run the pipeline; raise a specific error at the first step that refuses."""
        now = self._now()
        prepared = self.prepare(request, at=now)
        if isinstance(prepared, IssuanceResult):
            return prepared
        self._done("prepare")
        for attempt in range(MAX_SERIAL_ATTEMPTS):
            serial = random_serial(self._random)
            tbs = self.lint(prepared, serial)
            self._done("lint")
            if attempt == 0:
                self.confirm(prepared)
                self._done("confirm")
            try:
                outcome = self.record(prepared, serial, tbs)
            except SerialCollision:
                continue
            if not outcome.created:  # a concurrent request with the same idempotency key won
                return self._replay(outcome, prepared.csr, request)
            self._done("record")
            certificate = self.sign(tbs, serial)
            self._done("sign")
            self.verify(certificate, serial, tbs)
            self._done("verify")
            record = self.store(prepared, certificate)
            warnings = prepared.plan.warnings + tuple(
                f"{f.code}: {f.message}" for f in tbs.report.findings
            )
            warnings += self._order_progress(prepared)
            return IssuanceResult(certificate, record, False, warnings)
        raise IssuanceFailed(
            f"no unused serial after {MAX_SERIAL_ATTEMPTS} random draws: the random source is "
            "broken",
            step="record",
        )

    def prepare(
        self, request: IssuanceRequest, *, at: datetime
    ) -> PreparedIssuance | IssuanceResult:
        """Check the request and plan the certificate (R3, R4, R10, profile rules).

        Returns the earlier result instead when the idempotency key has one.
        """
        profile = get_profile(request.profile)
        if profile.kind not in SUBSCRIBER_PROFILE_KINDS:  # `issue --profile ca` (issue 15)
            raise UnknownProfile(
                f"profile {profile.name!r} is not for subscribers; issue with one of: "
                + ", ".join(p.name for p in PROFILES.values() if p.kind in _SUBSCRIBER_KINDS),
                profile=profile.name,
            )
        csr = _parse_csr(request.csr)
        try:
            csr.verify()
        except SignatureInvalid as exc:
            raise CsrRejected(
                f"the certification request fails proof of possession: {exc}"
            ) from exc
        key_hash = public_key_fingerprint(csr.public_key)  # read and checked with the CSR
        # The register's reads of this step in one read transaction (issue 17): the earlier
        # request under the idempotency key, else the order's live intents and the key's holder
        reads = self._register.issuance_reads(
            self._ca.issuer_id, request.order.id, key_hash, request.idempotency_key
        )
        if reads.known is not None:
            return self._replay(reads.known, csr, request)
        assert reads.usage is not None
        subscriber, order = request.subscriber, request.order
        if self._orders is not None:  # issue 12: the order as stored now (refund/cancel end it)
            order = self._orders.current_order(order.id)
        require_verified(subscriber)
        # R10: paid, naming the subscriber, and one of the certificates it bought still free
        # (issued and in-progress issuances count); record() checks the count again, atomically.
        entitlement = require_issuance(order, subscriber.id, used=reads.usage.live)
        authority: Authority | None = None
        if request.organisation is not None:
            authority = require_authority(
                request.authorities,
                person=subscriber,
                organisation=request.organisation.inn,
                at=at,
            )
        self._require_new_key(reads.key_holder)
        plan = plan_subscriber_certificate(
            SubscriberRequest(
                profile=profile,
                subscriber=subscriber,
                public_key_info=csr.public_key_info,
                subject_sign_tool=request.subject_sign_tool,
                not_before=at,
                not_after=request.not_after,
                private_key_not_after=request.private_key_not_after,
                address=request.address,
                email=request.email,
                organisation=request.organisation,
                authority=authority,
                title=request.title,
                csr_subject=csr.subject,
            ),
            self._ca.config,
            self._ca.key,
            at=at,
        )
        digest = streebog256(
            _length_prefixed(
                csr.der,
                subscriber.id.value.encode(),
                order.id.value.encode(),
                profile.name.encode(),
                plan.not_after.isoformat().encode(),
            )
        )
        return PreparedIssuance(request, csr, plan, digest, at, entitlement, key_hash)

    def _require_new_key(self, holder: int | None) -> None:
        """A key already certified by this CA (to anyone: another person, or the same one) is
        refused before any code is spent; ``record`` decides atomically (63-ФЗ ст. 13: the CA
        keeps verification keys unique in its register; docs/register.md). ``holder`` is the
        serial of the live intent holding the key (:meth:`Register.issuance_reads`)."""
        if holder is not None:
            raise KeyAlreadyCertified(
                f"this public key is already certified by this CA (certificate "
                f"{serial_text(holder)}); a verification key is certified once: the applicant "
                "needs a new key pair",
                issuer=self._ca.issuer_id.value,
                serial=serial_text(holder),
            )

    def lint(self, prepared: PreparedIssuance, serial: int) -> PreparedTbs:
        """Build the TBS with ``serial``; LintFailed (with the findings) on any error."""
        return prepare_tbs(
            prepared.plan,
            serial=serial,
            algorithm=self._ca.key.signature_algorithm,
            issuer=self._ca.certificate,
        )

    def confirm(self, prepared: PreparedIssuance) -> None:
        """Spend the one-time code; OtpRefused (R7) unless it confirms exactly this issuance."""
        request = prepared.request
        binding = issuance_binding(prepared.csr, request.order.id, request.profile)
        now = self._now()
        checked = self._challenges.present(  # read, check and write back atomically (R7)
            request.confirmation.challenge,
            lambda challenge: verify_code(
                challenge,
                request.confirmation.code,
                binding,
                subscriber=request.subscriber.id,
                now=now,
            ),
        )
        checked.require_accepted()

    def record(self, prepared: PreparedIssuance, serial: int, tbs: PreparedTbs) -> IntentOutcome:
        """Commit the serial and the TBS digest before anything is signed.

        The register counts the order's live intents against what it bought in the same
        transaction; a request that lost the order's last certificate to a concurrent one since
        *prepare* is refused with OrderExhausted (R10) and nothing is recorded.
        """
        request = prepared.request
        try:
            outcome = self._writes.submit(  # committed when this returns (group commit)
                NewIntent(
                    issuer=self._ca.issuer_id,
                    serial=serial,
                    tbs_digest=streebog256(tbs.tbs.der),
                    subscriber=request.subscriber.id,
                    profile=ProfileName(prepared.plan.profile.name),
                    created_at=prepared.at,
                    order=request.order.id,
                    idempotency_key=request.idempotency_key,
                    request_digest=prepared.request_digest,
                    order_quota=prepared.entitlement.bought,
                    key_hash=prepared.key_hash,
                )
            )
            assert isinstance(outcome, IntentOutcome)
            return outcome
        except OrderQuotaReached as exc:
            live = exc.context.get("live")
            require_issuance(
                request.order,
                request.subscriber.id,
                used=live if isinstance(live, int) else prepared.entitlement.bought,
            )
            raise  # the domain allowed what the register refused: keep the register's word

    def sign(self, tbs: PreparedTbs, serial: int) -> Certificate:
        """Sign with the CA key; any failure voids the intent and raises IssuanceFailed.

        The signature is verified once, by :meth:`verify` against the CA certificate's key,
        before the certificate goes anywhere (issue 17: not also inside the signing call)."""
        try:
            return tbs.tbs.sign(self._ca.key, check=False)
        except Exception as exc:
            raise self._failed(serial, "sign", f"the CA key did not sign: {exc}", exc) from exc

    def verify(self, certificate: Certificate, serial: int, tbs: PreparedTbs) -> None:
        """The certificate is the recorded TBS, signed by the CA certificate's key."""
        try:
            if certificate.serial_number != serial or certificate.tbs_der != tbs.tbs.der:
                raise SignatureInvalid("the signed certificate is not the recorded TBS")
            certificate.verify_signed_by(self._ca.certificate.public_key_info)
        except Exception as exc:
            raise self._failed(
                serial, "verify", f"the signed certificate does not verify: {exc}", exc
            ) from exc

    def store(self, prepared: PreparedIssuance, certificate: Certificate) -> CertificateRecord:
        """Outbox first (durable), then the register (certificate + intent completed + audit)."""
        serial = certificate.serial_number
        issuer = self._ca.issuer_id
        try:
            self._outbox.put(issuer, serial, certificate.der)
        except Exception as exc:
            raise self._failed(
                serial, "outbox", f"the certificate outbox refused the write: {exc}", exc
            ) from exc
        self._done("outbox")
        request = prepared.request
        issued = _issued(
            issuer,
            certificate,
            request.subscriber.id,
            ProfileName(prepared.plan.profile.name),
            request.order.id,
            self._now(),
        )
        try:
            record = self._writes.submit(issued)  # group commit with concurrent issuances
            assert isinstance(record, CertificateRecord)
        except IntentNotOpen as exc:
            self._outbox.remove(issuer, serial)
            raise IssuanceFailed(
                f"the intent of serial {serial_text(serial)} was resolved by someone else "
                "while this request signed; the certificate is discarded",
                step="store",
                serial=serial_text(serial),
            ) from exc
        except StorageError as exc:
            raise IssuancePending(
                f"certificate {serial_text(serial)} was signed and kept in the outbox, but the "
                f"register did not store it ({exc}); it is not issued until the resolver "
                "completes its intent",
                step="store",
                serial=serial_text(serial),
            ) from exc
        self._outbox.remove(issuer, serial)
        self._done("store")
        return record

    def _order_progress(self, prepared: PreparedIssuance) -> tuple[str, ...]:
        """Issue 12 (order life cycle): report the certificate just stored to the orders' side.

        The certificate is issued whatever happens here; if the order cannot be updated now the
        result says so, and the next certificate (or :meth:`OrderProgress.certificate_issued`
        called again with the register's count) brings the order up to date."""
        if self._orders is None:
            return ()
        order_id = prepared.request.order.id
        try:
            issued = self._register.order_usage(order_id).certificates
            self._orders.certificate_issued(order_id, issued=issued)
        except AtlasCaError as exc:
            return (f"order {order_id} was not updated after this certificate: {exc}",)
        return ()

    # --- group commit of record and store (issue 17) ---------------------------------------------

    def _write_batch(self, writes: Sequence[_Write]) -> list[_Written | AtlasCaError]:
        """One transaction for every queued write: new intents and completed certificates."""
        intents = [w for w in writes if isinstance(w, NewIntent)]
        issued = [w for w in writes if isinstance(w, IssuedCertificate)]
        if self._on_batch is not None:
            self._on_batch(len(intents), len(issued))
        reg, actor = self._register, self._actor
        if len(writes) == 1:  # alone: the single-item transaction, as before batching
            try:
                if intents:
                    return [reg.record_intent(intents[0], actor=actor)]
                return [reg.complete_intent(issued[0], actor=actor)]
            except _MEMBER_REFUSALS as exc:
                return [exc]
        recorded, completed = reg.write_batch(intents, issued, actor=actor)
        by_intent, by_certificate = iter(recorded), iter(completed)
        return [
            next(by_intent) if isinstance(w, NewIntent) else next(by_certificate) for w in writes
        ]

    # --- failures and retries -------------------------------------------------------------------

    def _failed(self, serial: int, step: str, message: str, cause: BaseException) -> IssuanceFailed:
        note = "the intent was voided"
        try:
            self._register.void_intent(
                self._ca.issuer_id, serial, at=self._now(), actor=self._actor
            )
        except (StorageError, ValueError) as exc:
            note = f"the intent stays open for the resolver ({type(exc).__name__})"
        return IssuanceFailed(
            f"{message}; {note}; no certificate was issued",
            step=step,
            serial=serial_text(serial),
            cause=type(cause).__name__,
        )

    def _replay(
        self, outcome: IntentOutcome, csr: CertificationRequest, request: IssuanceRequest
    ) -> IssuanceResult:
        intent = outcome.intent
        same = (
            intent.subscriber == request.subscriber.id
            and intent.order == request.order.id
            and intent.profile.value == request.profile
        )
        if not same:
            raise DuplicateIdempotencyKey(
                "this idempotency key was used for a different request", issuer=intent.issuer.value
            )
        if intent.state is IntentState.VOIDED:
            raise IdempotentRequestFailed(
                "the first request under this idempotency key failed and its serial was voided; "
                "send the request again with a new idempotency key",
                serial=serial_text(intent.serial),
            )
        record = outcome.certificate
        if record is None:
            raise IssuanceInProgress(
                "the first request under this idempotency key is still being issued; retry later",
                serial=serial_text(intent.serial),
            )
        certificate = Certificate.from_der(record.der)
        if certificate.public_key_info != csr.public_key_info:
            raise DuplicateIdempotencyKey(
                "this idempotency key was used for a request with another public key",
                issuer=intent.issuer.value,
            )
        return IssuanceResult(certificate, record, replayed=True)

    # --- recovery -------------------------------------------------------------------------------

    def resolve_open_intents(self, *, older_than: timedelta = timedelta(0)) -> Resolution:
        """Complete or void every open intent of this CA created at least ``older_than`` ago.

        Run it on start-up (``older_than=0`` when no other node issues for this CA) and
        periodically with a grace period longer than one issuance (e.g. five minutes), so an
        intent still being signed elsewhere is left alone.
        """
        now = self._now()
        issuer = self._ca.issuer_id
        completed: list[int] = []
        voided: list[int] = []
        skipped: list[int] = []
        for intent in self._register.open_intents(issuer):
            if now - intent.created_at < older_than:
                skipped.append(intent.serial)
                continue
            der = self._outbox.get(issuer, intent.serial)
            certificate = None if der is None else self._matching(intent, der)
            try:
                if certificate is not None:
                    self._register.complete_intent(
                        _issued(
                            issuer,
                            certificate,
                            intent.subscriber,
                            intent.profile,
                            intent.order,
                            now,
                        ),
                        actor=self._actor,
                    )
                    completed.append(intent.serial)
                else:
                    self._register.void_intent(issuer, intent.serial, at=now, actor=self._actor)
                    voided.append(intent.serial)
            except IntentNotOpen:
                continue  # resolved meanwhile by its own request or another resolver
            if der is not None:
                self._outbox.remove(issuer, intent.serial)
        cleaned = list(self._clean_outbox(skipped))
        return Resolution(tuple(completed), tuple(voided), tuple(skipped), tuple(cleaned))

    def _matching(self, intent: Intent, der: bytes) -> Certificate | None:
        """The outbox certificate, if it is the intent's TBS signed by this CA."""
        try:
            certificate = Certificate.from_der(der)
            if certificate.serial_number != intent.serial:
                return None
            if streebog256(certificate.tbs_der) != intent.tbs_digest:
                return None
            certificate.verify_signed_by(self._ca.certificate.public_key_info)
        except (DecodeError, SignatureInvalid):
            return None
        return certificate

    def _clean_outbox(self, keep: list[int]) -> Iterator[int]:
        issuer = self._ca.issuer_id
        for owner, serial in list(self._outbox.entries()):
            if owner != issuer or serial in keep:
                continue
            try:
                state = self._register.get_intent(issuer, serial).state
            except RecordNotFound:
                state = IntentState.VOIDED
            if state is not IntentState.OPEN:
                self._outbox.remove(issuer, serial)
                yield serial


_Write = NewIntent | IssuedCertificate
_Written = IntentOutcome | CertificateRecord
#: What the register refuses one write for (its error is that request's; the others commit).
_MEMBER_REFUSALS = (
    SerialCollision,
    OrderQuotaReached,
    KeyAlreadyCertified,
    DuplicateIdempotencyKey,
    IntentNotOpen,
    RecordNotFound,
)


def _batch_failed(exc: BaseException, write: _Write, members: int) -> BaseException:
    """The error each member of a failed group commit gets: nothing of the batch was written.

    A lone request gets the register's own error, as before batching; members of a batch each
    get a fresh StorageUnavailable (StorageReadOnly if the database refused the write) naming
    their step and the batch, chained to the cause. *record* failing means nothing was recorded
    and nothing will be signed; *store* failing makes :meth:`IssuanceService.store` report
    IssuancePending (the certificate waits in the outbox for the resolver)."""
    if members == 1:
        return exc
    step = "record" if isinstance(write, NewIntent) else "store"
    kind = StorageReadOnly if isinstance(exc, StorageReadOnly) else StorageUnavailable
    return kind(
        f"{step}: the group commit of {members} writes failed ({type(exc).__name__}: {exc});"
        " nothing of the batch was written",
        step=step,
        batch=members,
    )


def _issued(
    issuer: IssuerKeyId,
    certificate: Certificate,
    subscriber: SubscriberId,
    profile: ProfileName,
    order: OrderId | None,
    at: datetime,
) -> IssuedCertificate:
    ski = certificate.extensions.get(SubjectKeyIdentifier)
    return IssuedCertificate(
        issuer=issuer,
        serial=certificate.serial_number,
        der=certificate.der,
        subject_key_id=ski.digest
        if ski is not None
        else key_identifier(certificate.public_key_info),
        subscriber=subscriber,
        profile=profile,
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        issued_at=at,
        order=order,
    )


__all__ = [
    "MAX_SERIAL_ATTEMPTS",
    "STEPS",
    "IssuanceRequest",
    "IssuanceResult",
    "IssuanceService",
    "OrderProgress",
    "OtpConfirmation",
    "PreparedIssuance",
    "Resolution",
    "issuance_binding",
]

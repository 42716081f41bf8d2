"""Certificate use cases: issuance in two steps (code sent, code confirmed) and the status
changes of a certificate (revoke, suspend, resume), by an operator or by the subscriber.

The CLI (``atlas-ca issue``, ``revoke``, ``suspend``, ``resume``) and the library facade are
thin shells over these two services; everything between "the arguments are parsed" and "the
result is printed" is here (issue 12):

* **issuance** (:class:`CertificateService`): an application (:class:`CertificateApplication`:
  CSR, subscriber id, order id, profile, organisation) is read against the records — the
  subscriber, the order, for the legal-entity profile the verified organisation and the
  person's authorities (R4) — and

  1. :meth:`~CertificateService.send_code` runs the issuance service's own checks (proof of
     possession, R3 verified subscriber, R10 paid order with a certificate left, profile,
     key not yet certified) **before** any SMS, then sends a one-time code bound to this CSR,
     order and profile (:func:`~atlas_ca.services.issuance.issuance_binding`, R7) and keeps
     it as the *pending challenge* of that binding;
  2. :meth:`~CertificateService.issue` finds the pending challenge of the same binding,
     completes or voids open intents older than :data:`RESOLVE_GRACE` (a crash between
     signing and storing), and runs the issuance pipeline with the code. The order's life
     cycle (fulfilment starts at the first certificate, completes at the last, R10/R17) is
     driven by the :class:`~atlas_ca.services.issuance.IssuanceService` it is given
     (``orders=``).

* **status changes** (:class:`CertificateStatusService`): an operator acts at once
  (:class:`~atlas_ca.services.revocation.ByOperator`); the certificate's own subscriber asks
  in two steps, like issuance — :meth:`~CertificateStatusService.send_code`, then the action
  with :class:`SubscriberCode` (R7; a subscriber may not state the CA's reasons).

A pending challenge is stored twice in the record store: under its own id (the challenge store
the issuance and revocation services present codes to) and under a key derived from what it
confirms, so the second step — another process, for the CLI — finds it from the same
arguments. Time and randomness are constructor parameters; nothing here reads a global clock.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace

from atlas_ca.domain.authorities import Authority
from atlas_ca.domain.identity_ports import SmsGateway
from atlas_ca.domain.ids import ChallengeId, OrderId, SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import OperationBinding, OtpChallenge, RandomBytes, send_challenge
from atlas_ca.domain.subscribers import OrganisationData, Subscriber, require_verified
from atlas_ca.errors import InvalidInput
from atlas_ca.profiles.planning import Address, Organisation
from atlas_ca.services.issuance import (
    IssuanceRequest,
    IssuanceResult,
    IssuanceService,
    OtpConfirmation,
    issuance_binding,
)
from atlas_ca.services.ports import ChallengeStore, Clock
from atlas_ca.services.revocation import ByOperator, BySubscriber, RevocationService
from atlas_ca.storage.ports import (
    CertificateRecord,
    IdempotencyKey,
    RecordKind,
    RecordStore,
    RevocationReason,
    get_record,
    iter_records,
    serial_text,
)

#: The subjectSignTool of a subscriber's certificate when the application names none.
DEFAULT_SIGN_TOOL = 'СКЗИ "КриптоПро CSP" (версия 5.0)'
#: The challenge id of the dry run before a code is sent (the code is not checked there).
NO_CHALLENGE = ChallengeId("not-sent-yet")
#: Open intents younger than this may still be signing in another process: left alone.
RESOLVE_GRACE = dt.timedelta(minutes=5)


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganisationRef:
    """Legal-entity profile: the verified organisation (a ЮЛ subscriber) the person acts for,
    and its address for stateOrProvinceName / localityName / streetAddress."""

    subscriber: SubscriberId
    address: Address = field(default_factory=Address)


@dataclass(frozen=True, slots=True)
class CertificateApplication:
    """An application for a certificate, as a caller states it: ids, not loaded records.

    ``csr`` is PEM or DER. ``profile`` names a subscriber profile (``individual``,
    ``entrepreneur``, ``legal-entity``); ``organisation`` is required by the legal-entity
    profile. ``title`` defaults to the authority's. ``idempotency_key`` makes a retried
    second step return the first step's certificate.
    """

    csr: bytes = field(repr=False)
    subscriber: SubscriberId
    order: OrderId
    profile: str = "individual"
    subject_sign_tool: str = DEFAULT_SIGN_TOOL
    organisation: OrganisationRef | None = None
    title: str | None = None
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True, slots=True)
class CodeSent:
    """A one-time code went to the subscriber's phone; the challenge waits for it (R7)."""

    challenge: ChallengeId
    expires_at: dt.datetime


class StatusAction(enum.Enum):
    """A status change of a certificate (63-ФЗ art. 14; RFC 5280 §5.3.1)."""

    REVOKE = "revoke"
    SUSPEND = "suspend"
    RESUME = "resume"


@dataclass(frozen=True, slots=True)
class SubscriberCode:
    """The certificate's own subscriber asks, with the code the first step sent (R7)."""

    subscriber: SubscriberId
    code: str = field(repr=False)


StatusRequester = ByOperator | SubscriberCode


# --- pending challenges ---------------------------------------------------------------------


def issuance_pending_key(binding: OperationBinding) -> str:
    """The record key of the pending issuance challenge for ``binding``."""
    return f"pending-{binding.digest().hex()[:40]}"


def status_pending_key(action: StatusAction, serial: int, subscriber: SubscriberId) -> str:
    """The record key of a subscriber's pending status-change challenge."""
    return f"pending-{action.value}-{serial_text(serial)}-{subscriber.value}"


class PendingChallenges:
    """The challenges sent and not yet confirmed, found by what they confirm."""

    def __init__(self, records: RecordStore, challenges: ChallengeStore, *, clock: Clock) -> None:
        self._records = records
        self._challenges = challenges
        self._clock = clock

    def keep(self, key: str, challenge: OtpChallenge) -> None:
        """Store a sent challenge (by its id, for the code check) and remember it under
        ``key`` (for the second step)."""
        self._challenges.save(challenge)
        self._records.put(RecordKind.CHALLENGE, key, challenge, at=self._clock.now())

    def send(
        self,
        key: str,
        subscriber: Subscriber,
        binding: OperationBinding,
        *,
        gateway: SmsGateway,
        random_bytes: RandomBytes,
    ) -> OtpChallenge:
        """Send ``subscriber`` a one-time code confirming ``binding`` (R7) and keep it under
        ``key``; a subscriber without a phone is refused before anything is sent (R1)."""
        if subscriber.phone is None:
            raise InvalidInput(f"subscriber {subscriber.id} has no phone for the code (R1)")
        challenge = send_challenge(
            gateway,
            subscriber.phone,
            subscriber.id,
            binding,
            now=self._clock.now(),
            random_bytes=random_bytes,
        )
        self.keep(key, challenge)
        return challenge

    def find(self, key: str) -> OtpChallenge:
        """The challenge last sent under ``key``; RecordNotFound if none was sent."""
        return get_record(self._records, RecordKind.CHALLENGE, key, OtpChallenge)


# --- issuance -------------------------------------------------------------------------------


class CertificateService:
    """Issuance in two steps over one :class:`IssuanceService` (see the module docstring).

    ``records`` holds the subscribers, orders, authorities and the pending challenges;
    ``challenges`` must be the challenge store ``issuance`` presents codes to. ``gateway``
    sends the SMS; ``clock`` and ``random_bytes`` are the only time and randomness used.
    """

    def __init__(
        self,
        *,
        issuance: IssuanceService,
        records: RecordStore,
        challenges: ChallengeStore,
        gateway: SmsGateway,
        clock: Clock,
        random_bytes: RandomBytes,
    ) -> None:
        self._issuance = issuance
        self._records = records
        self._gateway = gateway
        self._clock = clock
        self._random = random_bytes
        self._pending = PendingChallenges(records, challenges, clock=clock)

    def binding(self, application: CertificateApplication) -> OperationBinding:
        """What the one-time code of ``application`` confirms (R7)."""
        order = get_record(self._records, RecordKind.ORDER, application.order.value, Order)
        return issuance_binding(application.csr, order, application.profile)

    def request(
        self, application: CertificateApplication, confirmation: OtpConfirmation
    ) -> IssuanceRequest:
        """The issuance request of ``application``, its records loaded: the subscriber, the
        order and, for an organisation, the verified organisation and the person's
        authorities for it (R4)."""
        records = self._records
        subscriber = get_record(
            records, RecordKind.SUBSCRIBER, application.subscriber.value, Subscriber
        )
        order = get_record(records, RecordKind.ORDER, application.order.value, Order)
        organisation: Organisation | None = None
        authorities: tuple[Authority, ...] = ()
        if application.organisation is not None:
            ref = application.organisation
            org = get_record(records, RecordKind.SUBSCRIBER, ref.subscriber.value, Subscriber)
            if not isinstance(org.data, OrganisationData):
                raise InvalidInput(f"subscriber {org.id} is not an organisation")
            require_verified(org)
            organisation = Organisation.from_verified(org.data, ref.address)
            authorities = tuple(
                a
                for a in iter_records(records, RecordKind.AUTHORITY, Authority)
                if a.person == subscriber.id and a.organisation == org.data.inn
            )
        return IssuanceRequest(
            csr=application.csr,
            subscriber=subscriber,
            order=order,
            profile=application.profile,
            subject_sign_tool=application.subject_sign_tool,
            confirmation=confirmation,
            idempotency_key=application.idempotency_key,
            organisation=organisation,
            authorities=authorities,
            title=application.title,
        )

    def send_code(self, application: CertificateApplication) -> CodeSent:
        """Step 1: check the application as the pipeline will (nothing is recorded), then send
        the one-time code to the subscriber's phone and keep the challenge (R7)."""
        request = self.request(application, OtpConfirmation(NO_CHALLENGE, ""))
        now = self._clock.now()
        # the service's own checks (proof of possession, R3, R10, profile) before any SMS
        self._issuance.prepare(request, at=now)
        binding = issuance_binding(request.csr, request.order, request.profile)
        challenge = self._pending.send(
            issuance_pending_key(binding),
            request.subscriber,
            binding,
            gateway=self._gateway,
            random_bytes=self._random,
        )
        return CodeSent(challenge.id, challenge.expires_at)

    def issue(self, application: CertificateApplication, code: str) -> IssuanceResult:
        """Step 2: issue with the code the subscriber received for this same application."""
        request = self.request(application, OtpConfirmation(NO_CHALLENGE, ""))
        binding = issuance_binding(request.csr, request.order, request.profile)
        sent = self._pending.find(issuance_pending_key(binding))
        request = replace(request, confirmation=OtpConfirmation(sent.id, code))
        # a crash between signing and storing left an intent open: complete or void it first
        self._issuance.resolve_open_intents(older_than=RESOLVE_GRACE)
        return self._issuance.issue(request)


# --- status changes -------------------------------------------------------------------------


class CertificateStatusService:
    """Revocation, suspension and resumption over one :class:`RevocationService`.

    ``challenges`` must be the challenge store ``revocation`` presents codes to.
    """

    def __init__(
        self,
        *,
        revocation: RevocationService,
        records: RecordStore,
        challenges: ChallengeStore,
        gateway: SmsGateway,
        clock: Clock,
        random_bytes: RandomBytes,
    ) -> None:
        self._revocation = revocation
        self._records = records
        self._gateway = gateway
        self._random = random_bytes
        self._pending = PendingChallenges(records, challenges, clock=clock)

    def _subscriber(self, subscriber: SubscriberId) -> Subscriber:
        return get_record(self._records, RecordKind.SUBSCRIBER, subscriber.value, Subscriber)

    def send_code(
        self,
        action: StatusAction,
        serial: int,
        subscriber: SubscriberId,
        *,
        reason: RevocationReason | None = None,
    ) -> CodeSent:
        """Step 1 of a subscriber's request: refuse another subscriber's certificate and a
        reason only the CA states, then send the code (R7) and keep the challenge."""
        person = self._subscriber(subscriber)
        challenge = self._revocation.send_code(
            action.value,
            serial,
            person,
            gateway=self._gateway,
            random_bytes=self._random,
            reason=reason,
        )
        self._pending.keep(status_pending_key(action, serial, person.id), challenge)
        return CodeSent(challenge.id, challenge.expires_at)

    def change(
        self,
        action: StatusAction,
        serial: int,
        *,
        by: StatusRequester,
        reason: RevocationReason = RevocationReason.UNSPECIFIED,
    ) -> CertificateRecord:
        """Revoke (for ``reason``), suspend or resume ``serial``; a subscriber's request is
        confirmed by the code of their pending challenge for this action and serial."""
        if action is StatusAction.REVOKE:
            return self.revoke(serial, reason=reason, by=by)
        if action is StatusAction.SUSPEND:
            return self.suspend(serial, by=by)
        return self.resume(serial, by=by)

    def revoke(
        self,
        serial: int,
        *,
        reason: RevocationReason,
        by: StatusRequester,
        invalidity_date: dt.datetime | None = None,
    ) -> CertificateRecord:
        """Revoke (final); the next CRL lists it."""
        requester = self._requester(StatusAction.REVOKE, serial, by)
        return self._revocation.revoke(
            serial, reason=reason, by=requester, invalidity_date=invalidity_date
        )

    def suspend(self, serial: int, *, by: StatusRequester) -> CertificateRecord:
        """Suspend (certificateHold)."""
        return self._revocation.suspend(
            serial, by=self._requester(StatusAction.SUSPEND, serial, by)
        )

    def resume(self, serial: int, *, by: StatusRequester) -> CertificateRecord:
        """Lift a suspension."""
        return self._revocation.resume(serial, by=self._requester(StatusAction.RESUME, serial, by))

    def _requester(
        self, action: StatusAction, serial: int, by: StatusRequester
    ) -> ByOperator | BySubscriber:
        if isinstance(by, ByOperator):
            return by
        person = self._subscriber(by.subscriber)
        sent = self._pending.find(status_pending_key(action, serial, person.id))
        return BySubscriber(person.id, OtpConfirmation(sent.id, by.code))


__all__ = [
    "DEFAULT_SIGN_TOOL",
    "NO_CHALLENGE",
    "RESOLVE_GRACE",
    "CertificateApplication",
    "CertificateService",
    "CertificateStatusService",
    "CodeSent",
    "OrganisationRef",
    "PendingChallenges",
    "StatusAction",
    "StatusRequester",
    "SubscriberCode",
    "issuance_pending_key",
    "status_pending_key",
]

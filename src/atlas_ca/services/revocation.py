"""Revocation, suspension (certificateHold) and resumption of certificates in the register.

Who may ask:

* an operator of the CA (:class:`ByOperator`) — the actor is recorded;
* the subscriber the certificate was issued to (:class:`BySubscriber`) — confirmed by a one-time
  code bound to the operation, the issuer, the serial and (for a revocation) the reason (R7);
  the spent challenge is recorded in the audit log before the status changes. The code is sent
  by :meth:`RevocationService.send_code`, which refuses another subscriber's certificate and a
  reason only the CA may state before any code is sent.

The register applies the lifecycle (valid ⇄ suspended → revoked; revoked is final) and writes
the status change, its history row and the audit event (actor, action, reason) in one
transaction, so who did it and why are in the hash-chained log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from atlas_ca.audit.events import Actor, AuditEvent
from atlas_ca.domain.identity_ports import SmsGateway
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.otp import (
    Operation,
    OperationBinding,
    OtpChallenge,
    RandomBytes,
    bind,
    send_challenge,
    verify_code,
)
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.errors import CertificateNotOwned, InvalidInput, ReasonNotAllowed
from atlas_ca.services.issuance import OtpConfirmation
from atlas_ca.services.ports import ChallengeStore, Clock
from atlas_ca.storage.ports import (
    CertificateRecord,
    IssuerKeyId,
    Register,
    RevocationReason,
    serial_text,
)


@dataclass(frozen=True, slots=True)
class ByOperator:
    """A CA operator (or registrar) acting on the CA's side, e.g. ``operator:ops-3``."""

    actor: Actor


@dataclass(frozen=True, slots=True)
class BySubscriber:
    """The certificate's own subscriber, confirming with a one-time code (R7)."""

    subscriber: SubscriberId
    confirmation: OtpConfirmation

    @property
    def actor(self) -> Actor:
        return Actor(f"subscriber:{self.subscriber.value}")


Requester = ByOperator | BySubscriber

#: Reasons a subscriber may give; the others are the CA's findings (RFC 5280 §5.3.1).
SUBSCRIBER_REASONS = frozenset(
    {
        RevocationReason.UNSPECIFIED,
        RevocationReason.KEY_COMPROMISE,
        RevocationReason.AFFILIATION_CHANGED,
        RevocationReason.SUPERSEDED,
        RevocationReason.CESSATION_OF_OPERATION,
    }
)

_OPERATIONS = {
    "revoke": Operation.REVOKE_CERTIFICATE,
    "suspend": Operation.SUSPEND_CERTIFICATE,
    "resume": Operation.RESUME_CERTIFICATE,
}


def status_binding(
    operation: Operation,
    issuer: IssuerKeyId,
    serial: int,
    reason: RevocationReason | None = None,
) -> OperationBinding:
    """What a subscriber's one-time code for a status change confirms: this operation on this
    certificate (and, for a revocation, this reason). Send the code with this binding."""
    params = {"issuer": issuer.value, "serial": serial_text(serial)}
    if reason is not None:
        params["reason"] = reason.name
    return bind(operation, params)


class RevocationService:
    """Status changes of one CA's certificates."""

    def __init__(
        self,
        *,
        issuer: IssuerKeyId,
        register: Register,
        challenges: ChallengeStore,
        clock: Clock,
    ) -> None:
        self._issuer = issuer
        self._register = register
        self._challenges = challenges
        self._clock = clock

    def revoke(
        self,
        serial: int,
        *,
        reason: RevocationReason,
        by: Requester,
        invalidity_date: datetime | None = None,
    ) -> CertificateRecord:
        """Revoke for ``reason``; ``invalidity_date`` (when the key is known or suspected to
        have been compromised, RFC 5280 §5.3.2) must not be in the future."""
        now = self._clock.now()
        reason = RevocationReason(reason)
        if invalidity_date is not None:
            if invalidity_date.tzinfo is None or invalidity_date.utcoffset() is None:
                raise InvalidInput("invalidity date must be timezone-aware", field="invalidity")
            if invalidity_date > now:
                raise InvalidInput(
                    "invalidity date is in the future (RFC 5280 §5.3.2)", field="invalidity"
                )
        if isinstance(by, BySubscriber) and reason not in SUBSCRIBER_REASONS:
            raise ReasonNotAllowed(
                f"a subscriber may not revoke for {reason.name}; the CA states that reason",
                reason=reason.name,
            )
        self._authorise("revoke", serial, by, now, reason)
        return self._register.revoke(
            self._issuer,
            serial,
            reason=reason,
            revocation_date=now,
            invalidity_date=invalidity_date,
            actor=by.actor,
        )

    def suspend(self, serial: int, *, by: Requester) -> CertificateRecord:
        """Suspend (certificateHold, приостановление, 63-ФЗ art. 14)."""
        now = self._clock.now()
        self._authorise("suspend", serial, by, now, None)
        return self._register.suspend(self._issuer, serial, at=now, actor=by.actor)

    def resume(self, serial: int, *, by: Requester) -> CertificateRecord:
        """Lift a suspension (removeFromCRL in the next delta CRL)."""
        now = self._clock.now()
        self._authorise("resume", serial, by, now, None)
        return self._register.resume(self._issuer, serial, at=now, actor=by.actor)

    def send_code(
        self,
        action: str,
        serial: int,
        subscriber: Subscriber,
        *,
        gateway: SmsGateway,
        random_bytes: RandomBytes,
        reason: RevocationReason | None = None,
    ) -> OtpChallenge:
        """The first step of a subscriber's ``revoke``/``suspend``/``resume`` (R7): refuse a
        certificate that is not ``subscriber``'s and a reason only the CA states, then send a
        code bound by :func:`status_binding` to the subscriber's phone and store the challenge.
        The second step is the same action with ``BySubscriber(subscriber, confirmation)``."""
        if action not in _OPERATIONS:
            raise ValueError(f"unknown status action {action!r}")
        if action == "revoke":
            reason = RevocationReason(reason or RevocationReason.UNSPECIFIED)
            if reason not in SUBSCRIBER_REASONS:
                raise ReasonNotAllowed(
                    f"a subscriber may not revoke for {reason.name}; the CA states that reason",
                    reason=reason.name,
                )
        elif reason is not None:
            raise ValueError(f"{action} takes no reason")
        self._require_owner(action, serial, subscriber.id)
        if subscriber.phone is None:
            raise InvalidInput(
                f"subscriber {subscriber.id} has no phone for the code (R1)", field="phone"
            )
        challenge = send_challenge(
            gateway,
            subscriber.phone,
            subscriber.id,
            status_binding(_OPERATIONS[action], self._issuer, serial, reason),
            now=self._clock.now(),
            random_bytes=random_bytes,
        )
        self._challenges.save(challenge)
        return challenge

    def _require_owner(self, action: str, serial: int, subscriber: SubscriberId) -> None:
        record = self._register.get_certificate(self._issuer, serial)
        if record.subscriber != subscriber:
            raise CertificateNotOwned(
                f"certificate {serial_text(serial)} was not issued to this subscriber; only its "
                f"own subscriber (or an operator) may {action} it",
                serial=serial_text(serial),
            )

    def _authorise(
        self,
        action: str,
        serial: int,
        by: Requester,
        now: datetime,
        reason: RevocationReason | None,
    ) -> None:
        if isinstance(by, ByOperator):
            return
        self._require_owner(action, serial, by.subscriber)
        operation = _OPERATIONS[action]
        binding = status_binding(operation, self._issuer, serial, reason)
        code = by.confirmation.code
        checked = self._challenges.present(  # read, check and write back atomically (R7)
            by.confirmation.challenge,
            lambda challenge: verify_code(
                challenge, code, binding, subscriber=by.subscriber, now=now
            ),
        )
        challenge = checked.challenge
        checked.require_accepted()
        self._register.append_audit(
            AuditEvent(
                now,
                by.actor,
                "otp.confirmed",
                {
                    "challenge": challenge.id.value,
                    "operation": action,
                    "issuer": self._issuer.value,
                    "serial": serial_text(serial),
                },
            )
        )


__all__ = [
    "SUBSCRIBER_REASONS",
    "ByOperator",
    "BySubscriber",
    "Requester",
    "RevocationService",
    "status_binding",
]

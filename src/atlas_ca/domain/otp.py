"""One-time SMS codes that confirm sensitive operations (R7).

* 6 digits drawn uniformly from a random source passed in (a CSPRNG in production:
  ``token_bytes`` of the standard ``secrets`` module); nothing here reads a global random
  generator or clock.
* Only a salted hash is stored: HMAC-SHA-256 keyed with a random 16-byte salt over the
  operation binding, the subscriber and the code.
* Single use, expires (default 5 minutes), at most 3 wrong attempts and the challenge is dead.
* Compared in constant time (:func:`hmac.compare_digest`).
* Bound to the operation and its parameters: a code for "issue" cannot confirm "revoke", and a
  code to revoke serial A cannot revoke serial B.

Every transition returns a new :class:`OtpChallenge`; the caller stores it (attempts count).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.identity_ports import SmsGateway
from atlas_ca.domain.ids import ChallengeId, SubscriberId
from atlas_ca.domain.subscribers import require_aware
from atlas_ca.errors import DomainError, InvalidInput

__all__ = [
    "CODE_LENGTH",
    "DEFAULT_TTL",
    "MAX_ATTEMPTS",
    "ChallengeState",
    "Operation",
    "OperationBinding",
    "OtpChallenge",
    "OtpOutcome",
    "OtpRefused",
    "OtpVerification",
    "RandomBytes",
    "bind",
    "create_challenge",
    "generate_code",
    "require_confirmed",
    "send_challenge",
    "sms_text",
    "verify_code",
]

CODE_LENGTH = 6
DEFAULT_TTL = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 3
SALT_BYTES = 16

RandomBytes = Callable[[int], bytes]
"""Random bytes (``token_bytes`` of the ``secrets`` module): a parameter, never a global."""


class OtpRefused(DomainError):
    """R7: a one-time code did not confirm the operation; ``outcome`` says why."""


class Operation(enum.Enum):
    """Sensitive operations that need a one-time code (R7). Values are the SMS wording."""

    ISSUE_CERTIFICATE = "выпуск сертификата"
    REVOKE_CERTIFICATE = "отзыв сертификата"
    SUSPEND_CERTIFICATE = "приостановление сертификата"
    RESUME_CERTIFICATE = "возобновление сертификата"
    KEY_ACTION = "действие с ключом"
    CHANGE_VERIFIED_DATA = "изменение подтверждённых данных"
    CHANGE_PHONE = "смена номера телефона"


@dataclass(frozen=True, slots=True)
class OperationBinding:
    """An operation and its parameters (e.g. ``serial``), canonically ordered."""

    operation: Operation
    parameters: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.operation, Operation):
            raise InvalidInput("the operation of a one-time code must be an Operation (R7)")
        keys = [k for k, _ in self.parameters]
        if len(set(keys)) != len(keys):
            raise InvalidInput("the parameters of a one-time code name each key once (R7)")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.parameters):
            raise InvalidInput("the parameters of a one-time code are strings (R7)")
        object.__setattr__(self, "parameters", tuple(sorted(self.parameters)))

    def digest(self) -> bytes:
        """SHA-256 over a length-prefixed encoding (no two bindings share an encoding)."""
        h = hashlib.sha256()
        for part in (self.operation.name, *(x for kv in self.parameters for x in kv)):
            data = part.encode()
            h.update(len(data).to_bytes(4, "big"))
            h.update(data)
        return h.digest()


def bind(operation: Operation, parameters: Mapping[str, str] | None = None) -> OperationBinding:
    """``bind(Operation.REVOKE_CERTIFICATE, {"serial": "0a1b"})``."""
    return OperationBinding(operation, tuple((parameters or {}).items()))


def generate_code(random_bytes: RandomBytes) -> str:
    """A uniformly distributed 6-digit code (rejection sampling over 32-bit draws)."""
    space = 10**CODE_LENGTH
    limit = (2**32 // space) * space
    while True:
        draw = random_bytes(4)
        if not isinstance(draw, bytes) or len(draw) != 4:
            raise InvalidInput("the random source must return the number of bytes asked (R7)")
        n = int.from_bytes(draw, "big")
        if n < limit:
            return f"{n % space:0{CODE_LENGTH}d}"


def _code_hash(salt: bytes, binding: bytes, subscriber: SubscriberId, code: str) -> bytes:
    msg = binding + len(subscriber.value).to_bytes(2, "big") + subscriber.value.encode()
    return hmac.new(salt, msg + code.encode(), hashlib.sha256).digest()


class ChallengeState(enum.Enum):
    PENDING = "pending"
    USED = "used"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class OtpChallenge:
    """A code sent for one operation. Holds only the salted hash of the code."""

    id: ChallengeId
    subscriber: SubscriberId
    operation: Operation
    binding_digest: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    code_hash: bytes = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    used_at: dt.datetime | None = None

    def state(self, at: dt.datetime) -> ChallengeState:
        if self.used_at is not None:
            return ChallengeState.USED
        if self.attempts >= self.max_attempts:
            return ChallengeState.EXHAUSTED
        if at >= self.expires_at:
            return ChallengeState.EXPIRED
        return ChallengeState.PENDING


def create_challenge(
    subscriber: SubscriberId,
    binding: OperationBinding,
    *,
    now: dt.datetime,
    random_bytes: RandomBytes,
    ttl: dt.timedelta = DEFAULT_TTL,
    max_attempts: int = MAX_ATTEMPTS,
) -> tuple[OtpChallenge, str]:
    """A new challenge and its code. Send the code, store the challenge, forget the code."""
    require_aware("now", now)
    if ttl <= dt.timedelta(0) or max_attempts < 1:
        raise InvalidInput("a one-time code needs a positive lifetime and attempt limit (R7)")
    code = generate_code(random_bytes)
    salt = random_bytes(SALT_BYTES)
    if len(salt) != SALT_BYTES:
        raise InvalidInput("the random source must return the number of bytes asked (R7)")
    digest = binding.digest()
    challenge = OtpChallenge(
        id=ChallengeId("otp-" + random_bytes(12).hex()),
        subscriber=subscriber,
        operation=binding.operation,
        binding_digest=digest,
        salt=salt,
        code_hash=_code_hash(salt, digest, subscriber, code),
        created_at=now,
        expires_at=now + ttl,
        max_attempts=max_attempts,
    )
    return challenge, code


def sms_text(code: str, binding: OperationBinding) -> str:
    return (
        f"Код {code}: {binding.operation.value}. Никому не сообщайте код, "
        f"сотрудники его не спрашивают."
    )


def send_challenge(
    gateway: SmsGateway,
    phone: MobilePhone,
    subscriber: SubscriberId,
    binding: OperationBinding,
    *,
    now: dt.datetime,
    random_bytes: RandomBytes,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> OtpChallenge:
    """Create a challenge, send its code by SMS through the port, return what to store."""
    challenge, code = create_challenge(
        subscriber, binding, now=now, random_bytes=random_bytes, ttl=ttl
    )
    gateway.send(phone, sms_text(code, binding))
    return challenge


class OtpOutcome(enum.Enum):
    ACCEPTED = "accepted"
    WRONG_CODE = "wrong code"
    WRONG_OPERATION = "code was issued for another operation or other parameters"
    WRONG_SUBSCRIBER = "code was issued to another subscriber"
    EXPIRED = "code expired"
    EXHAUSTED = "too many wrong attempts"
    ALREADY_USED = "code already used"


@dataclass(frozen=True, slots=True)
class OtpVerification:
    """The result of presenting a code: the challenge to store and the outcome."""

    challenge: OtpChallenge
    outcome: OtpOutcome

    @property
    def accepted(self) -> bool:
        return self.outcome is OtpOutcome.ACCEPTED

    def require_accepted(self) -> None:
        """Raise :class:`OtpRefused` (R7) unless the code confirmed the operation."""
        if self.accepted:
            return
        c = self.challenge
        left = max(c.max_attempts - c.attempts, 0)
        raise OtpRefused(
            f"one-time code for {c.operation.value} refused: {self.outcome.value}; "
            f"{left} attempt(s) left (R7)",
            rule="R7",
            challenge=str(c.id),
            outcome=self.outcome.name,
        )


def verify_code(
    challenge: OtpChallenge,
    code: str,
    binding: OperationBinding,
    *,
    subscriber: SubscriberId,
    now: dt.datetime,
) -> OtpVerification:
    """Present ``code`` to confirm ``binding`` for ``subscriber`` at ``now``.

    A used, expired or exhausted challenge refuses without counting. Otherwise every failure
    (wrong code, wrong operation, wrong subscriber) counts as an attempt; the third kills the
    challenge. Success marks the challenge used.
    """
    require_aware("now", now)
    state = challenge.state(now)
    if state is ChallengeState.USED:
        return OtpVerification(challenge, OtpOutcome.ALREADY_USED)
    if state is ChallengeState.EXHAUSTED:
        return OtpVerification(challenge, OtpOutcome.EXHAUSTED)
    if state is ChallengeState.EXPIRED:
        return OtpVerification(challenge, OtpOutcome.EXPIRED)
    candidate_binding = binding.digest()
    text = code if isinstance(code, str) else ""
    candidate = _code_hash(challenge.salt, candidate_binding, subscriber, text)
    code_ok = hmac.compare_digest(candidate, challenge.code_hash)
    binding_ok = hmac.compare_digest(candidate_binding, challenge.binding_digest)
    subscriber_ok = subscriber == challenge.subscriber
    if code_ok and binding_ok and subscriber_ok:
        return OtpVerification(replace(challenge, used_at=now), OtpOutcome.ACCEPTED)
    counted = replace(challenge, attempts=challenge.attempts + 1)
    if not subscriber_ok:
        outcome = OtpOutcome.WRONG_SUBSCRIBER
    elif not binding_ok:
        outcome = OtpOutcome.WRONG_OPERATION
    else:
        outcome = OtpOutcome.WRONG_CODE
    return OtpVerification(counted, outcome)


def require_confirmed(
    confirmation: OtpVerification | None,
    binding: OperationBinding,
    *,
    subscriber: SubscriberId,
    at: dt.datetime,
    what: str | None = None,
) -> None:
    """The R7 gate of a sensitive operation (issue, revoke, suspend, key action, data change).

    Raise :class:`OtpRefused` unless ``confirmation`` is an accepted one-time code of
    ``subscriber`` for exactly ``binding`` (operation and parameters), confirmed no later than
    ``at``. ``what`` names the operation in the message (default: the operation's wording).
    """
    require_aware("at", at)
    label = what or binding.operation.value
    if confirmation is None:
        raise OtpRefused(
            f"subscriber {subscriber}: {label} needs a one-time code (R7)",
            rule="R7",
            subscriber=str(subscriber),
        )
    c = confirmation.challenge
    problem = None
    if not confirmation.accepted or c.used_at is None:
        problem = f"the one-time code was not accepted ({confirmation.outcome.value})"
    elif c.subscriber != subscriber:
        problem = "the one-time code was issued to another subscriber"
    elif not hmac.compare_digest(c.binding_digest, binding.digest()):
        problem = "the one-time code confirmed another operation or another change"
    elif c.used_at > at:
        problem = "the one-time code is confirmed after this operation"
    if problem is not None:
        raise OtpRefused(
            f"subscriber {subscriber}: {label} refused: {problem} (R7)",
            rule="R7",
            subscriber=str(subscriber),
            outcome=confirmation.outcome.name,
        )

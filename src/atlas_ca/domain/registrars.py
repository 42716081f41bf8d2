"""Registrars (операторы удостоверения) and the offices or agents they work for (R2, R5, R19).

A registrar completes a subscriber's verification (R2 stage 2) after comparing the data with
the original documents, and signs the verified record with their electronic signature (R5).
The domain keeps the registrar's signing certificate as DER bytes only — building and checking
signatures is the job of :mod:`atlas_ca.services.attestation`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from atlas_ca.domain.identifiers import InnLegal
from atlas_ca.domain.ids import OfficeId, RegistrarId, SubscriberId
from atlas_ca.domain.subscribers import PersonName, require_aware
from atlas_ca.errors import DomainError, InvalidIdentifier

__all__ = [
    "Office",
    "OfficeKind",
    "Registrar",
    "RegistrarRefused",
    "RegistrarStatus",
    "reinstate",
    "require_can_verify",
    "suspend",
    "with_certificate",
]


class RegistrarRefused(DomainError):
    """A registrar that may not complete a verification (suspended, no certificate, ...)."""


class OfficeKind(enum.Enum):
    OWN = "own"  #: an office of АО "Сервер-Центр" / АО "Атлас-2"
    AGENT = "agent"  #: a point of an agent of the network (R19)


@dataclass(frozen=True, slots=True)
class Office:
    """An office or agent point; an agent is identified by its legal entity's ИНН (R19)."""

    id: OfficeId
    name: str
    kind: OfficeKind
    agent_inn: InnLegal | None = None
    active: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.id, OfficeId):
            raise InvalidIdentifier("office id", "must be an OfficeId (R19)", rule="R19")
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidIdentifier("office name", "must not be empty (R19)", rule="R19")
        if self.kind is OfficeKind.AGENT and not isinstance(self.agent_inn, InnLegal):
            raise InvalidIdentifier(
                "agent ИНН", "an agent office must name its legal entity's ИНН (R19)", rule="R19"
            )
        if self.kind is OfficeKind.OWN and self.agent_inn is not None:
            raise InvalidIdentifier(
                "agent ИНН", "only an agent office has an agent ИНН (R19)", rule="R19"
            )


class RegistrarStatus(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Registrar:
    """A registrar of the network. Immutable; ``suspend``/``reinstate`` return new objects.

    ``signing_certificate`` is the DER of the registrar's signing certificate (R5), kept as
    bytes; ``person`` links the registrar to their own subscriber account, if they have one, so
    that a registrar never verifies themselves.
    """

    id: RegistrarId
    name: PersonName
    office: Office
    status: RegistrarStatus = RegistrarStatus.ACTIVE
    signing_certificate: bytes | None = None
    person: SubscriberId | None = None
    status_reason: str | None = None
    status_changed_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, RegistrarId):
            raise InvalidIdentifier("registrar id", "must be a RegistrarId (R2)", rule="R2")
        if not isinstance(self.office, Office):
            raise InvalidIdentifier("office", "must be an Office (R19)", rule="R19")
        if self.signing_certificate is not None:
            der = self.signing_certificate
            if not isinstance(der, bytes) or len(der) < 2 or der[0] != 0x30:
                raise InvalidIdentifier(
                    "registrar certificate", "must be DER bytes of a certificate (R5)", rule="R5"
                )

    @property
    def can_verify(self) -> bool:
        return (
            self.status is RegistrarStatus.ACTIVE
            and self.office.active
            and self.signing_certificate is not None
        )


def suspend(registrar: Registrar, *, at: dt.datetime, reason: str) -> Registrar:
    """A suspended registrar can no longer complete verifications."""
    require_aware("at", at)
    if not reason.strip():
        raise DomainError("a registrar's suspension needs a reason (R2)", rule="R2")
    return replace(
        registrar, status=RegistrarStatus.SUSPENDED, status_reason=reason, status_changed_at=at
    )


def reinstate(registrar: Registrar, *, at: dt.datetime) -> Registrar:
    require_aware("at", at)
    return replace(
        registrar, status=RegistrarStatus.ACTIVE, status_reason=None, status_changed_at=at
    )


def with_certificate(registrar: Registrar, der: bytes) -> Registrar:
    """The registrar's new signing certificate (DER), e.g. after renewal (R5)."""
    return replace(registrar, signing_certificate=der)


def require_can_verify(registrar: Registrar) -> None:
    """Only an active registrar of an active office, with a signing certificate, verifies."""
    if registrar.status is not RegistrarStatus.ACTIVE:
        why = f": {registrar.status_reason}" if registrar.status_reason else ""
        raise RegistrarRefused(
            f"registrar {registrar.id} is {registrar.status.value}{why}; only an active "
            "registrar completes a verification (R2)",
            rule="R2",
            registrar=str(registrar.id),
        )
    if not registrar.office.active:
        raise RegistrarRefused(
            f"registrar {registrar.id} belongs to office {registrar.office.id}, which is not "
            "active (R19)",
            rule="R19",
            registrar=str(registrar.id),
        )
    if registrar.signing_certificate is None:
        raise RegistrarRefused(
            f"registrar {registrar.id} has no signing certificate to sign the verified record (R5)",
            rule="R5",
            registrar=str(registrar.id),
        )

"""Authorities (должностные полномочия): a verified person's right to act for an organisation (R4).

An :class:`Authority` names the person, the organisation, the position, the basis (being the
head per ЕГРЮЛ, or a machine-readable power of attorney — МЧД — by number and issuer), a
validity period and a scope. At issuance :func:`require_authority` finds an authority that is
verified, in force at that moment, not revoked and covers the action, or refuses with every
reason (R4). Immutable: :func:`revoke` and :func:`verify_authority` return new objects.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from atlas_ca.domain.identifiers import InnLegal
from atlas_ca.domain.ids import AuthorityId, RegistrarId, SubscriberId
from atlas_ca.domain.registrars import Registrar, require_can_verify
from atlas_ca.domain.subscribers import Subscriber, require_aware, require_verified
from atlas_ca.errors import DomainError, InvalidIdentifier

__all__ = [
    "Authority",
    "AuthorityBasis",
    "AuthorityProblem",
    "AuthorityRefused",
    "AuthorityScope",
    "HeadPerEgrul",
    "PowerOfAttorney",
    "authority_problems",
    "check_authority",
    "require_authority",
    "revoke",
    "verify_authority",
]


class AuthorityRefused(DomainError):
    """R4: no authority allows this person to act for this organisation; ``problems`` says why."""


class AuthorityScope(enum.Enum):
    """What an authority allows the person to do for the organisation."""

    QUALIFIED_CERTIFICATE = "qualified_certificate"  #: get a certificate naming the organisation
    SIGN_DOCUMENTS = "sign_documents"
    PLACE_ORDERS = "place_orders"
    MANAGE_CERTIFICATES = (
        "manage_certificates"  #: revoke or suspend the organisation's certificates
    )


@dataclass(frozen=True, slots=True)
class HeadPerEgrul:
    """Basis: the person is the head (единоличный исполнительный орган) per ЕГРЮЛ."""

    confirmed_on: dt.date


@dataclass(frozen=True, slots=True)
class PowerOfAttorney:
    """Basis: a machine-readable power of attorney (МЧД), by its number and issuer.

    The number of a МЧД is a UUID; ``issuer`` is the ИНН of the organisation that issued it
    (the principal), which must be the organisation the authority is for.
    """

    number: str
    issuer: InnLegal
    issued_on: dt.date

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(self.number))
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidIdentifier(
                "МЧД: номер",
                "must be a UUID (the number of a МЧД in the ФНС register) (R4)",
                rule="R4",
            ) from exc
        if not isinstance(self.issuer, InnLegal):
            raise InvalidIdentifier("МЧД: доверитель", "must be an InnLegal (R4)", rule="R4")
        object.__setattr__(self, "number", canonical)


AuthorityBasis = HeadPerEgrul | PowerOfAttorney


class AuthorityProblem(enum.Enum):
    """Why an authority does not allow an action (R4)."""

    OTHER_PERSON = "granted to another person"
    OTHER_ORGANISATION = "granted for another organisation"
    NOT_VERIFIED = "not verified by a registrar"
    NOT_YET_VALID = "not yet in force"
    EXPIRED = "expired"
    REVOKED = "revoked"
    OUT_OF_SCOPE = "does not cover this action"


@dataclass(frozen=True, slots=True)
class Authority:
    """A person's authority to act for an organisation (R4). Immutable."""

    id: AuthorityId
    person: SubscriberId
    organisation: InnLegal
    position: str
    basis: AuthorityBasis
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    scope: frozenset[AuthorityScope] = field(
        default_factory=lambda: frozenset({AuthorityScope.QUALIFIED_CERTIFICATE})
    )
    verified_by: RegistrarId | None = None
    verified_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, AuthorityId):
            raise InvalidIdentifier("authority id", "must be an AuthorityId (R4)", rule="R4")
        if not isinstance(self.person, SubscriberId):
            raise InvalidIdentifier("authority person", "must be a SubscriberId (R4)", rule="R4")
        if not isinstance(self.organisation, InnLegal):
            raise InvalidIdentifier("authority organisation", "must be an InnLegal (R4)", rule="R4")
        if not isinstance(self.position, str) or not self.position.strip():
            raise InvalidIdentifier("должность", "must not be empty (R4)", rule="R4")
        require_aware("valid_from", self.valid_from)
        if self.valid_until is not None:
            require_aware("valid_until", self.valid_until)
            if self.valid_until <= self.valid_from:
                raise InvalidIdentifier(
                    "срок полномочий", "valid_until must be after valid_from (R4)", rule="R4"
                )
        if not isinstance(self.basis, HeadPerEgrul | PowerOfAttorney):
            raise InvalidIdentifier(
                "основание", "must be HeadPerEgrul or PowerOfAttorney (R4)", rule="R4"
            )
        if isinstance(self.basis, PowerOfAttorney):
            if self.basis.issuer != self.organisation:
                raise InvalidIdentifier(
                    "МЧД: доверитель",
                    f"issued by {self.basis.issuer}, not by the organisation "
                    f"{self.organisation} it is recorded for (R4)",
                    rule="R4",
                )
            if self.valid_until is None:
                raise InvalidIdentifier(
                    "срок полномочий",
                    "a power of attorney (МЧД) must have an end date (R4)",
                    rule="R4",
                )
        if not self.scope or not all(isinstance(s, AuthorityScope) for s in self.scope):
            raise InvalidIdentifier(
                "полномочия", "scope must be a non-empty set of AuthorityScope (R4)", rule="R4"
            )


def revoke(authority: Authority, *, at: dt.datetime, reason: str) -> Authority:
    """Revoke an authority (e.g. the МЧД was revoked, the head replaced); keeps the first date."""
    require_aware("at", at)
    if not reason.strip():
        raise DomainError("revoking an authority needs a reason (R4)", rule="R4")
    if authority.revoked_at is not None:
        return authority
    return replace(authority, revoked_at=at, revocation_reason=reason)


def verify_authority(authority: Authority, registrar: Registrar, *, at: dt.datetime) -> Authority:
    """A registrar verified the authority against its basis (R4, like R2 for identity).

    A registrar never verifies an authority in which they are the person themselves (as they
    never verify their own identity): the check needs a second person."""
    require_aware("at", at)
    require_can_verify(registrar)
    if registrar.person is not None and registrar.person == authority.person:
        raise AuthorityRefused(
            f"registrar {registrar.id} is the person of authority {authority.id}: another "
            "registrar verifies it (R4)",
            rule="R4",
            authority=str(authority.id),
            registrar=str(registrar.id),
        )
    if authority.revoked_at is not None:
        raise AuthorityRefused(
            f"authority {authority.id} is revoked and cannot be verified (R4)",
            rule="R4",
            authority=str(authority.id),
        )
    return replace(authority, verified_by=registrar.id, verified_at=at)


def authority_problems(
    authority: Authority,
    *,
    person: SubscriberId,
    organisation: InnLegal,
    action: AuthorityScope,
    at: dt.datetime,
) -> tuple[AuthorityProblem, ...]:
    """Every reason the authority does not let ``person`` do ``action`` for ``organisation``."""
    require_aware("at", at)
    problems: list[AuthorityProblem] = []
    if authority.person != person:
        problems.append(AuthorityProblem.OTHER_PERSON)
    if authority.organisation != organisation:
        problems.append(AuthorityProblem.OTHER_ORGANISATION)
    if authority.verified_by is None:
        problems.append(AuthorityProblem.NOT_VERIFIED)
    if at < authority.valid_from:
        problems.append(AuthorityProblem.NOT_YET_VALID)
    if authority.valid_until is not None and at >= authority.valid_until:
        problems.append(AuthorityProblem.EXPIRED)
    if authority.revoked_at is not None and at >= authority.revoked_at:
        problems.append(AuthorityProblem.REVOKED)
    if action not in authority.scope:
        problems.append(AuthorityProblem.OUT_OF_SCOPE)
    return tuple(problems)


def _describe(authority: Authority, problems: Iterable[AuthorityProblem]) -> str:
    parts = []
    for p in problems:
        text = p.value
        if p is AuthorityProblem.EXPIRED and authority.valid_until is not None:
            text += f" on {authority.valid_until.isoformat()}"
        if p is AuthorityProblem.REVOKED and authority.revoked_at is not None:
            text += f" on {authority.revoked_at.isoformat()}"
            if authority.revocation_reason:
                text += f" ({authority.revocation_reason})"
        parts.append(text)
    return f"authority {authority.id}: " + ", ".join(parts)


def check_authority(
    authority: Authority,
    *,
    person: SubscriberId,
    organisation: InnLegal,
    action: AuthorityScope,
    at: dt.datetime,
) -> None:
    """Raise :class:`AuthorityRefused` (R4) with every reason, unless the authority allows it."""
    problems = authority_problems(
        authority, person=person, organisation=organisation, action=action, at=at
    )
    if problems:
        raise AuthorityRefused(
            f"{_describe(authority, problems)} (R4)",
            rule="R4",
            authority=str(authority.id),
            problems=tuple(p.name for p in problems),
        )


def require_authority(
    authorities: Iterable[Authority],
    *,
    person: Subscriber,
    organisation: InnLegal,
    action: AuthorityScope = AuthorityScope.QUALIFIED_CERTIFICATE,
    at: dt.datetime,
) -> Authority:
    """The authority that lets a verified ``person`` do ``action`` for ``organisation`` now.

    Called at issuance of a certificate that names the organisation: the person must be
    verified (R3) and hold an authority in force, verified, not revoked and in scope (R4);
    otherwise :class:`AuthorityRefused` lists the reason of every candidate.
    """
    require_verified(person)
    candidates = [
        a for a in authorities if a.person == person.id and a.organisation == organisation
    ]
    reasons: list[str] = []
    for a in candidates:
        problems = authority_problems(
            a, person=person.id, organisation=organisation, action=action, at=at
        )
        if not problems:
            return a
        reasons.append(_describe(a, problems))
    if not candidates:
        raise AuthorityRefused(
            f"subscriber {person.id} has no authority recorded for organisation {organisation} "
            "(R4)",
            rule="R4",
            subscriber=str(person.id),
            organisation=str(organisation),
        )
    raise AuthorityRefused(
        f"subscriber {person.id} may not act for organisation {organisation} "
        f"({action.value}): " + "; ".join(reasons) + " (R4)",
        rule="R4",
        subscriber=str(person.id),
        organisation=str(organisation),
    )

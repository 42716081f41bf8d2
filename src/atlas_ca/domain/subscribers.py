"""Subscribers of the digital profile and their identity data (R1–R3, R6, R21).

A :class:`Subscriber` is immutable: every change returns a new object (the transitions live in
:mod:`atlas_ca.domain.verification`). Its identity data is tracked *per field*
(:class:`IdentityField`) so that a change of one document un-verifies only that field (R2).

The check other code calls before an order or an issuance (R3) is here:
:func:`is_verified` and :func:`require_verified` (raises :class:`NotVerified`, rule ``R3``).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from atlas_ca.domain.identifiers import (
    InnLegal,
    InnPerson,
    Kpp,
    MobilePhone,
    Ogrn,
    Ogrnip,
    Passport,
    Snils,
)
from atlas_ca.domain.ids import RegistrarId, SubscriberId
from atlas_ca.domain.masking import mask_text
from atlas_ca.errors import DomainError, InvalidIdentifier, InvalidInput

__all__ = [
    "MIN_PASSPORT_AGE_YEARS",
    "EntrepreneurData",
    "FieldState",
    "FieldStatus",
    "IdentificationMethod",
    "IdentificationRecord",
    "IdentityData",
    "IdentityField",
    "IndividualData",
    "NotVerified",
    "OrganisationData",
    "PersonName",
    "Stage",
    "Subscriber",
    "SubscriberKind",
    "is_verified",
    "kind_of_data",
    "register",
    "require_aware",
    "require_verified",
    "required_fields",
    "verified_subscribers",
]

#: A passport of a citizen of Russia is first issued at 14.
MIN_PASSPORT_AGE_YEARS = 14


class NotVerified(DomainError):
    """R3: the subscriber's identity is not (or no longer) verified; ``fields`` lists why."""


def require_aware(name: str, at: dt.datetime) -> dt.datetime:
    """Time is a parameter of every domain function and must carry its timezone."""
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime", field=name)
    return at


class SubscriberKind(enum.Enum):
    """Who the subscriber is (R2)."""

    INDIVIDUAL = "ФЛ"
    ENTREPRENEUR = "ИП"
    ORGANISATION = "ЮЛ"


class IdentityField(enum.Enum):
    """One piece of identity data that is entered, checked and verified on its own (R2, R5)."""

    PERSON = "person"  #: surname, given name, patronymic and birth date
    PASSPORT = "passport"
    INN = "inn"  #: a person's ИНН
    SNILS = "snils"
    OGRNIP = "ogrnip"
    ORG_INN = "org_inn"  #: ИНН of the organisation, confirmed by ЕГРЮЛ
    KPP = "kpp"  #: КПП of the organisation, confirmed by ЕГРЮЛ


_REQUIRED: Mapping[SubscriberKind, tuple[IdentityField, ...]] = {
    SubscriberKind.INDIVIDUAL: (
        IdentityField.PERSON,
        IdentityField.PASSPORT,
        IdentityField.INN,
        IdentityField.SNILS,
    ),
    SubscriberKind.ENTREPRENEUR: (
        IdentityField.PERSON,
        IdentityField.PASSPORT,
        IdentityField.INN,
        IdentityField.SNILS,
        IdentityField.OGRNIP,
    ),
    SubscriberKind.ORGANISATION: (IdentityField.ORG_INN, IdentityField.KPP),
}


def required_fields(kind: SubscriberKind) -> tuple[IdentityField, ...]:
    """The fields stage 1 of R2 asks for: ФЛ passport+ИНН+СНИЛС; ИП also ОГРНИП; ЮЛ ИНН+КПП."""
    return _REQUIRED[kind]


class FieldStatus(enum.Enum):
    """Where one field stands in the verification of R2/R5."""

    MISSING = "missing"  #: not entered yet
    ENTERED = "entered"  #: entered by the person (stage 1), not yet checked
    REJECTED = "rejected"  #: a government check (СМЭВ) did not confirm it
    CHECKED = "checked"  #: confirmed by the government check of R5 (or ЕГРЮЛ for a ЮЛ)
    VERIFIED = "verified"  #: compared with the originals and signed by a registrar (R5)


class Stage(enum.Enum):
    """The subscriber's stage, derived from the statuses of the required fields."""

    REGISTERED = "registered"
    DATA_ENTERED = "data_entered"
    CHECKS_PASSED = "checks_passed"
    VERIFIED = "verified"


class IdentificationMethod(enum.IntEnum):
    """How the identity was established: the code of the identificationKind extension.

    Values 0..3 as in FSB Order 795 as amended by Order 31 (extension ``identificationKind``).
    """

    PERSONAL_PRESENCE = 0  #: личное присутствие
    REMOTE_QUALIFIED_CERTIFICATE = 1  #: удалённо, с действующей КЭП
    REMOTE_BIOMETRIC_PASSPORT = 2  #: удалённо, по загранпаспорту с биометрией
    REMOTE_UNIFIED_BIOMETRIC_SYSTEM = 3  #: удалённо, через ЕБС


_NAME = re.compile(r"[^\W\d_]+(?:[ '\-][^\W\d_]+)*")


@dataclass(frozen=True, slots=True, repr=False)
class PersonName:
    """Surname, given name and (optional) patronymic as in the passport. Masked (R21)."""

    surname: str
    given_name: str
    patronymic: str | None = None

    def __post_init__(self) -> None:
        for label, part in (
            ("фамилия", self.surname),
            ("имя", self.given_name),
            ("отчество", self.patronymic),
        ):
            if part is None and label == "отчество":
                continue
            if not isinstance(part, str) or not part or len(part) > 100:
                raise InvalidIdentifier(label, "must be 1–100 characters (R2)", rule="R2")
            if not _NAME.fullmatch(part):
                raise InvalidIdentifier(
                    label,
                    "must be letters, single spaces, hyphens or apostrophes between them (R2)",
                    rule="R2",
                )

    @property
    def masked(self) -> str:
        parts = [self.surname, self.given_name]
        if self.patronymic:
            parts.append(self.patronymic)
        return " ".join(mask_text(p) for p in parts)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"PersonName({self.masked!r})"


@dataclass(frozen=True, slots=True, repr=False)
class IndividualData:
    """Stage-1 data of a person (ФЛ, and the person of an ИП): R2. Masked (R21)."""

    name: PersonName
    birth_date: dt.date
    passport: Passport
    inn: InnPerson
    snils: Snils

    def __post_init__(self) -> None:
        for label, value, cls in (
            ("name", self.name, PersonName),
            ("passport", self.passport, Passport),
            ("inn", self.inn, InnPerson),
            ("snils", self.snils, Snils),
        ):
            if not isinstance(value, cls):
                raise InvalidIdentifier(label, f"must be a {cls.__name__} (R2)", rule="R2")
        if not isinstance(self.birth_date, dt.date) or isinstance(self.birth_date, dt.datetime):
            raise InvalidIdentifier("дата рождения", "must be a date (R2)", rule="R2")
        b = self.birth_date
        try:
            fourteen = b.replace(year=b.year + MIN_PASSPORT_AGE_YEARS)
        except ValueError:  # 29 February
            fourteen = dt.date(b.year + MIN_PASSPORT_AGE_YEARS, 3, 1)
        if self.passport.issue_date < fourteen:
            raise InvalidIdentifier(
                "паспорт: дата выдачи",
                f"before the holder's {MIN_PASSPORT_AGE_YEARS}th birthday (R2)",
                rule="R2",
            )

    def field_values(self) -> dict[IdentityField, object]:
        return {
            IdentityField.PERSON: (self.name, self.birth_date),
            IdentityField.PASSPORT: self.passport,
            IdentityField.INN: self.inn,
            IdentityField.SNILS: self.snils,
        }

    def __repr__(self) -> str:
        return (
            f"IndividualData(name={self.name!r}, birth_date='****-**-**', "
            f"passport={self.passport!r}, inn={self.inn!r}, snils={self.snils!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class EntrepreneurData:
    """Stage-1 data of an ИП: the person's data plus the ОГРНИП (R2)."""

    person: IndividualData
    ogrnip: Ogrnip

    def __post_init__(self) -> None:
        if not isinstance(self.person, IndividualData):
            raise InvalidIdentifier("person", "must be IndividualData (R2)", rule="R2")
        if not isinstance(self.ogrnip, Ogrnip):
            raise InvalidIdentifier("ОГРНИП", "must be an Ogrnip (R2)", rule="R2")

    def field_values(self) -> dict[IdentityField, object]:
        values = self.person.field_values()
        values[IdentityField.OGRNIP] = self.ogrnip
        return values

    def __repr__(self) -> str:
        return f"EntrepreneurData(person={self.person!r}, ogrnip={self.ogrnip!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class OrganisationData:
    """Stage-1 data of a ЮЛ (R2): ИНН and КПП, plus what ЕГРЮЛ returned for them.

    ``ogrn`` and ``full_name`` are filled from the ЕГРЮЛ record when the data is confirmed.
    Organisation data is public register data and is not masked.
    """

    inn: InnLegal
    kpp: Kpp
    ogrn: Ogrn | None = None
    full_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.inn, InnLegal):
            raise InvalidIdentifier("ИНН ЮЛ", "must be an InnLegal (R2)", rule="R2")
        if not isinstance(self.kpp, Kpp):
            raise InvalidIdentifier("КПП", "must be a Kpp (R2)", rule="R2")
        if self.ogrn is not None and not isinstance(self.ogrn, Ogrn):
            raise InvalidIdentifier("ОГРН", "must be an Ogrn (R2)", rule="R2")

    def field_values(self) -> dict[IdentityField, object]:
        return {IdentityField.ORG_INN: self.inn, IdentityField.KPP: self.kpp}


IdentityData = IndividualData | EntrepreneurData | OrganisationData

_DATA_KIND: Mapping[type, SubscriberKind] = {
    IndividualData: SubscriberKind.INDIVIDUAL,
    EntrepreneurData: SubscriberKind.ENTREPRENEUR,
    OrganisationData: SubscriberKind.ORGANISATION,
}


def kind_of_data(data: IdentityData) -> SubscriberKind:
    return _DATA_KIND[type(data)]


@dataclass(frozen=True, slots=True)
class FieldState:
    """The status of one identity field, when it got there and why (a source or a reason)."""

    status: FieldStatus = FieldStatus.MISSING
    at: dt.datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class IdentificationRecord:
    """The registrar's completion of a verification (R2 stage 2, R5).

    ``method`` is recorded for the certificate's identificationKind extension.
    """

    registrar: RegistrarId
    method: IdentificationMethod
    at: dt.datetime
    fields: tuple[IdentityField, ...]


def _empty_states() -> tuple[tuple[IdentityField, FieldState], ...]:
    return ()


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber of the digital profile. Immutable: transitions return a new object.

    ``states`` holds the status of each identity field that was ever entered; use
    :meth:`state` to read one. ``identification`` is the last registrar completion.
    """

    id: SubscriberId
    kind: SubscriberKind
    phone: MobilePhone
    registered_at: dt.datetime
    data: IdentityData | None = None
    states: tuple[tuple[IdentityField, FieldState], ...] = field(default_factory=_empty_states)
    identification: IdentificationRecord | None = None
    identifications: tuple[IdentificationRecord, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, SubscriberId):
            raise InvalidIdentifier("subscriber id", "must be a SubscriberId (R1)", rule="R1")
        if not isinstance(self.kind, SubscriberKind):
            raise InvalidIdentifier("subscriber kind", "must be a SubscriberKind (R2)", rule="R2")
        if not isinstance(self.phone, MobilePhone):
            raise InvalidIdentifier("телефон", "must be a MobilePhone (R1)", rule="R1")
        require_aware("registered_at", self.registered_at)
        if self.data is not None and kind_of_data(self.data) is not self.kind:
            raise DomainError(
                f"{type(self.data).__name__} does not belong to a subscriber of kind "
                f"{self.kind.value} (R2)",
                rule="R2",
            )

    def state(self, f: IdentityField) -> FieldState:
        for key, value in self.states:
            if key is f:
                return value
        return FieldState()

    def status(self, f: IdentityField) -> FieldStatus:
        return self.state(f).status

    @property
    def required(self) -> tuple[IdentityField, ...]:
        return required_fields(self.kind)

    @property
    def stage(self) -> Stage:
        statuses = [self.status(f) for f in self.required]
        if all(s is FieldStatus.MISSING for s in statuses):
            return Stage.REGISTERED
        if all(s is FieldStatus.VERIFIED for s in statuses):
            return Stage.VERIFIED
        if all(s in (FieldStatus.CHECKED, FieldStatus.VERIFIED) for s in statuses):
            return Stage.CHECKS_PASSED
        return Stage.DATA_ENTERED

    def unverified_fields(self) -> tuple[IdentityField, ...]:
        return tuple(f for f in self.required if self.status(f) is not FieldStatus.VERIFIED)

    def fields_with(self, *statuses: FieldStatus) -> tuple[IdentityField, ...]:
        return tuple(f for f in self.required if self.status(f) in statuses)

    def with_states(self, changes: Mapping[IdentityField, FieldState], **other: Any) -> Subscriber:
        """A copy with some field states replaced (used by the transitions)."""
        merged = dict(self.states)
        merged.update(changes)
        ordered = tuple((f, merged[f]) for f in IdentityField if f in merged)
        return replace(self, states=ordered, **other)

    @property
    def identification_method(self) -> IdentificationMethod | None:
        """How the identity was established, for the certificate profile (None if never)."""
        return self.identification.method if self.identification else None


def register(
    subscriber_id: SubscriberId,
    kind: SubscriberKind,
    phone: MobilePhone,
    *,
    at: dt.datetime,
) -> Subscriber:
    """R1: a new subscriber of the digital profile, registered with a mobile phone."""
    return Subscriber(id=subscriber_id, kind=kind, phone=phone, registered_at=at)


def is_verified(subscriber: Subscriber) -> bool:
    """R3: True when every required identity field is verified by a registrar."""
    return subscriber.stage is Stage.VERIFIED


def require_verified(subscriber: Subscriber) -> None:
    """R3: raise :class:`NotVerified` unless the subscriber may place orders / get certificates."""
    if is_verified(subscriber):
        return
    missing = subscriber.unverified_fields()
    names = ", ".join(f"{f.value} ({subscriber.status(f).value})" for f in missing)
    raise NotVerified(
        f"subscriber {subscriber.id} is not verified (R3): stage {subscriber.stage.value}; "
        f"unverified fields: {names}",
        rule="R3",
        subscriber=str(subscriber.id),
        fields=tuple(f.value for f in missing),
    )


def verified_subscribers(subscribers: Iterable[Subscriber]) -> tuple[Subscriber, ...]:
    return tuple(s for s in subscribers if is_verified(s))

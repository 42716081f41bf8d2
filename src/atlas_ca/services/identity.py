"""The identity use cases (R1–R5, R21) over the record store: registering subscribers (one or
a bulk import checked whole before anything is written), recording the government registries'
answers, a registrar's verification **with their signature on the verified data**, registrars,
and authorities of persons to act for organisations.

* R1: a subscriber is registered with a mobile phone; R2 stage 1: the entered data.
* R2, R5: the registries (МВД, ФНС, СФР, ЕГРИП; ЕГРЮЛ for an organisation) confirm each field;
  a registrar then verifies against the originals. :meth:`IdentityService.verify` completes the
  verification and has the registrar sign the verified record (GOST CMS, detached) in one step:
  there is no verification without that signature (R5), and when the signature cannot be made
  nothing is stored.
* R4: an authority is verified by a registrar who is not its person; revoking it stops
  issuance of certificates naming the organisation.
* R21: personal data never appears in messages; callers print it masked
  (:func:`subscriber_summary`).

Time is a :class:`~atlas_ca.services.ports.Clock`; the registrar's key is a
:class:`~atlas_ca.hsm.base.SigningKey` given by the caller (an HSM key in production).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atlas_ca.domain import identifiers
from atlas_ca.domain.authorities import (
    Authority,
    AuthorityBasis,
    HeadPerEgrul,
    PowerOfAttorney,
    verify_authority,
)
from atlas_ca.domain.authorities import revoke as revoke_authority
from atlas_ca.domain.identity_ports import CheckResult, EgrulRecord
from atlas_ca.domain.ids import AuthorityId, OfficeId, RegistrarId, SubscriberId
from atlas_ca.domain.registrars import Office, OfficeKind, Registrar
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IdentificationMethod,
    IdentityData,
    IdentityField,
    IndividualData,
    OrganisationData,
    PersonName,
    Subscriber,
    SubscriberKind,
    is_verified,
    register,
)
from atlas_ca.domain.verification import (
    FIELD_SOURCES,
    apply_check,
    complete_verification,
    confirm_with_egrul,
    enter_data,
)
from atlas_ca.errors import InvalidInput
from atlas_ca.hsm.base import SigningKey
from atlas_ca.services.attestation import Attestation, attest_verification
from atlas_ca.services.ports import Clock
from atlas_ca.storage.ports import RecordKind, RecordStore, get_record, iter_records
from atlas_ca.x509.certificate import Certificate

KINDS: Mapping[str, SubscriberKind] = {
    "individual": SubscriberKind.INDIVIDUAL,
    "entrepreneur": SubscriberKind.ENTREPRENEUR,
    "organisation": SubscriberKind.ORGANISATION,
}
"""The subscriber kinds by the names of the data files and the CLI."""

METHODS: Mapping[str, IdentificationMethod] = {
    m.name.lower().replace("_", "-"): m for m in IdentificationMethod
}
"""identificationKind (Order 795) by name: ``personal-presence``, ..."""


# --- documents (parsed JSON) into typed data --------------------------------------------------


def _date(data: Mapping[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data[key]))
    except KeyError:
        raise InvalidInput(f"the data lacks {key!r}") from None
    except ValueError:
        raise InvalidInput(f"{key}: not a date YYYY-MM-DD") from None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"the data lacks the text field {key!r}")
    return value


def parse_date(text: str, what: str = "date") -> dt.date:
    """A date ``YYYY-MM-DD``; InvalidInput naming ``what`` otherwise."""
    return _date({what: text}, what)


def identity_data(kind: SubscriberKind, data: Any) -> IdentityData:
    """Typed stage-1 data (R2) from a parsed JSON document: a person's name, birth date,
    passport, ИНН and СНИЛС (an ИП adds ``ogrnip``); an organisation's ``inn`` and ``kpp``."""
    if not isinstance(data, dict):
        raise InvalidInput("the data file must hold a JSON object")
    if kind is SubscriberKind.ORGANISATION:
        return OrganisationData(
            identifiers.InnLegal(_text(data, "inn")), identifiers.Kpp(_text(data, "kpp"))
        )
    passport = data.get("passport")
    if not isinstance(passport, dict):
        raise InvalidInput("the data lacks the 'passport' object")
    person = IndividualData(
        name=PersonName(
            _text(data, "surname"), _text(data, "given_name"), data.get("patronymic") or None
        ),
        birth_date=_date(data, "birth_date"),
        passport=identifiers.Passport(
            _text(passport, "series"),
            _text(passport, "number"),
            _date(passport, "issued"),
            _text(passport, "issuer_code"),
        ),
        inn=identifiers.InnPerson(_text(data, "inn")),
        snils=identifiers.Snils(_text(data, "snils")),
    )
    if kind is SubscriberKind.ENTREPRENEUR:
        return EntrepreneurData(person, identifiers.Ogrnip(_text(data, "ogrnip")))
    return person


def registry_answers(answers: Any) -> list[tuple[IdentityField, CheckResult]]:
    """The registries' answers (what СМЭВ returned) from a parsed JSON list of
    ``{"field", "confirmed", "reason"}``; each field's source is the registry that holds it."""
    if not isinstance(answers, list):
        raise InvalidInput("the answers file must hold a JSON list")
    parsed: list[tuple[IdentityField, CheckResult]] = []
    for answer in answers:
        if not isinstance(answer, dict):
            raise InvalidInput("each answer is a JSON object")
        try:
            field = IdentityField(str(answer.get("field")))
        except ValueError:
            raise InvalidInput(f"unknown field {answer.get('field')!r}") from None
        parsed.append(
            (
                field,
                CheckResult(
                    FIELD_SOURCES[field], bool(answer.get("confirmed")), answer.get("reason")
                ),
            )
        )
    return parsed


@dataclass(frozen=True, slots=True)
class EgrulExtract:
    """An ЕГРЮЛ extract the operator obtained, as the :class:`EgrulRegistry` port."""

    record: EgrulRecord

    def find(self, inn: identifiers.InnLegal) -> EgrulRecord | None:
        return self.record if self.record.inn == inn else None


def egrul_extract(data: Any) -> EgrulExtract:
    """``{"inn", "kpp", "ogrn", "full_name", "active"}`` from an ЕГРЮЛ extract."""
    if not isinstance(data, dict):
        raise InvalidInput("the ЕГРЮЛ extract must be a JSON object")
    return EgrulExtract(
        EgrulRecord(
            inn=identifiers.InnLegal(_text(data, "inn")),
            kpp=identifiers.Kpp(_text(data, "kpp")),
            ogrn=identifiers.Ogrn(_text(data, "ogrn")),
            full_name=_text(data, "full_name"),
            active=bool(data.get("active", True)),
        )
    )


def new_registrar(
    registrar_id: str,
    *,
    surname: str,
    given_name: str,
    office_id: str,
    office_name: str,
    agent_inn: str | None = None,
    certificate: bytes | None = None,
    person: str | None = None,
) -> Registrar:
    """A registrar of an own office (or, with ``agent_inn``, of an agent's point) with the
    DER of their signing certificate (needed to verify, R5) and their own subscriber id
    (``person``: they never verify themselves, R4, R5). ``certificate`` is PEM or DER; it
    must parse as a certificate."""
    der = None if certificate is None else Certificate.load(certificate).der
    office = Office(
        OfficeId(office_id),
        office_name,
        OfficeKind.AGENT if agent_inn else OfficeKind.OWN,
        identifiers.InnLegal(agent_inn) if agent_inn else None,
    )
    return Registrar(
        id=RegistrarId(registrar_id),
        name=PersonName(surname, given_name),
        office=office,
        signing_certificate=der,
        person=SubscriberId(person) if person else None,
    )


def authority_basis(
    organisation: str,
    *,
    head_since: dt.date | None = None,
    poa_number: str | None = None,
    poa_issued: dt.date | None = None,
) -> AuthorityBasis:
    """Exactly one basis of an authority (R4): head of the organisation per ЕГРЮЛ since a
    date, or a machine-readable power of attorney (МЧД) with its number and issue date."""
    if (head_since is None) == (poa_number is None):
        raise InvalidInput("give exactly one basis: --head-since DATE or --poa NUMBER")
    if head_since is not None:
        return HeadPerEgrul(head_since)
    if poa_issued is None or poa_number is None:
        raise InvalidInput("a МЧД needs --poa-issued")
    return PowerOfAttorney(poa_number, identifiers.InnLegal(organisation), poa_issued)


@dataclass(frozen=True, slots=True)
class NewSubscriber:
    """One subscriber to register: id, kind, phone (R1) and, optionally, the entered data."""

    id: str
    kind: SubscriberKind
    phone: str
    data: IdentityData | None = None


def new_subscriber(item: Any) -> NewSubscriber:
    """A bulk-import line ``{"id", "kind", "phone", "data"}`` (parsed JSON) checked in full."""
    if not isinstance(item, dict):
        raise InvalidInput("not a JSON object")
    kind = KINDS.get(str(item.get("kind", "individual")))
    if kind is None:
        raise InvalidInput(f"unknown kind {item.get('kind')!r}")
    data = item.get("data")
    return NewSubscriber(
        str(item.get("id")),
        kind,
        str(item.get("phone")),
        None if data is None else identity_data(kind, data),
    )


def subscriber_summary(sub: Subscriber) -> dict[str, object]:
    """What a person at the desk sees: identifiers and statuses, personal data masked (R21)."""
    return {
        "id": sub.id.value,
        "kind": sub.kind.name.lower(),
        "phone": str(sub.phone) if sub.phone else None,
        "stage": sub.stage.value,
        "verified": is_verified(sub),
        "fields": {f.value: sub.status(f).value for f in sub.required},
        "data": None if sub.data is None else repr(sub.data),
        "identified_by": None if sub.identification is None else sub.identification.registrar.value,
    }


@dataclass(frozen=True, slots=True)
class Verification:
    """A completed verification (R2 stage 2) and the registrar's signature on it (R5)."""

    subscriber: Subscriber
    attestation: Attestation


class IdentityService:
    """Subscribers, registrars, verification and authorities (R1–R5) over a record store."""

    def __init__(self, records: RecordStore, *, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    def _now(self) -> dt.datetime:
        now = self._clock.now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    # --- reading ------------------------------------------------------------------------------

    def subscriber(self, subscriber_id: SubscriberId | str) -> Subscriber:
        return get_record(
            self._records, RecordKind.SUBSCRIBER, _sid(subscriber_id).value, Subscriber
        )

    def registrar(self, registrar_id: RegistrarId | str) -> Registrar:
        key = registrar_id.value if isinstance(registrar_id, RegistrarId) else registrar_id
        return get_record(self._records, RecordKind.REGISTRAR, key, Registrar)

    def authority(self, authority_id: AuthorityId | str) -> Authority:
        key = authority_id.value if isinstance(authority_id, AuthorityId) else authority_id
        return get_record(self._records, RecordKind.AUTHORITY, key, Authority)

    def authorities_of(
        self, person: SubscriberId, organisation: identifiers.InnLegal
    ) -> tuple[Authority, ...]:
        """Every authority recorded for ``person`` and ``organisation`` (revoked ones too: the
        issuance check names why each does not apply, R4)."""
        return tuple(
            a
            for a in iter_records(self._records, RecordKind.AUTHORITY, Authority)
            if a.person == person and a.organisation == organisation
        )

    # --- subscribers --------------------------------------------------------------------------

    def add_subscriber(
        self,
        subscriber_id: SubscriberId | str,
        kind: SubscriberKind,
        phone: str | identifiers.MobilePhone,
        data: IdentityData | None = None,
    ) -> Subscriber:
        """Register a subscriber with a phone (R1) and, with ``data``, the entered data (R2
        stage 1). An existing id is refused."""
        now = self._now()
        sub = self._registered(
            NewSubscriber(_sid(subscriber_id).value, kind, str(phone), data), now, set()
        )
        self._records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
        return sub

    def import_subscribers(self, items: Iterable[NewSubscriber]) -> list[Subscriber]:
        """Register many subscribers: every item is checked (ids unique and new, phone, data)
        before anything is written; the first bad one raises :class:`InvalidInput` with its
        position (1-based) as ``context["item"]`` and nothing is imported."""
        now = self._now()
        seen: set[str] = set()
        parsed: list[Subscriber] = []
        for number, item in enumerate(items, start=1):
            try:
                sub = self._registered(item, now, seen)
            except InvalidInput as exc:
                raise InvalidInput(str(exc), item=number) from exc
            seen.add(sub.id.value)
            parsed.append(sub)
        self._records.put_all([(RecordKind.SUBSCRIBER, s.id.value, s) for s in parsed], at=now)
        return parsed

    def _registered(self, item: NewSubscriber, now: dt.datetime, seen: set[str]) -> Subscriber:
        sid = SubscriberId(item.id)
        if sid.value in seen or self._records.find(RecordKind.SUBSCRIBER, sid.value) is not None:
            raise InvalidInput(f"subscriber {sid} already exists")
        sub = register(sid, item.kind, identifiers.MobilePhone(item.phone), at=now)
        if item.data is not None:
            sub = enter_data(sub, item.data, at=now)
        return sub

    def record_checks(
        self,
        subscriber_id: SubscriberId | str,
        answers: Sequence[tuple[IdentityField, CheckResult]],
    ) -> Subscriber:
        """Record the government registries' answers for a person's fields (R2, R5)."""
        now = self._now()
        sub = self.subscriber(subscriber_id)
        for field, result in answers:
            sub = apply_check(sub, field, result, at=now)
        self._records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
        return sub

    def confirm_with_egrul(
        self, subscriber_id: SubscriberId | str, egrul: EgrulExtract
    ) -> Subscriber:
        """An organisation's ИНН and КПП confirmed by its ЕГРЮЛ extract (R2, R5), which also
        records its ОГРН and name."""
        now = self._now()
        sub = confirm_with_egrul(self.subscriber(subscriber_id), egrul, at=now)
        self._records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
        return sub

    def verify(
        self,
        subscriber_id: SubscriberId | str,
        registrar_id: RegistrarId | str,
        key: SigningKey,
        *,
        method: IdentificationMethod = IdentificationMethod.PERSONAL_PRESENCE,
        require_qualified: bool = True,
    ) -> Verification:
        """R2 stage 2, R5: the registrar compared the data with the originals, verifies it and
        signs the verified record with ``key`` (the key their signing certificate certifies).

        The signature is part of the verification: if it cannot be made (no certificate, a key
        the certificate does not certify, a key outside a certified HSM when
        ``require_qualified``), :class:`~atlas_ca.services.attestation.AttestationRefused` is
        raised and nothing is stored. A registrar never verifies themselves (R5)."""
        now = self._now()
        stored = self.subscriber(subscriber_id)
        registrar = self.registrar(registrar_id)
        sub = complete_verification(stored, registrar, method, at=now)
        attestation = attest_verification(
            sub, registrar, key, at=now, require_qualified=require_qualified
        )
        self._records.put_all(
            [(RecordKind.SUBSCRIBER, sub.id.value, sub)],
            at=now,
            unchanged=[(RecordKind.SUBSCRIBER, sub.id.value, stored)],
        )
        return Verification(sub, attestation)

    # --- registrars and authorities -----------------------------------------------------------

    def add_registrar(self, registrar: Registrar) -> Registrar:
        """Add (or replace) a registrar with their office and signing certificate."""
        self._records.put(RecordKind.REGISTRAR, registrar.id.value, registrar, at=self._now())
        return registrar

    def add_authority(
        self,
        authority_id: AuthorityId | str,
        *,
        person: SubscriberId | str,
        organisation: identifiers.InnLegal | str,
        position: str,
        basis: AuthorityBasis,
        valid_from: dt.datetime,
        valid_until: dt.datetime | None,
        registrar: RegistrarId | str,
    ) -> Authority:
        """Record an authority of a registered person to act for an organisation, verified by
        a registrar who is not that person (R4)."""
        now = self._now()
        who = self.subscriber(person)
        reg = self.registrar(registrar)
        found = Authority(
            id=authority_id if isinstance(authority_id, AuthorityId) else AuthorityId(authority_id),
            person=who.id,
            organisation=(
                organisation
                if isinstance(organisation, identifiers.InnLegal)
                else identifiers.InnLegal(organisation)
            ),
            position=position,
            basis=basis,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        found = verify_authority(found, reg, at=now)
        self._records.put(RecordKind.AUTHORITY, found.id.value, found, at=now)
        return found

    def revoke_authority(self, authority_id: AuthorityId | str, reason: str) -> Authority:
        """Revoke an authority (R4): certificates naming the organisation are no longer issued
        on it."""
        now = self._now()
        found = revoke_authority(self.authority(authority_id), at=now, reason=reason)
        self._records.put(RecordKind.AUTHORITY, found.id.value, found, at=now)
        return found


def _sid(value: SubscriberId | str) -> SubscriberId:
    return value if isinstance(value, SubscriberId) else SubscriberId(value)


__all__ = [
    "KINDS",
    "METHODS",
    "EgrulExtract",
    "IdentityService",
    "NewSubscriber",
    "Verification",
    "authority_basis",
    "egrul_extract",
    "identity_data",
    "new_registrar",
    "new_subscriber",
    "parse_date",
    "registry_answers",
    "subscriber_summary",
]

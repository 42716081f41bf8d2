"""In-memory fakes of the identity ports, for tests of this and other packages.

They answer from dictionaries the test fills, and record what they were asked, so a test can
assert that a registry was (or was not) consulted. ``unavailable = True`` makes a fake raise
:class:`~atlas_ca.domain.identity_ports.RegistryUnavailable` like a real adapter whose
registry does not answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
from atlas_ca.domain.identity_ports import (
    CheckResult,
    CheckSource,
    EgrulRecord,
    GovernmentChecks,
    RegistryUnavailable,
)
from atlas_ca.domain.ids import OfficeId, RegistrarId, SubscriberId
from atlas_ca.domain.otp import OtpVerification, create_challenge, verify_code
from atlas_ca.domain.registrars import Office, OfficeKind, Registrar
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IdentificationMethod,
    IdentityData,
    IndividualData,
    OrganisationData,
    PersonName,
    Subscriber,
    SubscriberKind,
    register,
)
from atlas_ca.domain.verification import (
    change_binding,
    complete_verification,
    confirm_with_egrul,
    enter_data,
    run_government_checks,
)

__all__ = [
    "ATLAS_2",
    "SAMPLE_CERTIFICATE_DER",
    "SAMPLE_OGRNIP",
    "SERVER_CENTRE",
    "FakeEgrip",
    "FakeEgrul",
    "FakeFns",
    "FakeMvd",
    "FakeSfr",
    "FakeSmsGateway",
    "SentSms",
    "confirmed_change",
    "fake_government",
    "sample_person",
    "sample_registrar",
    "verified_subscriber",
]


def _down(source: CheckSource) -> RegistryUnavailable:
    return RegistryUnavailable(f"{source.value} does not answer (fake set unavailable)")


@dataclass
class FakeMvd:
    """МВД: confirms passports listed in ``valid`` for the holder recorded with them."""

    valid: dict[str, tuple[PersonName, dt.date]] = field(default_factory=dict)
    unavailable: bool = False
    calls: int = 0

    def add(self, person: IndividualData) -> None:
        self.valid[person.passport.value] = (person.name, person.birth_date)

    def check_passport(
        self, name: PersonName, birth_date: dt.date, passport: Passport
    ) -> CheckResult:
        self.calls += 1
        if self.unavailable:
            raise _down(CheckSource.MVD)
        holder = self.valid.get(passport.value)
        if holder is None:
            return CheckResult(CheckSource.MVD, False, "passport is not valid")
        if holder != (name, birth_date):
            return CheckResult(CheckSource.MVD, False, "name or birth date differ")
        return CheckResult(CheckSource.MVD, True)


@dataclass
class FakeFns:
    """ФНС: confirms ИНН listed in ``known`` for the passport recorded with them."""

    known: dict[str, str] = field(default_factory=dict)
    unavailable: bool = False
    calls: int = 0

    def add(self, person: IndividualData) -> None:
        self.known[person.inn.value] = person.passport.value

    def check_inn(
        self, name: PersonName, birth_date: dt.date, passport: Passport, inn: InnPerson
    ) -> CheckResult:
        self.calls += 1
        if self.unavailable:
            raise _down(CheckSource.FNS)
        if self.known.get(inn.value) != passport.value:
            return CheckResult(CheckSource.FNS, False, "ИНН does not match the person")
        return CheckResult(CheckSource.FNS, True)


@dataclass
class FakeSfr:
    """СФР: confirms СНИЛС listed in ``known`` for the name recorded with them."""

    known: dict[str, PersonName] = field(default_factory=dict)
    unavailable: bool = False
    calls: int = 0

    def add(self, person: IndividualData) -> None:
        self.known[person.snils.value] = person.name

    def check_snils(self, name: PersonName, birth_date: dt.date, snils: Snils) -> CheckResult:
        self.calls += 1
        if self.unavailable:
            raise _down(CheckSource.SFR)
        if self.known.get(snils.value) != name:
            return CheckResult(CheckSource.SFR, False, "СНИЛС does not match the person")
        return CheckResult(CheckSource.SFR, True)


@dataclass
class FakeEgrip:
    """ЕГРИП: confirms ОГРНИП listed in ``known`` with the entrepreneur's ИНН."""

    known: dict[str, str] = field(default_factory=dict)
    unavailable: bool = False
    calls: int = 0

    def check_ogrnip(self, ogrnip: Ogrnip, inn: InnPerson) -> CheckResult:
        self.calls += 1
        if self.unavailable:
            raise _down(CheckSource.EGRIP)
        if self.known.get(ogrnip.value) != inn.value:
            return CheckResult(CheckSource.EGRIP, False, "ОГРНИП not found for this ИНН")
        return CheckResult(CheckSource.EGRIP, True)


@dataclass
class FakeEgrul:
    """ЕГРЮЛ: the organisations in ``records``, by ИНН."""

    records: dict[str, EgrulRecord] = field(default_factory=dict)
    unavailable: bool = False
    calls: int = 0

    def add(self, record: EgrulRecord) -> None:
        self.records[record.inn.value] = record

    def find(self, inn: InnLegal) -> EgrulRecord | None:
        self.calls += 1
        if self.unavailable:
            raise _down(CheckSource.EGRUL)
        return self.records.get(inn.value)


@dataclass(frozen=True)
class SentSms:
    phone: MobilePhone
    text: str


@dataclass
class FakeSmsGateway:
    """Keeps every SMS in ``sent`` instead of sending it."""

    sent: list[SentSms] = field(default_factory=list)
    unavailable: bool = False

    def send(self, phone: MobilePhone, text: str) -> None:
        if self.unavailable:
            raise RegistryUnavailable("SMS gateway does not answer (fake set unavailable)")
        self.sent.append(SentSms(phone, text))


def fake_government(
    *people: IndividualData,
) -> tuple[GovernmentChecks, FakeMvd, FakeFns, FakeSfr, FakeEgrip]:
    """Fakes of МВД, ФНС, СФР and ЕГРИП that confirm the given people."""
    mvd, fns, sfr, egrip = FakeMvd(), FakeFns(), FakeSfr(), FakeEgrip()
    for p in people:
        mvd.add(p)
        fns.add(p)
        sfr.add(p)
    return GovernmentChecks(fns=fns, sfr=sfr, mvd=mvd, egrip=egrip), mvd, fns, sfr, egrip


# --- sample data and ready-made subscribers (for tests of billing, issuance, ...) -----------

SAMPLE_CERTIFICATE_DER = bytes.fromhex("3003020101")
"""Placeholder DER (a SEQUENCE) for a registrar certificate where no real one is needed."""


def sample_person(
    surname: str = "Иванов",
    passport_number: str = "123456",
    inn: str = "500100732259",
    snils: str = "112-233-445 95",
) -> IndividualData:
    """A well-formed person (every identifier passes its check digits)."""
    return IndividualData(
        name=PersonName(surname, "Иван", "Иванович"),
        birth_date=dt.date(1980, 5, 17),
        passport=Passport("0503", passport_number, dt.date(2002, 6, 1), "252-001"),
        inn=InnPerson(inn),
        snils=Snils(snils),
    )


SAMPLE_OGRNIP = "304500116000157"

SERVER_CENTRE = EgrulRecord(
    inn=InnLegal("2539038819"),
    kpp=Kpp("253601001"),
    ogrn=Ogrn("1022502121476"),
    full_name='АО "Сервер-Центр"',
)
ATLAS_2 = EgrulRecord(
    inn=InnLegal("2536161885"),
    kpp=Kpp("253601001"),
    ogrn=Ogrn("1052503122902"),
    full_name='АО "Атлас-2"',
)


def sample_registrar(
    registrar_id: str = "reg-1", office_id: str = "office-vl", person: str | None = None
) -> Registrar:
    """An active registrar of an own office, with a placeholder certificate."""
    return Registrar(
        id=RegistrarId(registrar_id),
        name=PersonName("Петрова", "Анна"),
        office=Office(OfficeId(office_id), "Владивосток, офис", OfficeKind.OWN),
        signing_certificate=SAMPLE_CERTIFICATE_DER,
        person=SubscriberId(person) if person else None,
    )


def verified_subscriber(
    subscriber_id: str = "sub-1",
    kind: SubscriberKind = SubscriberKind.INDIVIDUAL,
    *,
    at: dt.datetime,
    phone: str = "+79161234567",
    method: IdentificationMethod = IdentificationMethod.PERSONAL_PRESENCE,
) -> Subscriber:
    """A subscriber taken through every step of R2 with the fakes: ``is_verified`` is True."""
    sub = register(SubscriberId(subscriber_id), kind, MobilePhone(phone), at=at)
    if kind is SubscriberKind.ORGANISATION:
        sub = enter_data(sub, OrganisationData(SERVER_CENTRE.inn, SERVER_CENTRE.kpp), at=at)
        sub = confirm_with_egrul(sub, FakeEgrul({SERVER_CENTRE.inn.value: SERVER_CENTRE}), at=at)
    else:
        person = sample_person()
        checks, _mvd, _fns, _sfr, egrip = fake_government(person)
        data: IndividualData | EntrepreneurData = person
        if kind is SubscriberKind.ENTREPRENEUR:
            data = EntrepreneurData(person, Ogrnip(SAMPLE_OGRNIP))
            egrip.known[SAMPLE_OGRNIP] = person.inn.value
        sub = enter_data(sub, data, at=at)
        sub = run_government_checks(sub, checks, at=at)
    return complete_verification(sub, sample_registrar(), method, at=at)


def confirmed_change(sub: Subscriber, data: IdentityData, *, at: dt.datetime) -> OtpVerification:
    """An accepted one-time code for changing ``sub``'s verified data to ``data`` (R7)."""
    binding = change_binding(sub, data)
    challenge, code = create_challenge(
        sub.id, binding, now=at, random_bytes=lambda n: bytes(range(1, n + 1))
    )
    return verify_code(challenge, code, binding, subscriber=sub.id, now=at)

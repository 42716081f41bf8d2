"""In-memory fakes of the identity ports, for tests of this and other packages.

They answer from dictionaries the test fills, and record what they were asked, so a test can
assert that a registry was (or was not) consulted. ``unavailable = True`` makes a fake raise
:class:`~atlas_ca.domain.identity_ports.RegistryUnavailable` like a real adapter whose
registry does not answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atlas_ca.domain.identifiers import InnLegal, InnPerson, MobilePhone, Ogrnip, Passport, Snils
from atlas_ca.domain.identity_ports import (
    CheckResult,
    CheckSource,
    EgrulRecord,
    GovernmentChecks,
    RegistryUnavailable,
)
from atlas_ca.domain.subscribers import IndividualData, PersonName

__all__ = [
    "FakeEgrip",
    "FakeEgrul",
    "FakeFns",
    "FakeMvd",
    "FakeSfr",
    "FakeSmsGateway",
    "SentSms",
    "fake_government",
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

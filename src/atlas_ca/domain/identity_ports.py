"""Ports of identity verification: the government registries (R2, R5) and the SMS gateway (R7).

Adapters (СМЭВ clients, an SMS provider) implement these Protocols outside the domain; tests
use the in-memory fakes of :mod:`atlas_ca.cli.demo.fakes`. An adapter that cannot reach its
registry raises :class:`RegistryUnavailable` — never a "not confirmed" answer, which would
wrongly reject the person's data.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol

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
from atlas_ca.domain.subscribers import PersonName
from atlas_ca.errors import Unavailable

__all__ = [
    "CheckResult",
    "CheckSource",
    "EgripRegistry",
    "EgrulRecord",
    "EgrulRegistry",
    "GovernmentChecks",
    "InnCheck",
    "PassportCheck",
    "RegistryUnavailable",
    "SmsGateway",
    "SnilsCheck",
]


class RegistryUnavailable(Unavailable):
    """A government registry or the SMS gateway cannot be reached (exit code 3)."""


class CheckSource(enum.Enum):
    """Who answered a check: the СМЭВ checks of R5 and the state registers."""

    FNS = "ФНС"  #: ИНН of a person
    SFR = "СФР"  #: СНИЛС (formerly ПФР)
    MVD = "МВД"  #: validity of the passport and the name and birth date in it
    EGRIP = "ЕГРИП"  #: ОГРНИП of an individual entrepreneur
    EGRUL = "ЕГРЮЛ"  #: ИНН and КПП of an organisation


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A registry's answer. ``reason`` explains a refusal and must not contain raw personal data."""

    source: CheckSource
    confirmed: bool
    reason: str | None = None


class InnCheck(Protocol):
    """ФНС through СМЭВ: does this ИНН belong to the person with this name, birth date, passport?"""

    def check_inn(
        self, name: PersonName, birth_date: dt.date, passport: Passport, inn: InnPerson
    ) -> CheckResult: ...


class SnilsCheck(Protocol):
    """СФР through СМЭВ: does this СНИЛС belong to the person with this name and birth date?"""

    def check_snils(self, name: PersonName, birth_date: dt.date, snils: Snils) -> CheckResult: ...


class PassportCheck(Protocol):
    """МВД through СМЭВ: is this passport valid and issued to this name and birth date?"""

    def check_passport(
        self, name: PersonName, birth_date: dt.date, passport: Passport
    ) -> CheckResult: ...


class EgripRegistry(Protocol):
    """ЕГРИП (ФНС): is this ОГРНИП an active entrepreneur with this ИНН?"""

    def check_ogrnip(self, ogrnip: Ogrnip, inn: InnPerson) -> CheckResult: ...


@dataclass(frozen=True, slots=True)
class EgrulRecord:
    """What ЕГРЮЛ says about an organisation (public register data)."""

    inn: InnLegal
    kpp: Kpp
    ogrn: Ogrn
    full_name: str
    active: bool = True
    head_inn: InnPerson | None = None


class EgrulRegistry(Protocol):
    """ЕГРЮЛ: the organisation registered under this ИНН, or None."""

    def find(self, inn: InnLegal) -> EgrulRecord | None: ...


@dataclass(frozen=True, slots=True)
class GovernmentChecks:
    """The ports stage 2 of R2 calls, bundled (R5)."""

    fns: InnCheck
    sfr: SnilsCheck
    mvd: PassportCheck
    egrip: EgripRegistry


class SmsGateway(Protocol):
    """Sends an SMS to a mobile number (R7). The text holds the one-time code."""

    def send(self, phone: MobilePhone, text: str) -> None: ...

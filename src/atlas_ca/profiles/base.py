"""What a profile is: a frozen table of rules, each citing its source.

A :class:`Profile` fixes the subject attributes (presence, order, string type, length), the
extensions (presence, criticality, content), the key algorithms and parameter sets, the
validity limits and whether a certificate under it is qualified. It holds no behaviour beyond
look-ups: :mod:`atlas_ca.profiles.planning` turns verified data into a certificate plan under a
profile, :mod:`atlas_ca.profiles.lint` checks any certificate against one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from dataclasses import dataclass, field

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.profiles.fields import (
    PRACTICE,
    RFC9215,
    AttributeRule,
    ExtensionRule,
    Presence,
)
from atlas_ca.x509.extensions import KeyUsageBit


class ProfileKind(enum.Enum):
    """The kinds of certificate the linter tells apart (``detect``)."""

    INDIVIDUAL = "individual"
    ENTREPRENEUR = "entrepreneur"
    LEGAL_ENTITY = "legal-entity"
    CA = "ca"
    OCSP = "ocsp"
    TSA = "tsa"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class KeyRule:
    """A key type a profile allows, with the parameter sets (curves) it allows for it."""

    key_type: KeyType
    param_sets: frozenset[Oid]
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """Upper bounds of the certificate's and the private key's validity, in calendar months."""

    certificate_months: int
    private_key_months: int | None
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class KeyUsageRule:
    """keyUsage content: what we emit, what must be set, what must not be set."""

    emit: frozenset[KeyUsageBit]
    required: frozenset[KeyUsageBit]
    forbidden: frozenset[KeyUsageBit]
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        if not self.required <= self.emit or self.emit & self.forbidden:
            raise ValueError("keyUsage rule: emitted bits must include required, exclude forbidden")


@dataclass(frozen=True, slots=True)
class Profile:
    """One certificate profile as data."""

    name: str
    kind: ProfileKind
    title: str
    qualified: bool
    is_ca: bool
    attributes: tuple[AttributeRule, ...]
    extensions: tuple[ExtensionRule, ...]
    keys: tuple[KeyRule, ...]
    validity: ValidityRule
    key_usage: KeyUsageRule
    extended_key_usage: tuple[Oid, ...]
    issuable_by_default: bool
    note: str = ""
    # Issue 17: the lints and the planner look rules up by OID dozens of times per certificate;
    # the tables below are built once from ``attributes`` and ``extensions`` (not compared).
    _attribute_by: dict[str, AttributeRule] = field(init=False, repr=False, compare=False)
    _extension_by: dict[str, ExtensionRule] = field(init=False, repr=False, compare=False)
    _required: tuple[tuple[AttributeRule, ...], tuple[ExtensionRule, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        seen = [a.oid.dotted for a in self.attributes]
        if len(set(seen)) != len(seen):
            raise ValueError(f"profile {self.name}: an attribute is listed twice")
        exts = [e.oid.dotted for e in self.extensions]
        if len(set(exts)) != len(exts):
            raise ValueError(f"profile {self.name}: an extension is listed twice")
        object.__setattr__(self, "_attribute_by", {a.oid.dotted: a for a in self.attributes})
        object.__setattr__(self, "_extension_by", {e.oid.dotted: e for e in self.extensions})
        required = (
            tuple(a for a in self.attributes if a.presence is Presence.REQUIRED),
            tuple(e for e in self.extensions if e.presence is Presence.REQUIRED),
        )
        object.__setattr__(self, "_required", required)

    def attribute(self, oid: Oid) -> AttributeRule | None:
        return self._attribute_by.get(oid.dotted)

    def extension(self, oid: Oid) -> ExtensionRule | None:
        return self._extension_by.get(oid.dotted)

    @property
    def required_attributes(self) -> tuple[AttributeRule, ...]:
        return self._required[0]

    @property
    def required_extensions(self) -> tuple[ExtensionRule, ...]:
        return self._required[1]

    def key_rule(self, key_type: KeyType) -> KeyRule | None:
        return next((k for k in self.keys if k.key_type is key_type), None)

    def allows_key(self, key_type: KeyType, param_set: Oid | None) -> bool:
        rule = self.key_rule(key_type)
        if rule is None:
            return False
        if param_set is None:
            return not rule.param_sets
        return any(p.dotted == param_set.dotted for p in rule.param_sets)


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """``when`` plus ``months`` calendar months (the day clamped to the month's length)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


# --- key rules shared by the profiles ---------------------------------------------------------

GOST_256_SETS = frozenset(
    {
        oids.GostParamSet.TC26_256_A,
        oids.GostParamSet.TC26_256_B,
        oids.GostParamSet.TC26_256_C,
        oids.GostParamSet.TC26_256_D,
        oids.GostParamSet.CRYPTOPRO_A,
        oids.GostParamSet.CRYPTOPRO_B,
        oids.GostParamSet.CRYPTOPRO_C,
        oids.GostParamSet.CRYPTOPRO_XCHA,
        oids.GostParamSet.CRYPTOPRO_XCHB,
    }
)
GOST_512_SETS = frozenset(
    {oids.GostParamSet.TC26_512_A, oids.GostParamSet.TC26_512_B, oids.GostParamSet.TC26_512_C}
)

GOST_KEYS: tuple[KeyRule, ...] = (
    KeyRule(
        KeyType.GOST3410_2012_256,
        GOST_256_SETS,
        f"{RFC9215}; R 1323565.1.024-2019; 63-ФЗ art. 12 (certified tools: GOST only)",
        note="CryptoPro-A/B/C and XchA/XchB are the TC26 256-bit sets B/C/D under their "
        "older identifiers; both spellings are in circulation.",
    ),
    KeyRule(
        KeyType.GOST3410_2012_512,
        GOST_512_SETS,
        f"{RFC9215}; R 1323565.1.024-2019",
    ),
)
"""GOST R 34.10-2012 only: GOST R 34.10-2001 keys are no longer accepted since 01.01.2019
(FSB notice on the transition to GOST R 34.10-2012)."""

EE_KEY_USAGE = KeyUsageRule(
    emit=frozenset(
        {
            KeyUsageBit.DIGITAL_SIGNATURE,
            KeyUsageBit.CONTENT_COMMITMENT,
            KeyUsageBit.KEY_ENCIPHERMENT,
            KeyUsageBit.DATA_ENCIPHERMENT,
        }
    ),
    required=frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT}),
    forbidden=frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}),
    source=f"RFC 5280 §4.2.1.3; {PRACTICE}",
    note="Order 795 does not list the bits. A qualified signature needs digitalSignature and "
    "nonRepudiation (contentCommitment); the encipherment bits are what CAs in circulation add "
    "for GOST key agreement (VKO). A subscriber may not sign certificates or CRLs.",
)

__all__ = [
    "EE_KEY_USAGE",
    "GOST_256_SETS",
    "GOST_512_SETS",
    "GOST_KEYS",
    "KeyRule",
    "KeyUsageBit",
    "KeyUsageRule",
    "Profile",
    "ProfileKind",
    "ValidityRule",
    "add_months",
]

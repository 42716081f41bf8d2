"""The vocabulary of a profile: rules for subject attributes and extensions, each with its source.

A rule is data. Where the primary text (FSB Order 795 as amended by Order 31, 63-ФЗ art. 17)
does not settle a detail, the rule carries a ``note`` saying so and what real qualified
certificates in circulation do; ``docs/profiles.md`` is generated from the same notes.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.x509.extensions import KeyUsageBit
from atlas_ca.x509.names import StringType


class Presence(enum.Enum):
    """Whether a field must, may or must not appear."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


#: Short names for the presence column of the profile tables.
REQ, OPT = Presence.REQUIRED, Presence.OPTIONAL


class Strength(enum.Enum):
    """How strongly the source of a rule binds: what a finding weighs when a foreign certificate
    is judged ("is it conformant"). Our own issuance policy may be stricter (``lint.Policy``).

    law and RFC MUST → error; RFC SHOULD and the established practice of accredited CAs →
    warning; a rule whose source we could not confirm, and plain information → notice.
    """

    LAW = "law (63-ФЗ, FSB order)"
    MUST = "MUST (RFC, X.690)"
    SHOULD = "SHOULD (RFC)"
    PRACTICE = "established practice"
    UNCONFIRMED = "unconfirmed"
    INFO = "information"
    """Nothing is wrong: a fact worth knowing (a pre-2021 form, a preferred encoding)."""

    @property
    def binding(self) -> bool:
        """A law or a MUST: breaking it makes the certificate non-conformant."""
        return self in (Strength.LAW, Strength.MUST)


def weaker(strength: Strength, qualified: bool) -> Strength:
    """The strength of a profile rule for a profile: Order 795 binds qualified certificates only,
    so on an OCSP responder's or TSA's certificate its form is our practice."""
    return Strength.PRACTICE if strength is Strength.LAW and not qualified else strength


class IdentifierKind(enum.Enum):
    """Which validating type of :mod:`atlas_ca.domain.identifiers` checks an attribute value."""

    INN_PERSON = "ИНН ФЛ"
    INN_LEGAL = "ИНН ЮЛ"
    OGRN = "ОГРН"
    OGRNIP = "ОГРНИП"
    SNILS = "СНИЛС"


# --- sources, cited by every rule -------------------------------------------------------------

#: Paragraph numbers are not cited: the primary text's numbering was not verified (see
#: docs/profiles.md); the rules name the part of the Order they come from instead.
ORDER_795 = "FSB Order 795 (27.12.2011, as amended by Order 31)"
ORDER_795_ATTRS = f"{ORDER_795}: subject name attributes"
ORDER_795_EXTS = f"{ORDER_795}: extensions"
#: The day FSB Order 31 (INNLE, identificationKind) came into force.
ORDER_31_IN_FORCE = dt.datetime(2021, 9, 1, tzinfo=dt.UTC)
ORDER_31 = "FSB Order 31 (29.01.2021; INNLE, identificationKind; in force 01.09.2021)"
LAW_63_17 = "63-ФЗ art. 17 part 2 (contents of a qualified certificate)"
RFC5280 = "RFC 5280"
RFC9215 = "RFC 9215 §§ 3–4 (GOST keys and signatures in X.509)"
RFC6960 = "RFC 6960 §4.2.2.2 (OCSP delegated signer)"
PRACTICE = "practice of accredited CAs (certificates in circulation)"


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """One subject attribute of a profile.

    ``emit`` is the string type we encode; ``accept`` the types a foreign certificate may use
    without an error. ``max_length`` counts characters; ``digits`` fixes the exact number of
    digits of a numeric identifier (``identifier`` names the check-digit type).
    """

    oid: Oid
    presence: Presence
    emit: StringType
    accept: frozenset[StringType]
    source: str
    max_length: int | None = None
    digits: int | None = None
    identifier: IdentifierKind | None = None
    note: str = ""
    strength: Strength = Strength.LAW

    def __post_init__(self) -> None:
        if self.emit not in self.accept:
            raise ValueError(f"{self.oid.name}: the emitted string type must be accepted")


@dataclass(frozen=True, slots=True)
class ExtensionRule:
    """One extension of a profile: presence, criticality and where the rule comes from.

    ``strength`` weighs the extension's absence, ``critical_strength`` a criticality other than
    ``critical`` (RFC 5280 §4.2.1.3 only says keyUsage SHOULD be critical, for instance).
    """

    oid: Oid
    presence: Presence
    critical: bool
    source: str
    note: str = ""
    strength: Strength = Strength.LAW
    effective: dt.datetime | None = None
    critical_strength: Strength = Strength.PRACTICE

    @property
    def missing_is_error(self) -> bool:
        return self.strength.binding


# --- attribute rules shared by the profiles ---------------------------------------------------

DIRECTORY = frozenset(
    {
        StringType.UTF8,
        StringType.PRINTABLE,
        StringType.TELETEX,
        StringType.BMP,
        StringType.UNIVERSAL,
    }
)
NUMERIC_IN = frozenset({StringType.NUMERIC, StringType.PRINTABLE})
_UTF8 = StringType.UTF8


def attr(
    oid: Oid,
    presence: Presence,
    source: str,
    *,
    max_length: int | None = None,
    note: str = "",
) -> AttributeRule:
    """A DirectoryString attribute we emit as UTF8String."""
    return AttributeRule(oid, presence, _UTF8, DIRECTORY, source, max_length=max_length, note=note)


def numeric(
    oid: Oid,
    presence: Presence,
    digits: int,
    identifier: IdentifierKind,
    source: str,
    note: str = "",
) -> AttributeRule:
    """A numeric identifier: NumericString emitted, PrintableString accepted on input."""
    return AttributeRule(
        oid,
        presence,
        StringType.NUMERIC,
        NUMERIC_IN,
        source,
        max_length=digits,
        digits=digits,
        identifier=identifier,
        note=note,
    )


def country(presence: Presence) -> AttributeRule:
    return AttributeRule(
        oids.NameAttribute.COUNTRY_NAME,
        presence,
        StringType.PRINTABLE,
        frozenset({StringType.PRINTABLE}),
        f"{RFC5280} App. A (PrintableString SIZE(2)); {ORDER_795_ATTRS}",
        max_length=2,
        note="Every certificate in circulation carries C=RU, but we could not confirm that Order "
        "795 requires the attribute: a missing C is a notice on a foreign certificate, refused "
        "when we issue.",
        strength=Strength.UNCONFIRMED,
    )


def email(presence: Presence) -> AttributeRule:
    return AttributeRule(
        oids.NameAttribute.EMAIL_ADDRESS,
        presence,
        StringType.IA5,
        frozenset({StringType.IA5}),
        f"{RFC5280} App. A (IA5String, ub-emailaddress-length 255); {ORDER_795_ATTRS}",
        max_length=255,
    )


NAME_LENGTH_NOTE = (
    "RFC 5280 bounds surname/givenName only by ub-name (32768); we cap at 64 like the CAs in "
    "circulation, and givenName holds first name and patronymic (Order 795), so X.400's "
    "ub-given-name-length 16 does not apply."
)


def surname(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.SURNAME, presence, ORDER_795_ATTRS, max_length=64, note=NAME_LENGTH_NOTE
    )


def given_name(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.GIVEN_NAME,
        presence,
        ORDER_795_ATTRS,
        max_length=64,
        note="First name and patronymic (if any) separated by a space. " + NAME_LENGTH_NOTE,
    )


def snils(presence: Presence) -> AttributeRule:
    return numeric(
        oids.RuAttribute.SNILS,
        presence,
        11,
        IdentifierKind.SNILS,
        f"{ORDER_795_ATTRS}; {LAW_63_17}",
    )


def inn_person(presence: Presence, note: str = "") -> AttributeRule:
    return numeric(
        oids.RuAttribute.INN,
        presence,
        12,
        IdentifierKind.INN_PERSON,
        f"{ORDER_795_ATTRS}; {ORDER_31}; {LAW_63_17}",
        note=note
        or "Before 01.09.2021 a legal entity's 10-digit ИНН was written here padded with "
        "'00' to 12 digits; we accept that on old certificates with a notice.",
    )


def state(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.STATE_OR_PROVINCE_NAME,
        presence,
        f"{ORDER_795_ATTRS}; {RFC5280} App. A (ub-state-name 128)",
        max_length=128,
        note="The subject of the Federation, in practice prefixed by its code ('25 Приморский "
        "край').",
    )


def locality(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.LOCALITY_NAME,
        presence,
        f"{ORDER_795_ATTRS}; {RFC5280} App. A (ub-locality-name 128)",
        max_length=128,
    )


def street(presence: Presence) -> AttributeRule:
    return replace(
        attr(
            oids.NameAttribute.STREET_ADDRESS,
            presence,
            f"{ORDER_795_ATTRS}; X.520 (ub-street-address 128)",
            max_length=128,
            note="The head CA issued accredited CAs' certificates without streetAddress (УЦ "
            "InfoTrust, 2016; tests/vectors/real/): its absence is a warning on a foreign "
            "certificate, refused when we issue.",
        ),
        strength=Strength.PRACTICE,
    )


def organization(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.ORGANIZATION_NAME,
        presence,
        f"{ORDER_795_ATTRS}; {RFC5280} App. A (ub-organization-name 64)",
        max_length=64,
        note="Full names of organisations often exceed 64 characters; the tax service's CA "
        "writes them whole. Over 64 is a warning on foreign certificates, refused when we issue.",
    )


def title(presence: Presence) -> AttributeRule:
    return attr(
        oids.NameAttribute.TITLE,
        presence,
        f"{ORDER_795_ATTRS}; {RFC5280} App. A (ub-title 64)",
        max_length=64,
    )


def location(presence: Presence) -> tuple[AttributeRule, ...]:
    """The address rows as every profile lists them: C (always required), then ST, L and street
    with ``presence``."""
    return (country(Presence.REQUIRED), state(presence), locality(presence), street(presence))


def common_name(presence: Presence, note: str) -> AttributeRule:
    return attr(
        oids.NameAttribute.COMMON_NAME,
        presence,
        f"{ORDER_795_ATTRS}; {RFC5280} App. A (ub-common-name 64)",
        max_length=64,
        note=note,
    )


# --- extension rules shared by the profiles ---------------------------------------------------

SUBJECT_SIGN_TOOL = ExtensionRule(
    oids.RuExtension.SUBJECT_SIGN_TOOL,
    Presence.REQUIRED,
    False,
    f"{ORDER_795_EXTS} (SubjectSignTool ::= UTF8String SIZE(1..200))",
    note="The subscriber's signature tool (e.g. 'СКЗИ \"КриптоПро CSP\" (версия 5.0)').",
)
ISSUER_SIGN_TOOL = ExtensionRule(
    oids.RuExtension.ISSUER_SIGN_TOOL,
    Presence.REQUIRED,
    False,
    f"{ORDER_795_EXTS} (IssuerSignTool ::= SEQUENCE of 4 UTF8String, SIZE(1..200)/(1..100))",
    note="CA's signature tool, CA tool, and the numbers of their conformity certificates: "
    "CA configuration, not constants.",
)
CERTIFICATE_POLICIES = ExtensionRule(
    oids.Extension.CERTIFICATE_POLICIES,
    Presence.REQUIRED,
    False,
    f"{ORDER_795_EXTS}; FSB Order 796 (classes КС1…КА1)",
    note="Carries the class(es) of the subscriber's signature tool; the class is CA "
    "configuration. Order 795 does not say whether lower classes are listed too; CAs list "
    "every class up to the tool's (e.g. КС1 and КС2).",
)
IDENTIFICATION_KIND = ExtensionRule(
    oids.RuExtension.IDENTIFICATION_KIND,
    Presence.REQUIRED,
    False,
    f"{ORDER_31} (IdentificationKind ::= INTEGER 0..3)",
    note="Required on certificates issued from 01.09.2021; not checked on older ones.",
    effective=ORDER_31_IN_FORCE,
)
PRIVATE_KEY_USAGE_PERIOD = ExtensionRule(
    oids.Extension.PRIVATE_KEY_USAGE_PERIOD,
    Presence.REQUIRED,
    False,
    f"{ORDER_795_EXTS}; RFC 3280 §4.2.1.4 (MUST NOT be critical)",
    note="Order 795 lets it be absent when the key period equals the certificate's; we "
    "always emit it, and a foreign certificate without it gets a warning, not an error.",
    strength=Strength.PRACTICE,
    critical_strength=Strength.MUST,
)
#: privateKeyUsagePeriod where a profile allows but does not need it (CA, OCSP responder).
PRIVATE_KEY_USAGE_PERIOD_OPTIONAL = ExtensionRule(
    oids.Extension.PRIVATE_KEY_USAGE_PERIOD,
    Presence.OPTIONAL,
    False,
    PRIVATE_KEY_USAGE_PERIOD.source,
    critical_strength=Strength.MUST,
)
#: keyUsage by RFC 5280 alone (CA and OCSP responder certificates: the bits are the profile's).
KEY_USAGE = ExtensionRule(
    oids.Extension.KEY_USAGE,
    Presence.REQUIRED,
    True,
    f"{RFC5280} §4.2.1.3 (MUST in CA certificates; SHOULD be critical)",
    strength=Strength.MUST,
    critical_strength=Strength.SHOULD,
)
KEY_USAGE_EE = ExtensionRule(
    oids.Extension.KEY_USAGE,
    Presence.REQUIRED,
    True,
    f"{ORDER_795_EXTS}; {RFC5280} §4.2.1.3",
    note="Order 795 requires the extension but not its bits; certificates in circulation carry "
    "digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment. RFC 5280 says "
    "SHOULD be critical: non-critical is a warning, refused when we issue.",
    critical_strength=Strength.SHOULD,
)
EXTENDED_KEY_USAGE_EE = ExtensionRule(
    oids.Extension.EXTENDED_KEY_USAGE,
    Presence.OPTIONAL,
    False,
    f"{RFC5280} §4.2.1.12; {PRACTICE}",
    note="Not required by Order 795; CAs put clientAuth and emailProtection, systems add "
    "their own purposes. RFC 5280 lets the issuer choose its criticality.",
    critical_strength=Strength.UNCONFIRMED,
)
SKI = ExtensionRule(
    oids.Extension.SUBJECT_KEY_IDENTIFIER,
    Presence.REQUIRED,
    False,
    f"{RFC5280} §4.2.1.2 (MUST in CA certificates, SHOULD otherwise; MUST be non-critical)",
    strength=Strength.SHOULD,
    critical_strength=Strength.MUST,
)
AKI = ExtensionRule(
    oids.Extension.AUTHORITY_KEY_IDENTIFIER,
    Presence.REQUIRED,
    False,
    f"{RFC5280} §4.2.1.1 (may be absent only on a self-signed certificate)",
    strength=Strength.MUST,
    critical_strength=Strength.MUST,
)
CRL_DP = ExtensionRule(
    oids.Extension.CRL_DISTRIBUTION_POINTS,
    Presence.REQUIRED,
    False,
    f"{RFC5280} §4.2.1.13; 63-ФЗ art. 13 (the CA publishes its list of revoked certificates)",
    note="Order 795 allows but does not require it; we emit it and warn when a foreign "
    "certificate lacks it.",
    strength=Strength.PRACTICE,
    critical_strength=Strength.SHOULD,
)
AIA = ExtensionRule(
    oids.Extension.AUTHORITY_INFO_ACCESS,
    Presence.OPTIONAL,
    False,
    f"{RFC5280} §4.2.2.1 (MUST be non-critical)",
    note="caIssuers and OCSP URLs when configured.",
    critical_strength=Strength.MUST,
)
SUBJECT_ALT_NAME = ExtensionRule(
    oids.Extension.SUBJECT_ALT_NAME,
    Presence.OPTIONAL,
    False,
    f"{RFC5280} §4.2.1.6 (SHOULD be non-critical with a non-empty subject)",
    critical_strength=Strength.SHOULD,
)


__all__ = [
    "AKI",
    "CERTIFICATE_POLICIES",
    "CRL_DP",
    "DIRECTORY",
    "IDENTIFICATION_KIND",
    "ISSUER_SIGN_TOOL",
    "KEY_USAGE",
    "KEY_USAGE_EE",
    "LAW_63_17",
    "NUMERIC_IN",
    "OPT",
    "ORDER_31",
    "ORDER_31_IN_FORCE",
    "ORDER_795",
    "ORDER_795_ATTRS",
    "ORDER_795_EXTS",
    "PRACTICE",
    "PRIVATE_KEY_USAGE_PERIOD",
    "PRIVATE_KEY_USAGE_PERIOD_OPTIONAL",
    "REQ",
    "RFC5280",
    "RFC6960",
    "RFC9215",
    "SKI",
    "SUBJECT_SIGN_TOOL",
    "AttributeRule",
    "ExtensionRule",
    "IdentifierKind",
    "Presence",
    "Strength",
    "weaker",
]


# --- the CA's own services (OCSP responder, TSA): rows their profiles share --------------------


def service_subject(cn_note: str, *identifiers: AttributeRule) -> tuple[AttributeRule, ...]:
    """Subject of a service certificate of this CA (profiles ``ocsp`` and ``tsa``): the CA's
    location and organisation, the service's CN, then ``identifiers`` (OGRN, INNLE), optional."""
    return (
        *location(OPT),
        organization(REQ),
        common_name(REQ, cn_note),
        *(replace(rule, presence=OPT) for rule in identifiers),
    )


#: Extension rows after the service-specific ones (EKU, nocheck, CDP): key identifiers, the
#: optional sign-tool extensions and private-key usage period.
SERVICE_COMMON_EXTENSIONS: tuple[ExtensionRule, ...] = (
    SKI,
    AKI,
    ExtensionRule(oids.RuExtension.SUBJECT_SIGN_TOOL, OPT, False, SUBJECT_SIGN_TOOL.source),
    ExtensionRule(oids.RuExtension.ISSUER_SIGN_TOOL, OPT, False, ISSUER_SIGN_TOOL.source),
    PRIVATE_KEY_USAGE_PERIOD_OPTIONAL,
)

#: Certificate and private-key period of a service certificate, in months (practice).
SERVICE_MONTHS = 15

#: Key usage of a service certificate: signs (digitalSignature; nonRepudiation emitted as the
#: CA's practice), never certificates or CRLs (RFC 5280 §4.2.1.3).
SERVICE_KEY_USAGE_EMIT = frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})
SERVICE_KEY_USAGE_REQUIRED = frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
SERVICE_KEY_USAGE_FORBIDDEN = frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN})

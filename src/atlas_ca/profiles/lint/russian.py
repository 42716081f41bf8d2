"""Russian qualified-certificate rules: FSB Order 795 (as amended by Order 31), 63-ФЗ art. 17.

Profile-driven lints read the profile's tables (required attributes and extensions, string
types, lengths, keys, validity), so a rule changes in one place: the profile data. Identifier
check digits come from :mod:`atlas_ca.domain.identifiers`, never re-implemented here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

from atlas_ca.asn1 import oids
from atlas_ca.domain import identifiers
from atlas_ca.errors import AtlasCaError, InvalidIdentifier, InvalidPublicKey
from atlas_ca.gost.keys import spki_param_set_oid
from atlas_ca.profiles.base import ProfileKind, add_months
from atlas_ca.profiles.fields import (
    LAW_63_17,
    ORDER_31,
    ORDER_31_IN_FORCE,
    ORDER_795_ATTRS,
    ORDER_795_EXTS,
    RFC9215,
    IdentifierKind,
    Presence,
    Strength,
    weaker,
)
from atlas_ca.profiles.lint.registry import (
    ALL_KINDS,
    QUALIFIED_KINDS,
    SUBSCRIBER_KINDS,
    Hit,
    LintContext,
    Severity,
    lint,
    lint_family,
    repeated_oids,
)
from atlas_ca.profiles.lint.rfc5280 import UPPER_BOUNDS
from atlas_ca.profiles.lint.view import Attr
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.keys import accept_public_key

LAW, MUST, PRACTICE = Strength.LAW, Strength.MUST, Strength.PRACTICE
UNCONFIRMED, INFO = Strength.UNCONFIRMED, Strength.INFO
#: GOST R 34.10-2001 signatures may not be created after 31.12.2018 (FSB notice
#: 149/7/1/3-58 of 31.01.2014 on the transition to GOST R 34.10-2012).
GOST2001_END = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
FSB_2012_TRANSITION = "FSB notice 149/7/1/3-58 of 31.01.2014 (GOST R 34.10-2001 until 31.12.2018)"
PROFILED = ALL_KINDS - {ProfileKind.UNKNOWN}
PERSON_KINDS = frozenset({ProfileKind.INDIVIDUAL, ProfileKind.ENTREPRENEUR})

_GOST_2012 = {
    oids.GostAlgorithm.GOST3410_2012_256.dotted,
    oids.GostAlgorithm.GOST3410_2012_512.dotted,
}
_GOST_2012_SIG = {
    oids.GostAlgorithm.SIGN_WITH_GOST3411_2012_256.dotted,
    oids.GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted,
}
_GOST_2001 = oids.GostAlgorithm.GOST3410_2001.dotted
_GOST_2001_SIG = oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted
_POLICY_CLASSES = frozenset(
    o.dotted
    for o in (
        oids.RuPolicy.KC1,
        oids.RuPolicy.KC2,
        oids.RuPolicy.KC3,
        oids.RuPolicy.KB1,
        oids.RuPolicy.KB2,
        oids.RuPolicy.KA1,
    )
)
_NUMERIC_IDS: dict[str, tuple[int, IdentifierKind]] = {
    oids.RuAttribute.OGRN.dotted: (13, IdentifierKind.OGRN),
    oids.RuAttribute.SNILS.dotted: (11, IdentifierKind.SNILS),
    oids.RuAttribute.INNLE.dotted: (10, IdentifierKind.INN_LEGAL),
    oids.RuAttribute.OGRNIP.dotted: (15, IdentifierKind.OGRNIP),
    oids.RuAttribute.INN.dotted: (12, IdentifierKind.INN_PERSON),
}
_VALIDATORS: dict[IdentifierKind, Callable[[str], object]] = {
    IdentifierKind.INN_PERSON: identifiers.InnPerson,
    IdentifierKind.INN_LEGAL: identifiers.InnLegal,
    IdentifierKind.OGRN: identifiers.Ogrn,
    IdentifierKind.OGRNIP: identifiers.Ogrnip,
    IdentifierKind.SNILS: identifiers.Snils,
}
_DIGITS = re.compile(r"[0-9]+")
#: keyUsage bits as RFC 5280 §4.2.1.3 names them (messages never show an enum's name).
KU_NAMES = {
    x509ext.KeyUsageBit.DIGITAL_SIGNATURE: "digitalSignature",
    x509ext.KeyUsageBit.CONTENT_COMMITMENT: "nonRepudiation (contentCommitment)",
    x509ext.KeyUsageBit.KEY_ENCIPHERMENT: "keyEncipherment",
    x509ext.KeyUsageBit.DATA_ENCIPHERMENT: "dataEncipherment",
    x509ext.KeyUsageBit.KEY_AGREEMENT: "keyAgreement",
    x509ext.KeyUsageBit.KEY_CERT_SIGN: "keyCertSign",
    x509ext.KeyUsageBit.CRL_SIGN: "cRLSign",
    x509ext.KeyUsageBit.ENCIPHER_ONLY: "encipherOnly",
    x509ext.KeyUsageBit.DECIPHER_ONLY: "decipherOnly",
}

#: Slack when checking a foreign certificate's validity against the profile's months: CryptoPro
#: УЦ 2.0 issues "15 months" as 15 months and 10 minutes (seen on its test OCSP certificate).
#: Our own issuance is refused at the exact limit (``issue.check_validity``).
VALIDITY_GRACE = dt.timedelta(days=1)


def _padded_legal_inn(a: Attr) -> bool:
    """The pre-2021 practice: a legal entity's 10-digit ИНН in INN, padded with '00'."""
    return (
        a.oid.dotted == oids.RuAttribute.INN.dotted
        and a.text is not None
        and len(a.text) == 12
        and a.text.startswith("00")
        and a.text.isdigit()
    )


# --- keys and algorithms ----------------------------------------------------------------------


def _before_2019(ctx: LintContext) -> bool:
    return ctx.cert.not_before < GOST2001_END


@lint(
    "e_ru_key_not_gost2012",
    LAW,
    f"{RFC9215}; 63-ФЗ art. 12 (certified tools); {FSB_2012_TRANSITION}",
    kinds=PROFILED,
)
def key_not_gost2012(ctx: LintContext) -> Iterator[Hit]:
    """The subject key must be GOST R 34.10-2012 (2001 keys only on certificates before 2019)."""
    alg = ctx.cert.spki_algorithm
    if alg in _GOST_2012 or (alg == _GOST_2001 and _before_2019(ctx)):
        return
    what = "a GOST R 34.10-2001 key issued after 2018" if alg == _GOST_2001 else alg
    yield Hit(
        "tbsCertificate.subjectPublicKeyInfo.algorithm",
        f"{what} is not a GOST R 34.10-2012 key",
    )


@lint("n_ru_key_gost2001", INFO, FSB_2012_TRANSITION, kinds=ALL_KINDS)
def key_gost2001(ctx: LintContext) -> Iterator[Hit]:
    """A GOST R 34.10-2001 key: not for qualified use since 01.01.2019."""
    if ctx.cert.spki_algorithm == _GOST_2001:
        yield Hit(
            "tbsCertificate.subjectPublicKeyInfo.algorithm",
            "GOST R 34.10-2001 key: not for qualified use since 2019-01-01",
        )


@lint("e_ru_key_param_set_not_allowed", MUST, RFC9215, kinds=PROFILED)
def key_param_set_not_allowed(ctx: LintContext) -> Iterator[Hit]:
    """The key's parameter set must be one the profile allows."""
    if ctx.profile is None or ctx.cert.spki_algorithm not in _GOST_2012:
        return
    param_set = spki_param_set_oid(ctx.cert.spki_der)
    allowed = {p.dotted for rule in ctx.profile.keys for p in rule.param_sets}
    if param_set not in allowed:
        yield Hit(
            "tbsCertificate.subjectPublicKeyInfo.algorithm.parameters",
            f"parameter set {param_set} is not allowed by {ctx.profile.name}",
        )


@lint(
    "e_ru_key_point_invalid",
    MUST,
    f"GOST R 34.10-2012 §5.2, §6.1 (Q = d·P, a point of order q); {RFC9215} §4",
)
def key_point_invalid(ctx: LintContext) -> Iterator[Hit]:
    """A GOST key is a point of the curve's prime-order subgroup (not small-order, not off-curve).

    On the cofactor-4 sets (TC26 256 paramSetA, 512 paramSetC) a point with a component of
    order 2 or 4 lets anyone forge signatures "by" the key; every profile, and foreign
    certificates too, get this error.
    """
    if ctx.cert.spki_algorithm not in _GOST_2012:
        return
    try:
        accept_public_key(ctx.cert.spki_der, "linted certificate")
    except InvalidPublicKey as exc:
        yield Hit("tbsCertificate.subjectPublicKeyInfo.subjectPublicKey", exc.detail)
    except AtlasCaError:
        return  # an unreadable key or unknown set: e_ru_key_param_set_not_allowed reports it


@lint("e_ru_signature_not_gost2012", MUST, f"{RFC9215} §3.2", kinds=PROFILED)
def signature_not_gost2012(ctx: LintContext) -> Iterator[Hit]:
    """The certificate is signed with GOST R 34.10-2012 and Streebog (2001 before 2019)."""
    sig = ctx.cert.tbs_signature_oid
    if sig not in _GOST_2012_SIG and not (sig == _GOST_2001_SIG and _before_2019(ctx)):
        yield Hit(
            "tbsCertificate.signature",
            f"{ctx.cert.tbs_signature_oid} is not a GOST R 34.10-2012 signature",
        )


# --- subject attributes -----------------------------------------------------------------------


@lint_family(
    "ru_subject_attribute_missing",
    f"{ORDER_795_ATTRS}; {LAW_63_17}",
    kinds=PROFILED,
    issuance=Severity.ERROR,
)
def subject_attribute_missing(ctx: LintContext) -> Iterator[tuple[Strength, Hit]]:
    """Every attribute the profile requires is in the subject (weighed by the rule's source)."""
    if ctx.profile is None:
        return
    for rule in ctx.profile.required_attributes:
        if ctx.cert.attrs(rule.oid):
            continue
        if rule.oid.dotted == oids.RuAttribute.INNLE.dotted and any(
            _padded_legal_inn(a) for a in ctx.cert.attrs(oids.RuAttribute.INN)
        ):
            continue  # pre-2021 form, reported by the INN lints
        strength = weaker(rule.strength, ctx.profile.qualified)
        word = "required" if strength.binding else "expected"
        yield (
            strength,
            Hit(f"subject.{rule.oid.name}", f"{rule.oid.name} is {word} by {ctx.profile.name}"),
        )


@lint("w_ru_subject_attribute_unexpected", PRACTICE, ORDER_795_ATTRS, kinds=PROFILED)
def subject_attribute_unexpected(ctx: LintContext) -> Iterator[Hit]:
    """An attribute the profile does not list (e.g. an organisation in an individual's)."""
    if ctx.profile is None:
        return
    for a in ctx.cert.subject:
        rule = ctx.profile.attribute(a.oid)
        if rule is None or rule.presence is Presence.FORBIDDEN:
            if _padded_legal_inn(a):
                continue
            yield Hit(a.path, f"{a.oid.name} is not part of the {ctx.profile.name} profile")


@lint("e_ru_subject_attribute_repeated", LAW, ORDER_795_ATTRS, kinds=PROFILED)
def subject_attribute_repeated(ctx: LintContext) -> Iterator[Hit]:
    """Each attribute of the profile appears once."""
    yield from repeated_oids(ctx.cert.subject)


@lint("e_ru_subject_attribute_string_type", LAW, ORDER_795_ATTRS, kinds=PROFILED)
def subject_attribute_string_type(ctx: LintContext) -> Iterator[Hit]:
    """Each attribute uses a string type the profile accepts (identifiers: NumericString)."""
    if ctx.profile is None:
        return
    for a in ctx.cert.subject:
        rule = ctx.profile.attribute(a.oid)
        if rule is not None and a.tag not in {t.value for t in rule.accept}:
            yield Hit(a.path, f"{a.oid.name} is a {a.tag_name}; expected {rule.emit.name}")


@lint("n_ru_identifier_printable_string", INFO, ORDER_795_ATTRS, kinds=ALL_KINDS)
def identifier_printable_string(ctx: LintContext) -> Iterator[Hit]:
    """A numeric identifier encoded as PrintableString (accepted; we emit NumericString)."""
    for a in ctx.cert.subject:
        if a.oid.dotted in _NUMERIC_IDS and a.tag == 19:
            yield Hit(a.path, f"{a.oid.name} is a PrintableString, NumericString is preferred")


@lint("e_ru_subject_attribute_too_long", LAW, ORDER_795_ATTRS, kinds=PROFILED)
def subject_attribute_too_long(ctx: LintContext) -> Iterator[Hit]:
    """Attribute values within the profile's length (RFC bounds are warnings elsewhere)."""
    if ctx.profile is None:
        return
    for a in ctx.cert.subject:
        rule = ctx.profile.attribute(a.oid)
        if (
            rule is None
            or rule.max_length is None
            or rule.digits is not None
            or a.oid.dotted in UPPER_BOUNDS
            or a.text is None
        ):
            continue
        if len(a.text) > rule.max_length:
            yield Hit(a.path, f"{a.oid.name} has {len(a.text)} characters, max {rule.max_length}")


@lint("w_ru_country_not_ru", PRACTICE, ORDER_795_ATTRS, kinds=PROFILED)
def country_not_ru(ctx: LintContext) -> Iterator[Hit]:
    """Certificates of a Russian accredited CA name the country RU."""
    for a in ctx.cert.attrs(oids.NameAttribute.COUNTRY_NAME):
        if a.text != "RU":
            yield Hit(a.path, f"countryName is {a.text!r}, not RU")


@lint("w_ru_common_name_not_full_name", PRACTICE, ORDER_795_ATTRS, kinds=PERSON_KINDS)
def common_name_not_full_name(ctx: LintContext) -> Iterator[Hit]:
    """commonName of a person is 'surname givenName' (how CAs in circulation write it)."""
    cn = ctx.cert.attr_text(oids.NameAttribute.COMMON_NAME)
    sn = ctx.cert.attr_text(oids.NameAttribute.SURNAME)
    gn = ctx.cert.attr_text(oids.NameAttribute.GIVEN_NAME)
    if cn and sn and gn and " ".join(cn.split()) != f"{sn} {gn}":
        yield Hit("subject.commonName", "commonName is not surname followed by givenName")


# --- identifiers ------------------------------------------------------------------------------


@lint("e_ru_identifier_format", LAW, ORDER_795_ATTRS, kinds=ALL_KINDS)
def identifier_format(ctx: LintContext) -> Iterator[Hit]:
    """OGRN 13, SNILS 11, INNLE 10, OGRNIP 15, INN 12 digits, nothing else."""
    for a in ctx.cert.subject:
        spec = _NUMERIC_IDS.get(a.oid.dotted)
        if spec is None or a.text is None:
            continue
        if not _DIGITS.fullmatch(a.text) or len(a.text) != spec[0]:
            yield Hit(a.path, f"{a.oid.name} must be exactly {spec[0]} digits")


def _check_digits(ctx: LintContext, kind: IdentifierKind) -> Iterator[Hit]:
    for a in ctx.cert.subject:
        spec = _NUMERIC_IDS.get(a.oid.dotted)
        if spec is None or spec[1] is not kind or a.text is None:
            continue
        if not _DIGITS.fullmatch(a.text) or len(a.text) != spec[0]:
            continue  # e_ru_identifier_format
        value, validator = a.text, _VALIDATORS[kind]
        if _padded_legal_inn(a):
            value, validator = a.text[2:], identifiers.InnLegal
        try:
            validator(value)
        except InvalidIdentifier as exc:
            yield Hit(a.path, exc.problem)


@lint("e_ru_inn_check_digit", LAW, "ИНН check digits (ФНС order ММ-7-6/435@)", kinds=ALL_KINDS)
def inn_check_digit(ctx: LintContext) -> Iterator[Hit]:
    """The ИНН in INN passes its check digits."""
    yield from _check_digits(ctx, IdentifierKind.INN_PERSON)


@lint("e_ru_innle_check_digit", LAW, "ИНН check digit (ФНС order ММ-7-6/435@)", kinds=ALL_KINDS)
def innle_check_digit(ctx: LintContext) -> Iterator[Hit]:
    """The ИНН of a legal entity in INNLE passes its check digit."""
    yield from _check_digits(ctx, IdentifierKind.INN_LEGAL)


@lint("e_ru_ogrn_check_digit", LAW, "ОГРН check digit (Government decree 438 of 19.06.2002)")
def ogrn_check_digit(ctx: LintContext) -> Iterator[Hit]:
    """The ОГРН passes its check digit and starts with 1 or 5."""
    yield from _check_digits(ctx, IdentifierKind.OGRN)


@lint("e_ru_ogrnip_check_digit", LAW, "ОГРНИП check digit (Government decree 630 of 16.10.2003)")
def ogrnip_check_digit(ctx: LintContext) -> Iterator[Hit]:
    """The ОГРНИП passes its check digit and starts with 3."""
    yield from _check_digits(ctx, IdentifierKind.OGRNIP)


@lint("e_ru_snils_check_digit", LAW, "СНИЛС checksum (ПФР rules for the insurance number)")
def snils_check_digit(ctx: LintContext) -> Iterator[Hit]:
    """The СНИЛС passes its two-digit checksum."""
    yield from _check_digits(ctx, IdentifierKind.SNILS)


@lint("n_ru_inn_padded_legal_entity", INFO, f"{ORDER_795_ATTRS} before {ORDER_31}")
def inn_padded_legal_entity(ctx: LintContext) -> Iterator[Hit]:
    """A pre-2021 certificate carries a legal entity's ИНН in INN padded with '00'."""
    if ctx.cert.not_before >= ORDER_31_IN_FORCE:
        return
    for a in ctx.cert.attrs(oids.RuAttribute.INN):
        if _padded_legal_inn(a):
            yield Hit(a.path, "legal entity's ИНН padded to 12 digits (pre-2021 form)")


@lint("e_ru_inn_padded_after_2021", LAW, ORDER_31, effective=ORDER_31_IN_FORCE)
def inn_padded_after_2021(ctx: LintContext) -> Iterator[Hit]:
    """From 01.09.2021 a legal entity's ИНН goes in INNLE, not padded in INN."""
    for a in ctx.cert.attrs(oids.RuAttribute.INN):
        if _padded_legal_inn(a):
            yield Hit(a.path, "legal entity's ИНН padded in INN; use INNLE (Order 31)")


# --- extensions -------------------------------------------------------------------------------


@lint_family(
    "ru_extension_missing",
    f"{ORDER_795_EXTS}; RFC 5280 §4.2",
    kinds=PROFILED,
    bands=(Severity.ERROR, Severity.WARNING),
)
def extension_missing(ctx: LintContext) -> Iterator[tuple[Strength, Hit]]:
    """Every extension the profile requires (and is in force for the certificate) is present."""
    if ctx.profile is None:
        return
    for rule in ctx.profile.required_extensions:
        if rule.effective is not None and ctx.cert.not_before < rule.effective:
            continue
        if ctx.cert.ext(rule.oid) is None:
            strength = weaker(rule.strength, ctx.profile.qualified)
            why = rule.source if strength.binding else (rule.note or rule.source)
            word = "required" if strength.binding else "expected"
            yield strength, Hit(f"extensions.{rule.oid.name}", f"{rule.oid.name} is {word} ({why})")


@lint_family(
    "ru_extension_criticality",
    f"{ORDER_795_EXTS}; RFC 5280 §4.2 (per extension: see the profile tables)",
    kinds=PROFILED,
    issuance=Severity.ERROR,
)
def extension_criticality(ctx: LintContext) -> Iterator[tuple[Strength, Hit]]:
    """Each extension of the profile has the criticality the profile fixes."""
    if ctx.profile is None:
        return
    for e in ctx.cert.extensions:
        rule = ctx.profile.extension(e.oid)
        if rule is not None and e.critical != rule.critical:
            want = "critical" if rule.critical else "non-critical"
            verb = {Strength.SHOULD: "should be", Strength.MUST: "must be"}.get(
                rule.critical_strength, "is expected"
            )
            yield rule.critical_strength, Hit(e.path, f"{e.oid.name} {verb} {want}")


@lint("e_ru_policy_class_missing", LAW, f"{ORDER_795_EXTS}; FSB Order 796", kinds=QUALIFIED_KINDS)
def policy_class_missing(ctx: LintContext) -> Iterator[Hit]:
    """certificatePolicies names the class of the signature tool (КС1…КА1)."""
    ext = ctx.cert.ext(oids.Extension.CERTIFICATE_POLICIES)
    if ext is None:
        return  # e_ru_extension_missing
    parsed = ext.parsed()
    policies = (
        {p.policy.dotted for p in parsed.policies}
        if isinstance(parsed, x509ext.CertificatePolicies)
        else set()
    )
    if not policies & _POLICY_CLASSES:
        yield Hit(ext.path, "no class of signature tool (1.2.643.100.113.x) among the policies")


@lint("e_ru_key_usage_bits_missing", MUST, "RFC 5280 §4.2.1.3; profile keyUsage", kinds=PROFILED)
def key_usage_bits_missing(ctx: LintContext) -> Iterator[Hit]:
    """keyUsage sets every bit the profile requires."""
    ext = ctx.cert.ext(oids.Extension.KEY_USAGE)
    if ctx.profile is None or ext is None:
        return
    ku = ext.parsed()
    if isinstance(ku, x509ext.KeyUsage):
        for bit in sorted(ctx.profile.key_usage.required - ku.usages, key=lambda b: b.value):
            yield Hit(ext.path, f"{KU_NAMES[bit]} is required by {ctx.profile.name}")


@lint("e_ru_key_usage_bits_forbidden", MUST, "RFC 5280 §4.2.1.3; profile keyUsage", kinds=PROFILED)
def key_usage_bits_forbidden(ctx: LintContext) -> Iterator[Hit]:
    """keyUsage sets no bit the profile forbids (a subscriber never signs certificates)."""
    ext = ctx.cert.ext(oids.Extension.KEY_USAGE)
    if ctx.profile is None or ext is None:
        return
    ku = ext.parsed()
    if isinstance(ku, x509ext.KeyUsage):
        for bit in sorted(ctx.profile.key_usage.forbidden & ku.usages, key=lambda b: b.value):
            yield Hit(ext.path, f"{KU_NAMES[bit]} is forbidden by {ctx.profile.name}")


@lint("e_ru_subscriber_is_ca", MUST, "RFC 5280 §4.2.1.9; profile", kinds=SUBSCRIBER_KINDS)
def subscriber_is_ca(ctx: LintContext) -> Iterator[Hit]:
    """A subscriber's or responder's certificate does not assert cA TRUE."""
    ext = ctx.cert.ext(oids.Extension.BASIC_CONSTRAINTS)
    if ext is not None:
        parsed = ext.parsed()
        if isinstance(parsed, x509ext.BasicConstraints) and parsed.ca:
            yield Hit(ext.path, "basicConstraints cA is TRUE on a non-CA profile")


@lint("e_ru_ca_not_ca", MUST, "RFC 5280 §4.2.1.9", kinds=frozenset({ProfileKind.CA}))
def ca_not_ca(ctx: LintContext) -> Iterator[Hit]:
    """A CA certificate asserts cA TRUE."""
    ext = ctx.cert.ext(oids.Extension.BASIC_CONSTRAINTS)
    if ext is not None:
        parsed = ext.parsed()
        if isinstance(parsed, x509ext.BasicConstraints) and not parsed.ca:
            yield Hit(ext.path, "basicConstraints cA is not TRUE on a CA certificate")


@lint("e_ru_ocsp_signing_missing", MUST, "RFC 6960 §4.2.2.2", kinds=frozenset({ProfileKind.OCSP}))
def ocsp_signing_missing(ctx: LintContext) -> Iterator[Hit]:
    """A delegated OCSP responder's certificate lists id-kp-OCSPSigning."""
    ext = ctx.cert.ext(oids.Extension.EXTENDED_KEY_USAGE)
    parsed = ext.parsed() if ext is not None else None
    purposes = (
        {p.dotted for p in parsed.purposes}
        if isinstance(parsed, x509ext.ExtendedKeyUsage)
        else set()
    )
    if oids.ExtendedKeyUsage.OCSP_SIGNING.dotted not in purposes:
        yield Hit("extensions.extKeyUsage", "id-kp-OCSPSigning is not listed")


@lint(
    "n_ru_validity_too_long",
    UNCONFIRMED,
    "profile validity: our issuance policy, no normative maximum (see docs/profiles.md)",
    kinds=PROFILED,
    issuance=Severity.ERROR,
)
def validity_too_long(ctx: LintContext) -> Iterator[Hit]:
    """The certificate's validity is within the profile's maximum."""
    if ctx.profile is None:
        return
    months = ctx.profile.validity.certificate_months
    if ctx.cert.not_after > add_months(ctx.cert.not_before, months) + VALIDITY_GRACE:
        yield Hit("tbsCertificate.validity", f"longer than {months} months ({ctx.profile.name})")


@lint(
    "n_ru_private_key_usage_too_long",
    UNCONFIRMED,
    "profile validity: our issuance policy, no normative maximum; RFC 3280 §4.2.1.4",
    kinds=PROFILED,
    issuance=Severity.ERROR,
)
def private_key_usage_too_long(ctx: LintContext) -> Iterator[Hit]:
    """The private key's usage period is within the profile's maximum."""
    ext = ctx.cert.ext(oids.Extension.PRIVATE_KEY_USAGE_PERIOD)
    if ctx.profile is None or ext is None or ctx.profile.validity.private_key_months is None:
        return
    pkup = ext.parsed()
    if not isinstance(pkup, x509ext.PrivateKeyUsagePeriod) or pkup.not_after is None:
        return
    start = pkup.not_before or ctx.cert.not_before
    months = ctx.profile.validity.private_key_months
    if pkup.not_after > add_months(start, months) + VALIDITY_GRACE:
        yield Hit(ext.path, f"private key usable longer than {months} months")


@lint("e_ru_identification_kind_value", LAW, ORDER_31, kinds=ALL_KINDS)
def identification_kind_value(ctx: LintContext) -> Iterator[Hit]:
    """identificationKind is 0, 1, 2 or 3."""
    ext = ctx.cert.ext(oids.RuExtension.IDENTIFICATION_KIND)
    if ext is None or not ext.value:
        return
    if ext.value[0] != 0x02 or not 3 <= len(ext.value) <= 6:
        return  # not an INTEGER at all: e_ext_malformed
    value = int.from_bytes(ext.value[2:], "big", signed=True)
    if not 0 <= value <= 3:
        yield Hit(ext.path, f"identificationKind is {value}, expected 0..3")


__all__ = ["KU_NAMES", "PERSON_KINDS", "PROFILED", "VALIDITY_GRACE"]

"""RFC 5280 basics, for every certificate whatever its profile.

Each function checks one rule; the decorator gives its stable code, severity and source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError
from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.fields import Strength
from atlas_ca.profiles.lint.registry import Hit, LintContext, Severity, lint, repeated_oids
from atlas_ca.profiles.lint.view import GENERALIZED_TIME, UTC_TIME
from atlas_ca.x509 import extensions as x509ext

MUST, SHOULD, PRACTICE = Strength.MUST, Strength.SHOULD, Strength.PRACTICE

_Y2050 = dt.datetime(2050, 1, 1, tzinfo=dt.UTC)
_UTC_FORM = re.compile(rb"\d{12}Z")
_GEN_FORM = re.compile(rb"\d{14}Z")
_DIRECTORY_TAGS = frozenset({12, 19, 20, 28, 30})
#: Upper bounds of RFC 5280 Appendix A (characters).
UPPER_BOUNDS = {
    oids.NameAttribute.COMMON_NAME.dotted: 64,
    oids.NameAttribute.ORGANIZATION_NAME.dotted: 64,
    oids.NameAttribute.ORGANIZATIONAL_UNIT_NAME.dotted: 64,
    oids.NameAttribute.TITLE.dotted: 64,
    oids.NameAttribute.LOCALITY_NAME.dotted: 128,
    oids.NameAttribute.STATE_OR_PROVINCE_NAME.dotted: 128,
    oids.NameAttribute.EMAIL_ADDRESS.dotted: 255,
}
_DIRECTORY_ATTRS = frozenset(
    o.dotted
    for o in (
        oids.NameAttribute.COMMON_NAME,
        oids.NameAttribute.SURNAME,
        oids.NameAttribute.GIVEN_NAME,
        oids.NameAttribute.LOCALITY_NAME,
        oids.NameAttribute.STATE_OR_PROVINCE_NAME,
        oids.NameAttribute.STREET_ADDRESS,
        oids.NameAttribute.ORGANIZATION_NAME,
        oids.NameAttribute.ORGANIZATIONAL_UNIT_NAME,
        oids.NameAttribute.TITLE,
    )
)


def _is_ca(ctx: LintContext) -> bool:
    ext = ctx.cert.ext(oids.Extension.BASIC_CONSTRAINTS)
    if ext is None:
        return False
    parsed = ext.parsed()
    return isinstance(parsed, x509ext.BasicConstraints) and parsed.ca


def _key_usage(ctx: LintContext) -> x509ext.KeyUsage | None:
    ext = ctx.cert.ext(oids.Extension.KEY_USAGE)
    if ext is None:
        return None
    parsed = ext.parsed()
    return parsed if isinstance(parsed, x509ext.KeyUsage) else None


@lint("e_x690_not_der", MUST, "X.690 §10 (DER); RFC 5280 §4.1")
def not_der(ctx: LintContext) -> Iterator[Hit]:
    """The certificate is not DER (indefinite or non-minimal lengths, bad BOOLEAN...)."""
    if ctx.cert.der_problem:
        yield Hit("certificate", ctx.cert.der_problem)


@lint("e_rfc_version_not_v3", MUST, "RFC 5280 §4.1.2.1")
def version_not_v3(ctx: LintContext) -> Iterator[Hit]:
    """A certificate with extensions must be version 3."""
    if ctx.cert.extensions_present and ctx.cert.version != 2:
        yield Hit(
            "tbsCertificate.version", f"version is v{ctx.cert.version + 1}, extensions need v3"
        )


@lint("e_rfc_serial_not_positive", MUST, "RFC 5280 §4.1.2.2")
def serial_not_positive(ctx: LintContext) -> Iterator[Hit]:
    """The serial number must be a positive integer."""
    if ctx.cert.serial <= 0:
        yield Hit("tbsCertificate.serialNumber", f"serial number {ctx.cert.serial} is not positive")


@lint("e_rfc_serial_too_long", MUST, "RFC 5280 §4.1.2.2 (at most 20 octets)")
def serial_too_long(ctx: LintContext) -> Iterator[Hit]:
    """The serial number must fit in 20 octets."""
    if len(ctx.cert.serial_octets) > 20:
        yield Hit(
            "tbsCertificate.serialNumber",
            f"serial number takes {len(ctx.cert.serial_octets)} octets, more than 20",
        )


@lint("e_rfc_signature_algorithm_mismatch", MUST, "RFC 5280 §4.1.1.2")
def signature_algorithm_mismatch(ctx: LintContext) -> Iterator[Hit]:
    """signatureAlgorithm must equal tbsCertificate.signature."""
    outer = ctx.cert.outer_signature_oid
    if outer is not None and outer != ctx.cert.tbs_signature_oid:
        yield Hit(
            "signatureAlgorithm",
            f"{outer} differs from tbsCertificate.signature {ctx.cert.tbs_signature_oid}",
        )


@lint("e_rfc_validity_time_type", MUST, "RFC 5280 §4.1.2.5")
def validity_time_type(ctx: LintContext) -> Iterator[Hit]:
    """Dates through 2049 are UTCTime, dates from 2050 GeneralizedTime."""
    for name, when, tag in (
        ("notBefore", ctx.cert.not_before, ctx.cert.not_before_tag),
        ("notAfter", ctx.cert.not_after, ctx.cert.not_after_tag),
    ):
        wanted = UTC_TIME if when < _Y2050 else GENERALIZED_TIME
        if tag != wanted:
            kind = "UTCTime" if wanted == UTC_TIME else "GeneralizedTime"
            yield Hit(f"tbsCertificate.validity.{name}", f"{when:%Y-%m-%d} must be a {kind}")


@lint("e_rfc_validity_time_format", MUST, "RFC 5280 §§ 4.1.2.5.1–4.1.2.5.2")
def validity_time_format(ctx: LintContext) -> Iterator[Hit]:
    """Times are Zulu with seconds and without fractions (YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ)."""
    for name, raw, tag in (
        ("notBefore", ctx.cert.not_before_raw, ctx.cert.not_before_tag),
        ("notAfter", ctx.cert.not_after_raw, ctx.cert.not_after_tag),
    ):
        form = _UTC_FORM if tag == UTC_TIME else _GEN_FORM
        if not form.fullmatch(raw):
            yield Hit(f"tbsCertificate.validity.{name}", f"{raw!r} is not in the DER form")


@lint("e_rfc_validity_inverted", MUST, "RFC 5280 §4.1.2.5")
def validity_inverted(ctx: LintContext) -> Iterator[Hit]:
    """notAfter must not precede notBefore."""
    if ctx.cert.not_after < ctx.cert.not_before:
        yield Hit("tbsCertificate.validity", "notAfter is before notBefore")


@lint("e_rfc_issuer_empty", MUST, "RFC 5280 §4.1.2.4")
def issuer_empty(ctx: LintContext) -> Iterator[Hit]:
    """The issuer must be a non-empty distinguished name."""
    if not ctx.cert.issuer:
        yield Hit("tbsCertificate.issuer", "issuer name is empty")


@lint("e_rfc_subject_empty", MUST, "RFC 5280 §4.1.2.6")
def subject_empty(ctx: LintContext) -> Iterator[Hit]:
    """An empty subject needs a critical subjectAltName (and a CA never has one)."""
    if ctx.cert.subject:
        return
    san = ctx.cert.ext(oids.Extension.SUBJECT_ALT_NAME)
    if san is None or not san.critical or ctx.kind is ProfileKind.CA:
        yield Hit("tbsCertificate.subject", "subject is empty without a critical subjectAltName")


@lint("e_rfc_extensions_empty", MUST, "RFC 5280 §4.1 (Extensions ::= SEQUENCE SIZE (1..MAX))")
def extensions_empty(ctx: LintContext) -> Iterator[Hit]:
    """An extensions field, when present, holds at least one extension."""
    if ctx.cert.extensions_present and not ctx.cert.extensions:
        yield Hit("tbsCertificate.extensions", "extensions field is present but empty")


@lint("e_rfc_extension_duplicate", MUST, "RFC 5280 §4.2")
def extension_duplicate(ctx: LintContext) -> Iterator[Hit]:
    """A certificate must not include more than one instance of an extension."""
    yield from repeated_oids(ctx.cert.extensions)


@lint("e_rfc_extension_value_empty", MUST, "RFC 5280 §4.1 (extnValue holds the DER value)")
def extension_value_empty(ctx: LintContext) -> Iterator[Hit]:
    """extnValue must hold an encoded value, never nothing."""
    for e in ctx.cert.extensions:
        if not e.value:
            yield Hit(e.path, f"{e.oid.name} has an empty extnValue")


@lint(
    "e_ext_malformed",
    MUST,
    "RFC 5280 §4.2 (standard extensions); Order 795 (Russian extensions)",
)
def extension_malformed(ctx: LintContext) -> Iterator[Hit]:
    """A known extension whose value does not decode as its ASN.1 type requires."""
    for e in ctx.cert.extensions:
        if not e.value:
            continue
        try:
            e.parsed()
        except DecodeError as exc:
            yield Hit(e.path, str(exc))


@lint("e_rfc_ca_ski_missing", MUST, "RFC 5280 §4.2.1.2 (MUST in CA certificates)")
def ca_ski_missing(ctx: LintContext) -> Iterator[Hit]:
    """A CA certificate must carry subjectKeyIdentifier."""
    is_ca = ctx.kind is ProfileKind.CA or _is_ca(ctx)
    if is_ca and ctx.cert.ext(oids.Extension.SUBJECT_KEY_IDENTIFIER) is None:
        yield Hit("extensions", "CA certificate without subjectKeyIdentifier")


@lint(
    "w_rfc_subscriber_ski_missing", SHOULD, "RFC 5280 §4.2.1.2 (SHOULD in end-entity certificates)"
)
def subscriber_ski_missing(ctx: LintContext) -> Iterator[Hit]:
    """An end-entity certificate should carry subjectKeyIdentifier."""
    is_ca = ctx.kind is ProfileKind.CA or _is_ca(ctx)
    if not is_ca and ctx.cert.ext(oids.Extension.SUBJECT_KEY_IDENTIFIER) is None:
        yield Hit("extensions", "certificate without subjectKeyIdentifier")


@lint("e_rfc_aki_missing", MUST, "RFC 5280 §4.2.1.1 (MUST unless self-signed)")
def aki_missing(ctx: LintContext) -> Iterator[Hit]:
    """Every certificate not self-issued must carry authorityKeyIdentifier."""
    if ctx.cert.self_issued:
        return
    if ctx.cert.ext(oids.Extension.AUTHORITY_KEY_IDENTIFIER) is None:
        yield Hit("extensions", "certificate without authorityKeyIdentifier")


@lint("e_rfc_key_cert_sign_without_ca", MUST, "RFC 5280 §4.2.1.3, §4.2.1.9")
def key_cert_sign_without_ca(ctx: LintContext) -> Iterator[Hit]:
    """keyCertSign needs basicConstraints with cA TRUE."""
    ku = _key_usage(ctx)
    if ku is not None and x509ext.KeyUsageBit.KEY_CERT_SIGN in ku and not _is_ca(ctx):
        yield Hit("extensions.keyUsage", "keyCertSign is set but basicConstraints cA is not TRUE")


@lint("e_rfc_ca_key_usage_missing", MUST, "RFC 5280 §4.2.1.3 (MUST in CA certificates)")
def ca_key_usage_missing(ctx: LintContext) -> Iterator[Hit]:
    """A CA certificate must carry keyUsage."""
    if _is_ca(ctx) and ctx.cert.ext(oids.Extension.KEY_USAGE) is None:
        yield Hit("extensions", "CA certificate without keyUsage")


@lint("e_rfc_ca_key_cert_sign_missing", MUST, "RFC 5280 §4.2.1.9")
def ca_key_cert_sign_missing(ctx: LintContext) -> Iterator[Hit]:
    """With cA TRUE and keyUsage present, keyCertSign must be set."""
    ku = _key_usage(ctx)
    if _is_ca(ctx) and ku is not None and x509ext.KeyUsageBit.KEY_CERT_SIGN not in ku:
        yield Hit("extensions.keyUsage", "cA is TRUE but keyCertSign is not set")


@lint("e_rfc_ca_basic_constraints_not_critical", MUST, "RFC 5280 §4.2.1.9 (MUST be critical)")
def ca_basic_constraints_not_critical(ctx: LintContext) -> Iterator[Hit]:
    """basicConstraints with cA TRUE must be critical."""
    ext = ctx.cert.ext(oids.Extension.BASIC_CONSTRAINTS)
    if ext is not None and _is_ca(ctx) and not ext.critical:
        yield Hit(ext.path, "basicConstraints of a CA is not critical")


@lint("e_rfc_private_key_usage_period_critical", MUST, "RFC 3280 §4.2.1.4 (MUST NOT be critical)")
def private_key_usage_period_critical(ctx: LintContext) -> Iterator[Hit]:
    """privateKeyUsagePeriod must not be critical."""
    ext = ctx.cert.ext(oids.Extension.PRIVATE_KEY_USAGE_PERIOD)
    if ext is not None and ext.critical:
        yield Hit(ext.path, "privateKeyUsagePeriod is critical")


@lint("e_rfc_country_not_printable", MUST, "RFC 5280 App. A (PrintableString SIZE(2))")
def country_not_printable(ctx: LintContext) -> Iterator[Hit]:
    """countryName is a two-letter PrintableString."""
    for where in (ctx.cert.subject, ctx.cert.issuer):
        for a in where:
            if a.oid.dotted != oids.NameAttribute.COUNTRY_NAME.dotted:
                continue
            if a.tag != 19 or a.text is None or not re.fullmatch(r"[A-Z]{2}", a.text):
                yield Hit(a.path, f"countryName is a {a.tag_name} {a.text!r}")


@lint("e_rfc_email_not_ia5", MUST, "RFC 5280 App. A (emailAddress is IA5String)")
def email_not_ia5(ctx: LintContext) -> Iterator[Hit]:
    """emailAddress is an IA5String."""
    for a in ctx.cert.subject:
        if a.oid.dotted == oids.NameAttribute.EMAIL_ADDRESS.dotted and a.tag != 22:
            yield Hit(a.path, f"emailAddress is a {a.tag_name}")


@lint("e_rfc_directory_string_type", MUST, "RFC 5280 §4.1.2.4 and App. A (DirectoryString)")
def directory_string_type(ctx: LintContext) -> Iterator[Hit]:
    """X.520 name attributes use one of the DirectoryString types."""
    for where in (ctx.cert.subject, ctx.cert.issuer):
        for a in where:
            if a.oid.dotted in _DIRECTORY_ATTRS and a.tag not in _DIRECTORY_TAGS:
                yield Hit(a.path, f"{a.oid.name} is a {a.tag_name}, not a DirectoryString")


@lint("e_rfc_attribute_value_invalid", MUST, "RFC 5280 §4.1.2.4; X.680 (string repertoires)")
def attribute_value_invalid(ctx: LintContext) -> Iterator[Hit]:
    """Attribute values are non-empty and valid in their string type."""
    for where in (ctx.cert.subject, ctx.cert.issuer):
        for a in where:
            if a.text is None:
                yield Hit(a.path, f"{a.oid.name} is not a valid {a.tag_name}")
            elif not a.text.strip():
                yield Hit(a.path, f"{a.oid.name} is empty")
            elif a.tag == 18 and not re.fullmatch(r"[0-9 ]+", a.text):
                yield Hit(a.path, f"{a.oid.name} holds characters outside NumericString")
            elif a.tag == 19 and not re.fullmatch(r"[A-Za-z0-9 '()+,\-./:=?]+", a.text):
                yield Hit(a.path, f"{a.oid.name} holds characters outside PrintableString")


@lint(
    "w_rfc_attribute_upper_bound",
    PRACTICE,
    "RFC 5280 App. A (ub-common-name, ub-organization-name...); exceeded in circulation",
    issuance=Severity.ERROR,
)
def attribute_upper_bound(ctx: LintContext) -> Iterator[Hit]:
    """Attribute values longer than the upper bounds of RFC 5280."""
    for a in ctx.cert.subject:
        bound = UPPER_BOUNDS.get(a.oid.dotted)
        if bound is not None and a.text is not None and len(a.text) > bound:
            yield Hit(a.path, f"{a.oid.name} has {len(a.text)} characters, more than {bound}")


__all__ = ["UPPER_BOUNDS"]

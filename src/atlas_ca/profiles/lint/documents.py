"""Lints of CRLs (RFC 5280 §5 and Russian practice) and of certification requests (RFC 2986).

They read the objects :mod:`atlas_ca.x509` parses (what it refuses outright is unreadable,
exit 2, as for certificates) and report what a parsed object may still get wrong.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.errors import AtlasCaError
from atlas_ca.profiles.fields import Strength
from atlas_ca.profiles.lint.registry import DocumentContext, Hit, Target, document_lint
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.names import oid_of

CRL, REQ = Target.CRL, Target.REQUEST
MUST, LAW = Strength.MUST, Strength.LAW
X = oids.Extension

_GOST_2012_SIG = {
    oids.GostAlgorithm.SIGN_WITH_GOST3411_2012_256.dotted,
    oids.GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted,
}
_GOST2001_END = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
#: The largest CRL number RFC 5280 §5.2.3 allows (20 octets, as a positive INTEGER).
_MAX_CRL_NUMBER = (1 << 159) - 1


def _crl(ctx: DocumentContext) -> CertificateRevocationList:
    if not isinstance(ctx.document, CertificateRevocationList):
        raise TypeError("a CRL lint needs a CertificateRevocationList")
    return ctx.document


def _csr(ctx: DocumentContext) -> CertificationRequest:
    if not isinstance(ctx.document, CertificationRequest):
        raise TypeError("a request lint needs a CertificationRequest")
    return ctx.document


# --- CRLs -------------------------------------------------------------------------------------


@document_lint("e_crl_not_der", CRL, MUST, "X.690 §10 (DER); RFC 5280 §5.1.1.3")
def crl_not_der(ctx: DocumentContext) -> Iterator[Hit]:
    """The CRL is DER (the signature covers the DER of tbsCertList)."""
    if ctx.der_problem:
        yield Hit("certificateList", ctx.der_problem)


@document_lint("e_crl_version_not_v2", CRL, MUST, "RFC 5280 §5.1.2.1 (v2 when extensions are used)")
def crl_version_not_v2(ctx: DocumentContext) -> Iterator[Hit]:
    """A CRL of this profile is version 2 (it must carry extensions)."""
    if _crl(ctx).version != 2:
        yield Hit("tbsCertList.version", f"version is v{_crl(ctx).version}, expected v2")


@document_lint("e_crl_issuer_empty", CRL, MUST, "RFC 5280 §5.1.2.3")
def crl_issuer_empty(ctx: DocumentContext) -> Iterator[Hit]:
    """The issuer is a non-empty distinguished name."""
    if _crl(ctx).issuer_der in (b"\x30\x00", b""):
        yield Hit("tbsCertList.issuer", "issuer name is empty")


@document_lint("e_crl_next_update_missing", CRL, MUST, "RFC 5280 §5.1.2.5 (MUST include)")
def crl_next_update_missing(ctx: DocumentContext) -> Iterator[Hit]:
    """Conforming CRL issuers include nextUpdate."""
    if _crl(ctx).next_update is None:
        yield Hit("tbsCertList.nextUpdate", "nextUpdate is absent")


@document_lint("e_crl_next_update_before_this_update", CRL, MUST, "RFC 5280 §5.1.2.5")
def crl_next_update_before_this_update(ctx: DocumentContext) -> Iterator[Hit]:
    """nextUpdate is later than thisUpdate."""
    crl = _crl(ctx)
    if crl.next_update is not None and crl.next_update <= crl.this_update:
        yield Hit("tbsCertList.nextUpdate", "nextUpdate is not after thisUpdate")


@document_lint("e_crl_aki_missing", CRL, MUST, "RFC 5280 §5.2.1 (MUST include)")
def crl_aki_missing(ctx: DocumentContext) -> Iterator[Hit]:
    """The CRL names its signing key in authorityKeyIdentifier."""
    if not any(e.oid == X.AUTHORITY_KEY_IDENTIFIER.dotted for e in _crl(ctx).extensions):
        yield Hit("crlExtensions", "authorityKeyIdentifier is absent")


@document_lint("e_crl_number_missing", CRL, MUST, "RFC 5280 §5.2.3 (MUST include)")
def crl_number_missing(ctx: DocumentContext) -> Iterator[Hit]:
    """The CRL carries a cRLNumber."""
    if not any(e.oid == X.CRL_NUMBER.dotted for e in _crl(ctx).extensions):
        yield Hit("crlExtensions", "cRLNumber is absent")


@document_lint("e_crl_number_too_long", CRL, MUST, "RFC 5280 §5.2.3 (at most 20 octets)")
def crl_number_too_long(ctx: DocumentContext) -> Iterator[Hit]:
    """The cRLNumber fits in 20 octets."""
    number = _crl(ctx).crl_number
    if number is not None and number > _MAX_CRL_NUMBER:
        yield Hit("crlExtensions.cRLNumber", "cRLNumber is longer than 20 octets")


@document_lint("e_crl_extension_criticality", CRL, MUST, "RFC 5280 §§ 5.2.1, 5.2.3, 5.2.4")
def crl_extension_criticality(ctx: DocumentContext) -> Iterator[Hit]:
    """cRLNumber and authorityKeyIdentifier non-critical; deltaCRLIndicator critical."""
    for i, e in enumerate(_crl(ctx).extensions):
        if e.oid in (X.CRL_NUMBER.dotted, X.AUTHORITY_KEY_IDENTIFIER.dotted) and e.critical:
            name = "cRLNumber" if e.oid == X.CRL_NUMBER.dotted else "authorityKeyIdentifier"
            yield Hit(f"crlExtensions[{i}].{name}", f"{name} must be non-critical")
        if e.oid == X.DELTA_CRL_INDICATOR.dotted and not e.critical:
            yield Hit(f"crlExtensions[{i}].deltaCRLIndicator", "deltaCRLIndicator must be critical")


@document_lint("e_crl_extension_duplicate", CRL, MUST, "RFC 5280 §5.2 (as §4.2)")
def crl_extension_duplicate(ctx: DocumentContext) -> Iterator[Hit]:
    """No CRL extension appears twice."""
    counts = Counter(e.oid for e in _crl(ctx).extensions)
    for oid, n in sorted(counts.items()):
        if n > 1:
            yield Hit("crlExtensions", f"{oids_name(oid)} appears {n} times")


@document_lint("e_crl_delta_base_not_older", CRL, MUST, "RFC 5280 §5.2.4 (BaseCRLNumber)")
def crl_delta_base_not_older(ctx: DocumentContext) -> Iterator[Hit]:
    """A delta CRL's base CRL number is lower than its own cRLNumber."""
    crl = _crl(ctx)
    base, number = crl.delta_crl_indicator, crl.crl_number
    if base is not None and number is not None and base >= number:
        yield Hit("crlExtensions.deltaCRLIndicator", f"base CRL {base} is not before CRL {number}")


@document_lint(
    "e_ru_crl_signature_not_gost2012",
    CRL,
    LAW,
    "63-ФЗ art. 12 (certified tools); RFC 9215 §3.2; FSB notice 149/7/1/3-58 of 31.01.2014",
)
def crl_signature_not_gost2012(ctx: DocumentContext) -> Iterator[Hit]:
    """An accredited CA signs its CRL with GOST R 34.10-2012 (2001 only before 2019)."""
    crl = _crl(ctx)
    oid = crl.signature_oid
    legacy = oid == oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted
    if oid not in _GOST_2012_SIG and not (legacy and crl.this_update < _GOST2001_END):
        yield Hit("signatureAlgorithm", f"{oids_name(oid)} is not a GOST R 34.10-2012 signature")


# --- certification requests -------------------------------------------------------------------


@document_lint("e_csr_not_der", REQ, MUST, "RFC 2986 §4 (DER); X.690 §10")
def csr_not_der(ctx: DocumentContext) -> Iterator[Hit]:
    """The request is DER (its signature covers the DER of certificationRequestInfo)."""
    if ctx.der_problem:
        yield Hit("certificationRequest", ctx.der_problem)


@document_lint("e_csr_signature_invalid", REQ, MUST, "RFC 2986 §3 (proof of possession)")
def csr_signature_invalid(ctx: DocumentContext) -> Iterator[Hit]:
    """The request is signed by the private key of the public key it carries."""
    if not _csr(ctx).public_key.verifiable:
        return  # n_csr_signature_not_checked
    try:
        _csr(ctx).verify()
    except AtlasCaError as exc:
        yield Hit("signature", str(exc))


@document_lint("n_csr_signature_not_checked", REQ, Strength.INFO, "RFC 2986 §3")
def csr_signature_not_checked(ctx: DocumentContext) -> Iterator[Hit]:
    """The proof of possession of a GOST R 34.10-2001 or test-curve key is not checked here."""
    key = _csr(ctx).public_key
    if not key.verifiable:
        yield Hit("signature", f"signature of a {key.describe()} key not checked")


@document_lint(
    "e_ru_csr_key_test_curve",
    REQ,
    LAW,
    "R 1323565.1.024-2019 (the parameter sets in use); RFC 9215 Appendix A (examples)",
)
def csr_key_test_curve(ctx: DocumentContext) -> Iterator[Hit]:
    """The key is not on a test parameter set of the standard's worked examples."""
    if _csr(ctx).public_key.on_test_curve:
        yield Hit(
            "certificationRequestInfo.subjectPKInfo",
            "key on a GOST test parameter set (the standard's examples), never a real key",
        )


@document_lint(
    "e_ru_csr_key_not_gost2012",
    REQ,
    LAW,
    "63-ФЗ art. 12 (certified tools); RFC 9215; FSB notice 149/7/1/3-58 of 31.01.2014",
)
def csr_key_not_gost2012(ctx: DocumentContext) -> Iterator[Hit]:
    """A qualified certificate is issued only for a GOST R 34.10-2012 key."""
    key = _csr(ctx).public_key
    if key.key_type is KeyType.GOST3410_2001:
        yield Hit(
            "certificationRequestInfo.subjectPKInfo",
            "GOST R 34.10-2001 key: not for qualified use since 2019-01-01",
        )
    elif not key.key_type.is_gost:
        yield Hit(
            "certificationRequestInfo.subjectPKInfo",
            f"{key.describe()} is not a GOST R 34.10-2012 key",
        )


def oids_name(dotted: str) -> str:
    return oid_of(dotted).name


__all__ = ["oids_name"]

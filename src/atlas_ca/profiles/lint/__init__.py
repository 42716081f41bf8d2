"""The certificate linter: Russian qualified-certificate rules and the RFC 5280 basics.

Entry points:

* :func:`lint_der` — lint any certificate (or bare TBSCertificate) against a profile, or the
  detected one (``profile=None`` or ``"auto"``), under a :class:`Policy` (``CONFORMANCE`` by
  default: "is this certificate conformant"); returns a :class:`LintReport`.
* :func:`require_clean` — the pre-issuance gate the issuance service calls on the TBS before
  signing, under ``Policy.ISSUANCE`` ("would our CA issue this"): raises
  :class:`~atlas_ca.errors.LintFailed` (with ``findings``) on any error.
* :func:`registry` — every lint by code, with its source's strength, severities, description.
"""

from __future__ import annotations

from atlas_ca.errors import DecodeError, LintFailed
from atlas_ca.profiles import BY_KIND, PROFILES, get_profile
from atlas_ca.profiles.base import Profile, ProfileKind
from atlas_ca.profiles.lint import documents, rfc5280, russian, service
from atlas_ca.profiles.lint.registry import (
    DocumentContext,
    Finding,
    Lint,
    LintContext,
    LintReport,
    Policy,
    Severity,
    Target,
    certificate_lints,
    registry,
)
from atlas_ca.profiles.lint.view import CertView, view_of
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.der import canonical_booleans, check_der

_LOADED = (documents, rfc5280, russian, service)


def _resolve(cert: CertView, profile: Profile | str | None) -> tuple[Profile | None, ProfileKind]:
    if isinstance(profile, Profile):
        return profile, profile.kind
    if profile is None or profile == "auto":
        # Imported here: detect reads lint.view, and importing it at the top would make
        # ``import atlas_ca.profiles.detect`` (before the linter) circular.
        from atlas_ca.profiles.detect import detect_kind

        kind = detect_kind(cert)
        return BY_KIND.get(kind), kind
    chosen = get_profile(profile)
    return chosen, chosen.kind


def lint_view(
    cert: CertView,
    profile: Profile | str | None = None,
    policy: Policy = Policy.CONFORMANCE,
) -> LintReport:
    """Run every applicable lint over an already parsed certificate."""
    chosen, kind = _resolve(cert, profile)
    ctx = LintContext(cert, chosen, kind, policy)
    findings: list[Finding] = []
    for item in certificate_lints(kind):  # the certificate lints of this kind, in order
        if item.effective is None or cert.not_before >= item.effective:  # as Lint.applies
            findings.extend(item.run(ctx))
    return LintReport(chosen.name if chosen else kind.value, tuple(findings), policy)


def _der_problem(der: bytes, what: str) -> tuple[bytes, str | None]:
    """The bytes to parse and why they are not DER (a non-DER BOOLEAN is read as DER would
    have written it; anything else non-DER is unreadable)."""
    try:
        check_der(der, what)
    except DecodeError as exc:
        fixed = canonical_booleans(der)
        if fixed is None:
            raise
        return fixed, str(exc)
    return der, None


def _lint_document(
    document: CertificateRevocationList | CertificationRequest,
    der: bytes,
    problem: str | None,
    target: Target,
    policy: Policy,
) -> LintReport:
    ctx = DocumentContext(document, der, problem, policy)
    findings: list[Finding] = []
    for item in registry().values():
        if item.target is target:
            findings.extend(item.run(ctx))
    return LintReport(target.value, tuple(findings), policy)


def lint_crl_der(der: bytes, policy: Policy = Policy.CONFORMANCE) -> LintReport:
    """Lint a DER CRL (RFC 5280 §5, Russian practice); ``DecodeError`` if unreadable."""
    body, problem = _der_problem(bytes(der), "CRL")
    crl = CertificateRevocationList.from_der(body)
    return _lint_document(crl, bytes(der), problem, Target.CRL, policy)


def lint_csr_der(der: bytes, policy: Policy = Policy.CONFORMANCE) -> LintReport:
    """Lint a DER certification request (RFC 2986, GOST keys); ``DecodeError`` if unreadable."""
    body, problem = _der_problem(bytes(der), "certification request")
    csr = CertificationRequest.from_der(body)
    return _lint_document(csr, bytes(der), problem, Target.REQUEST, policy)


def lint_der(
    der: bytes,
    profile: Profile | str | None = None,
    policy: Policy = Policy.CONFORMANCE,
) -> LintReport:
    """Lint a DER certificate or TBSCertificate; ``DecodeError`` if it cannot be read at all."""
    return lint_view(view_of(der), profile, policy)


def require_clean(tbs_der: bytes, profile: Profile | str) -> LintReport:
    """Pre-issuance lint: raise :class:`LintFailed` if the TBS has any error finding.

    Returns the report (warnings and notices included) when there is none, so the issuance
    service can record them with the certificate.
    """
    report = lint_der(tbs_der, profile, Policy.ISSUANCE)
    if not report.ok:
        raise LintFailed(
            f"pre-issuance lint found {len(report.errors)} error(s): "
            + "; ".join(f"{f.code} at {f.path}" for f in report.errors),
            profile=report.profile,
            findings=report.errors,
        )
    return report


__all__ = [
    "PROFILES",
    "CertView",
    "Finding",
    "Lint",
    "LintContext",
    "LintReport",
    "Policy",
    "Severity",
    "Target",
    "lint_crl_der",
    "lint_csr_der",
    "lint_der",
    "lint_view",
    "registry",
    "require_clean",
    "view_of",
]

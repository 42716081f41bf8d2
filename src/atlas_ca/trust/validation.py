"""RFC 5280 §6 certification path validation with revocation, behind a small typed API.

The algorithm itself — path building, name chaining, the policy tree (§6.1.3 d–f, §6.1.5),
name constraints (§4.2.1.10), policy mappings and constraints, inhibitAnyPolicy, critical
extensions, pathLenConstraint (self-issued certificates excluded, §6.1.4 l), CRLs with
distribution points, indirect CRLs and delta CRLs (§6.3), OCSP (RFC 6960) — is
pyhanko-certvalidator's, which passes the NIST PKITS suite (our own test runs it again on our
API: ``tests/trust/test_pkits.py``). We plug in GOST R 34.10-2012 signature verification and the
algorithm policy (:mod:`atlas_ca.trust.gost_plugin`) and translate its results into our types and
errors: the caller gets a :class:`ValidatedPath` or a
:class:`~atlas_ca.errors.PathValidationFailed` naming the certificate and the :class:`Check`.

What we write by hand is only this translation; see docs/architecture.md ("Trust") for why the
validator is not ours.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import errors as pv_errors
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    PKIXValidationParams,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.validate import async_validate_path

from atlas_ca.asn1.gost import register_gost
from atlas_ca.asn1.oids import GostAlgorithm, Policy, RuAttribute
from atlas_ca.domain.masking import mask_inn_person, mask_snils
from atlas_ca.errors import (
    AlgorithmNotAccepted,
    AtlasCaError,
    CertificateRevoked,
    DecodeError,
    NoTrustedPath,
    PathValidationFailed,
    RevocationUnknown,
)
from atlas_ca.trust import crl_index
from atlas_ca.trust.gost_plugin import (
    GOST_2001_VERDICT,
    AlgorithmPolicy,
    GostSignatureValidator,
    TrustAlgorithmPolicy,
    is_gost_2001,
    register_streebog_hashes,
)
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.names import Name, NameAttribute
from atlas_ca.x509.pem import pem_blocks

CertificateInput = bytes | Certificate
DEFAULT_ALGORITHMS = AlgorithmPolicy()


class Check(enum.StrEnum):
    """The check of RFC 5280 §6 (and §6.3 revocation) that a path failed."""

    TRUST_ANCHOR = "trust-anchor"  # no path to a trust anchor could be built
    NAME_CHAINING = "name-chaining"  # §6.1.3 (a)(4)
    SIGNATURE = "signature"  # §6.1.3 (a)(1)
    ALGORITHM = "algorithm"  # algorithm policy (GOST R 34.10-2001, weak digests, short keys)
    VALIDITY = "validity"  # §6.1.3 (a)(2)
    BASIC_CONSTRAINTS = "basic-constraints"  # §6.1.4 (k)
    PATH_LENGTH = "path-length"  # §6.1.4 (l)(m)
    KEY_USAGE = "key-usage"  # §6.1.4 (n)
    NAME_CONSTRAINTS = "name-constraints"  # §6.1.3 (b)(c)
    POLICY = "policy"  # §6.1.3 (d)-(f), §6.1.4 (a)-(j), §6.1.5
    CRITICAL_EXTENSION = "critical-extension"  # §6.1.4 (o), §6.1.5 (f)
    REVOCATION = "revocation"  # §6.1.3 (a)(3): revoked or on hold
    REVOCATION_INFO = "revocation-info"  # no usable CRL/OCSP for a certificate
    OTHER = "rfc5280"


class RevocationMode(enum.StrEnum):
    """How strictly revocation is checked for every certificate below the trust anchor."""

    #: Each certificate must be shown not revoked by a CRL or an OCSP response (qualified use).
    REQUIRE = "require"
    #: Check what is supplied or declared (CRL DP, AIA); a source that exists must work.
    IF_DECLARED = "if-declared"
    #: Check what is supplied; failures to obtain revocation data are ignored.
    SOFT = "soft"
    #: No revocation checking (RFC 5280 §6 without §6.3): for diagnostics only.
    OFF = "off"


_REVOCATION_RULES: dict[RevocationMode, RevocationCheckingRule] = {
    RevocationMode.REQUIRE: RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    RevocationMode.IF_DECLARED: RevocationCheckingRule.CHECK_IF_DECLARED,
    RevocationMode.SOFT: RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    RevocationMode.OFF: RevocationCheckingRule.NO_CHECK,
}


@dataclass(frozen=True, slots=True)
class PathCertificate:
    """One certificate of a validated path, as shown to an operator."""

    der: bytes
    subject: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    signature_algorithm: str
    is_ca: bool
    self_issued: bool

    @property
    def label(self) -> str:
        return f"{self.subject} (serial {self.serial:x})"


@dataclass(frozen=True, slots=True)
class ValidatedPath:
    """A valid path: the trust anchor first, the validated certificate last."""

    certificates: tuple[PathCertificate, ...]
    at: datetime
    revocation: RevocationMode
    #: Valid policies of the path (the user-constrained policy set, RFC 5280 §6.1.6); empty
    #: when the path asserts none (valid only without explicit-policy).
    policies: frozenset[str]
    checks: tuple[Check, ...] = field(default=())
    #: Verdicts that do not make the path invalid but matter for qualified use, e.g. a trust
    #: anchor with a GOST R 34.10-2001 key ("not accepted for qualified use").
    notes: tuple[str, ...] = field(default=())

    @property
    def qualified_use_ok(self) -> bool:
        return not self.notes

    @property
    def anchor(self) -> PathCertificate:
        return self.certificates[0]

    @property
    def target(self) -> PathCertificate:
        return self.certificates[-1]


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """The policy inputs of RFC 5280 §6.1.1 (c), (e), (f), (g)."""

    #: user-initial-policy-set: dotted OIDs, or None for {anyPolicy}.
    initial_policies: frozenset[str] | None = None
    explicit_policy: bool = False
    inhibit_policy_mapping: bool = False
    inhibit_any_policy: bool = False

    def pkix(self) -> PKIXValidationParams:
        policies = (
            frozenset({"any_policy"})
            if self.initial_policies is None
            else frozenset(
                "any_policy" if p == Policy.ANY_POLICY.dotted else p for p in self.initial_policies
            )
        )
        return PKIXValidationParams(
            user_initial_policy_set=policies,
            initial_explicit_policy=self.explicit_policy,
            initial_policy_mapping_inhibit=self.inhibit_policy_mapping,
            initial_any_policy_inhibit=self.inhibit_any_policy,
        )


ANY_POLICY = PolicyInputs()


# --- inputs -------------------------------------------------------------------------------


def _der_of(item: CertificateInput, what: str) -> bytes:
    if isinstance(item, Certificate):
        return item.der
    if not isinstance(item, bytes | bytearray):
        raise TypeError(f"{what} must be DER/PEM bytes or a Certificate, not {type(item).__name__}")
    data = bytes(item)
    if data.lstrip().startswith(b"-----BEGIN"):
        blocks = pem_blocks(data)
        if len(blocks) != 1:
            raise DecodeError(f"{what}: expected one PEM block, found {len(blocks)}")
        return blocks[0][1]
    return data


def load_certificate(item: CertificateInput, what: str = "certificate") -> asn1_x509.Certificate:
    """asn1crypto's certificate for DER, PEM or our :class:`Certificate`; DecodeError if not one.

    GOST R 34.10-2001 and other algorithms our x509 layer does not issue are read here too.
    """
    register_gost()
    der = _der_of(item, what)
    try:
        cert = asn1_x509.Certificate.load(der)
        cert["tbs_certificate"]["subject"].native  # noqa: B018 - force the parse now
        cert.public_key  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"{what} is not a readable X.509 certificate: {exc}") from None
    return cert


def load_crl(data: bytes, what: str = "CRL") -> asn1_crl.CertificateList:
    register_gost()
    if data.lstrip().startswith(b"-----BEGIN"):
        blocks = pem_blocks(data)
        if len(blocks) != 1:
            raise DecodeError(f"{what}: expected one PEM block, found {len(blocks)}")
        data = blocks[0][1]
    try:
        crl = asn1_crl.CertificateList.load(bytes(data))
        crl["tbs_cert_list"]["issuer"].native  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"{what} is not a readable CRL: {exc}") from None
    return crl


def load_ocsp_response(data: bytes, what: str = "OCSP response") -> asn1_ocsp.OCSPResponse:
    register_gost()
    try:
        resp = asn1_ocsp.OCSPResponse.load(bytes(data))
        resp["response_status"].native  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"{what} is not a readable OCSP response: {exc}") from None
    return resp


def _masked(attribute: NameAttribute) -> str:
    """A person's СНИЛС and ИНН are masked (R21); an organisation's ИНН ("00" + 10 digits in
    the INN attribute) and every other attribute print as they are."""
    value = attribute.value
    if attribute.oid.dotted == RuAttribute.SNILS.dotted:
        return mask_snils(value)
    if attribute.oid.dotted == RuAttribute.INN.dotted and not value.startswith("00"):
        return mask_inn_person(value)
    return value


def display_name(name: asn1_x509.Name) -> str:
    """RFC 4514 text of a Name with personal identifiers masked (R21); names our x509 layer
    cannot read (some PKITS encodings) fall back to asn1crypto's text, which holds none."""
    try:
        return Name.from_der(name.dump()).rfc4514(_masked)
    except (AtlasCaError, ValueError):
        return str(name.human_friendly)


def describe(cert: asn1_x509.Certificate) -> PathCertificate:
    """The operator-facing view of a certificate (any algorithm, GOST 2001 included)."""
    tbs = cert["tbs_certificate"]
    validity = tbs["validity"]
    return PathCertificate(
        der=cert.dump(),
        subject=display_name(cert.subject),
        issuer=display_name(cert.issuer),
        serial=int(cert.serial_number),
        not_before=validity["not_before"].native.astimezone(UTC),
        not_after=validity["not_after"].native.astimezone(UTC),
        signature_algorithm=_algorithm_name(cert),
        is_ca=bool(cert.ca),
        self_issued=bool(cert.self_issued),
    )


def _algorithm_name(cert: asn1_x509.Certificate) -> str:
    oid = cert["signature_algorithm"]["algorithm"]
    name = str(oid.native)
    return name if name != oid.dotted else oid.dotted


def algorithm_verdict(cert: asn1_x509.Certificate) -> str | None:
    """``None`` if the certificate's signature and key algorithms may serve qualified use,
    else why not (GOST R 34.10-2001 signatures or keys are read and shown, never accepted)."""
    key_oid = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"]
    if (
        is_gost_2001(cert["signature_algorithm"]["algorithm"].dotted)
        or key_oid.dotted == GostAlgorithm.GOST3410_2001.dotted
    ):
        return GOST_2001_VERDICT
    return None


# --- errors -------------------------------------------------------------------------------

_POSITION = re.compile(r"(intermediate certificate (\d+)|end-entity certificate|trust anchor)")

_CHECK_BY_TEXT: tuple[tuple[str, Check], ...] = (
    ("disallowed signature", Check.ALGORITHM),
    ("signature", Check.SIGNATURE),
    ("issuer name could not be matched", Check.NAME_CHAINING),
    ("not valid until", Check.VALIDITY),
    ("expired", Check.VALIDITY),
    ("unsupported critical extension", Check.CRITICAL_EXTENSION),
    ("permitted namespace", Check.NAME_CONSTRAINTS),
    ("excluded from the", Check.NAME_CONSTRAINTS),
    ("polic", Check.POLICY),
    ("is not a CA", Check.BASIC_CONSTRAINTS),
    ("maximum path length", Check.PATH_LENGTH),
    ("not allowed to sign certificates", Check.KEY_USAGE),
    ("revocation", Check.REVOCATION_INFO),
    ("CRL", Check.REVOCATION_INFO),
    ("OCSP", Check.REVOCATION_INFO),
)


def _check_of(exc: Exception) -> Check:
    if isinstance(exc, pv_errors.RevokedError):
        return Check.REVOCATION
    if isinstance(exc, pv_errors.InsufficientRevinfoError):
        return Check.REVOCATION_INFO
    if isinstance(exc, pv_errors.ExpiredError | pv_errors.NotYetValidError):
        return Check.VALIDITY
    if isinstance(exc, pv_errors.DisallowedAlgorithmError):
        return Check.ALGORITHM
    text = str(exc)
    for needle, check in _CHECK_BY_TEXT:
        if needle in text:
            return check
    return Check.OTHER


def _failed_certificate(exc: pv_errors.PathValidationError) -> PathCertificate | None:
    path = exc.current_path
    found = _POSITION.search(str(exc))
    try:
        if found is None or found.group(1) == "end-entity certificate":
            cert = path.last
        elif found.group(1) == "trust anchor":
            cert = path[0]
        else:
            cert = path[int(found.group(2))]
    except (LookupError, ValueError, IndexError):
        return None
    return describe(cert)


_PERSONAL = re.compile(r"\b(snils|inn): *(\d{10,12})\b", re.IGNORECASE)


def mask_personal(text: str) -> str:
    """pyhanko-certvalidator names certificates by asn1crypto's ``human_friendly`` text, which
    prints a person's СНИЛС and ИНН in full: mask them as everywhere else (R21). An
    organisation's ИНН (``00`` + 10 digits in the INN attribute) stays."""

    def repl(m: re.Match[str]) -> str:
        kind, digits = m.group(1), m.group(2)
        if kind.lower() == "snils":
            return f"{kind}: {mask_snils(digits)}"
        return m.group(0) if digits.startswith("00") else f"{kind}: {mask_inn_person(digits)}"

    return _PERSONAL.sub(repl, text)


class _QuietLibraryLog(logging.Filter):
    """pyhanko-certvalidator logs warnings with unmasked subject names; its findings reach the
    caller as our (masked) errors, so only its errors pass, with personal numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return False
        record.msg = mask_personal(record.getMessage())
        record.args = ()
        record.exc_info = None
        return True


_log_filter = _QuietLibraryLog()


def _quiet_library_log() -> None:
    for name in ["pyhanko_certvalidator", *logging.root.manager.loggerDict]:
        if name == "pyhanko_certvalidator" or name.startswith("pyhanko_certvalidator."):
            logger = logging.getLogger(name)
            if _log_filter not in logger.filters:
                logger.addFilter(_log_filter)


def _translate(exc: Exception, target: asn1_x509.Certificate) -> PathValidationFailed:
    check = _check_of(exc)
    failed = _failed_certificate(exc) if isinstance(exc, pv_errors.PathValidationError) else None
    if failed is None:
        failed = describe(target)
    detail = mask_personal(str(exc))
    text = detail.removeprefix("The path could not be validated because ").rstrip(".")
    message = f"{failed.label}: {check.value} check failed: {text}"
    context = {"certificate": failed.label, "check": check.value, "detail": detail}
    if isinstance(exc, pv_errors.RevokedError):
        return CertificateRevoked(message, **context)
    if check is Check.REVOCATION_INFO:
        return RevocationUnknown(message, **context)
    if check is Check.ALGORITHM:
        return AlgorithmNotAccepted(message, **context)
    if isinstance(exc, pv_errors.PathBuildingError | pv_errors.InvalidCertificateError):
        return NoTrustedPath(
            f"{failed.label}: {Check.TRUST_ANCHOR.value} check failed: no path to a trusted "
            f"certificate ({text})",
            certificate=failed.label,
            check=Check.TRUST_ANCHOR.value,
            detail=detail,
        )
    return PathValidationFailed(message, **context)


# --- the validator ------------------------------------------------------------------------

#: The checks every successful validation has passed (shown by ``atlas-ca verify``).
ALWAYS_CHECKED: tuple[Check, ...] = (
    Check.NAME_CHAINING,
    Check.SIGNATURE,
    Check.ALGORITHM,
    Check.VALIDITY,
    Check.BASIC_CONSTRAINTS,
    Check.PATH_LENGTH,
    Check.KEY_USAGE,
    Check.NAME_CONSTRAINTS,
    Check.POLICY,
    Check.CRITICAL_EXTENSION,
)


class PathValidator:
    """Validates certificates up to a fixed set of trust anchors.

    Trust anchors may be self-signed or not, v1 or v3 (RFC 5280 §6.1.1 d: the anchor is its
    name and key). Intermediates, CRLs (full and delta) and OCSP responses are parsed once here
    and reused by every :meth:`validate` call; with ``fetch=True`` missing CRLs and OCSP
    responses are fetched from the certificates' distribution points and AIA (network).
    """

    def __init__(
        self,
        anchors: Iterable[CertificateInput],
        *,
        intermediates: Iterable[CertificateInput] = (),
        crls: Iterable[bytes] = (),
        ocsp_responses: Iterable[bytes] = (),
        fetch: bool = False,
        revocation: RevocationMode = RevocationMode.REQUIRE,
        algorithms: AlgorithmPolicy = DEFAULT_ALGORITHMS,
    ) -> None:
        register_gost()
        register_streebog_hashes()
        crl_index.install()
        _quiet_library_log()
        self._anchors = [load_certificate(a, "trust anchor") for a in anchors]
        if not self._anchors:
            raise ValueError("path validation needs at least one trust anchor")
        self._intermediates = [load_certificate(c, "intermediate") for c in intermediates]
        self._crls = [load_crl(c) for c in crls]
        self._ocsps = [load_ocsp_response(o) for o in ocsp_responses]
        self._fetch = fetch
        self.revocation = revocation
        self._algorithms = TrustAlgorithmPolicy(algorithms)
        self._signatures = GostSignatureValidator()

    @property
    def anchors(self) -> tuple[PathCertificate, ...]:
        return tuple(describe(a) for a in self._anchors)

    def _context(self, at: datetime, extra: Sequence[asn1_x509.Certificate]) -> ValidationContext:
        rule = _REVOCATION_RULES[self.revocation]
        return ValidationContext(
            trust_roots=self._anchors,
            other_certs=[*self._intermediates, *extra],
            crls=self._crls,
            ocsps=self._ocsps,
            moment=at,
            allow_fetching=self._fetch,
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
            algorithm_usage_policy=self._algorithms,
            signature_validator=self._signatures,
            time_tolerance=timedelta(seconds=1),
        )

    def validate(
        self,
        certificate: CertificateInput,
        *,
        at: datetime,
        policy: PolicyInputs = ANY_POLICY,
        chain: Iterable[CertificateInput] = (),
        path: Sequence[CertificateInput] | None = None,
    ) -> ValidatedPath:
        """Validate ``certificate`` at ``at``; raise PathValidationFailed (or a subclass).

        ``chain`` adds candidate intermediates for this call. ``path`` skips path building and
        validates exactly the intermediates given (from the anchor down), as PKITS §4.3 asks.
        """
        if at.tzinfo is None:
            raise ValueError("the validation time must be timezone-aware")
        at = at.astimezone(UTC)
        target = load_certificate(certificate, "certificate to validate")
        extra = [load_certificate(c, "chain certificate") for c in chain]
        context = self._context(at, extra)
        params = policy.pkix()
        try:
            given: ValidationPath | None = None
            if path is not None:
                interm = [load_certificate(c, "path certificate") for c in path]
                anchor = self._anchor_for(interm[0] if interm else target)
                given = ValidationPath(CertTrustAnchor(anchor), interm, target)
            result = asyncio.run(self._run(context, target, params, given))
        except (
            pv_errors.PathError,
            pv_errors.ValidationError,
        ) as exc:
            # ``from None``: the library's exception text holds unmasked names (R21); its
            # masked text is in ``context["detail"]``.
            raise _translate(exc, target) from None
        except AtlasCaError:
            raise
        except Exception as exc:  # anything else the library lets escape: fail closed
            label = describe(target).label
            raise PathValidationFailed(
                f"{label}: {Check.OTHER.value} check failed: validation could not complete "
                f"({type(exc).__name__})",
                certificate=label,
                check=Check.OTHER.value,
                detail=mask_personal(str(exc)),
            ) from None
        policies = result.qualified_policies()
        certs = list(result.iter_certs(include_root=True))
        notes = tuple(
            f"{describe(c).label}: {verdict}"
            for c in certs
            if (verdict := algorithm_verdict(c)) is not None
        )
        return ValidatedPath(
            certificates=tuple(describe(c) for c in certs),
            notes=notes,
            at=at,
            revocation=self.revocation,
            policies=frozenset(str(p.user_domain_policy_id) for p in (policies or ())),
            checks=(
                ALWAYS_CHECKED
                if self.revocation is RevocationMode.OFF
                else (*ALWAYS_CHECKED, Check.REVOCATION)
            ),
        )

    def _anchor_for(self, cert: asn1_x509.Certificate) -> asn1_x509.Certificate:
        for anchor in self._anchors:
            if anchor.subject == cert.issuer:
                return anchor
        return self._anchors[0]

    @staticmethod
    async def _run(
        context: ValidationContext,
        target: asn1_x509.Certificate,
        params: PKIXValidationParams,
        given: ValidationPath | None,
    ) -> ValidationPath:
        """Build (unless ``given``) and validate, then release the network session the
        context opened for fetching, in the loop that opened it."""
        from pyhanko_certvalidator import find_valid_path

        try:
            if given is not None:
                await async_validate_path(context, given, params)
                return given
            paths = context.path_builder.async_build_paths_lazy(target)
            path: ValidationPath = await find_valid_path(target, paths, context, params)
            return path
        finally:
            await context.aclose()  # type: ignore[no-untyped-call]


__all__ = [
    "ALWAYS_CHECKED",
    "Check",
    "PathCertificate",
    "PathValidator",
    "PolicyInputs",
    "RevocationMode",
    "ValidatedPath",
    "algorithm_verdict",
    "describe",
    "load_certificate",
    "load_crl",
    "load_ocsp_response",
]

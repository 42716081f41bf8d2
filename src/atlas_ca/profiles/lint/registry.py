"""The lint registry (zlint/Boulder style): one-purpose functions with a stable code.

A lint is registered with :func:`lint`, which fixes its ``code`` (``e_``/``w_``/``n_`` prefix
matching its conformance severity, never renamed once published), the :class:`Strength` of the
``source`` it enforces (law or RFC MUST → error, RFC SHOULD or practice → warning, unconfirmed →
notice), the ``source`` itself (Order 795, RFC section), the severity our own issuance policy
gives it (stricter where we refuse to issue what others may), the profile kinds it applies to
and, optionally, the date from which the rule is in force (compared with the certificate's
notBefore). The function yields :class:`Hit` values (where, and what); the registry turns them
into :class:`Finding` values with the severity of the :class:`Policy` asked for.

Two questions, two policies: ``CONFORMANCE`` ("is this certificate conformant", for
certificates of other CAs) and ``ISSUANCE`` ("would our CA issue this", the pre-issuance gate).
Where one check covers rules of different strengths (a profile's criticalities: keyUsage SHOULD
be critical, AKI MUST NOT be), :func:`lint_family` registers one code per severity.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from atlas_ca.errors import AtlasCaError
from atlas_ca.profiles.base import Profile, ProfileKind
from atlas_ca.profiles.fields import Strength
from atlas_ca.profiles.lint.view import Attr, CertView, Ext


class Severity(enum.Enum):
    """How bad a finding is; only ``ERROR`` stops issuance."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def prefix(self) -> str:
        return self.value[0] + "_"

    @staticmethod
    def of(strength: Strength) -> Severity:
        """The conformance severity of a rule of ``strength``."""
        if strength.binding:
            return Severity.ERROR
        if strength in (Strength.SHOULD, Strength.PRACTICE):
            return Severity.WARNING
        return Severity.NOTICE


class Policy(enum.Enum):
    """Which question a lint run answers."""

    CONFORMANCE = "conformance"
    """Is this certificate conformant: the strength of each rule's source decides."""
    ISSUANCE = "issuance"
    """Would our CA issue this: our issuance policy, stricter (pre-issuance gate)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """What a lint function reports: the path in the certificate and a message."""

    path: str
    message: str


def repeated_oids(items: Sequence[Attr | Ext]) -> Iterator[Hit]:
    """A hit at the first occurrence of each OID that ``items`` hold more than once."""
    counts = Counter(i.oid.dotted for i in items)
    for i in items:
        if counts[i.oid.dotted] > 1:
            counts[i.oid.dotted] = 0
            yield Hit(i.path, f"{i.oid.name} appears more than once")


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: stable code, severity, the rule's source, the path and a message."""

    code: str
    severity: Severity
    source: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "source": self.source,
            "path": self.path,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.code} at {self.path}: {self.message} [{self.source}]"


@dataclass(frozen=True, slots=True)
class LintContext:
    """What a lint sees: the parsed certificate and the profile it is checked against."""

    cert: CertView
    profile: Profile | None
    kind: ProfileKind
    policy: Policy = Policy.CONFORMANCE
    families: dict[Callable[..., Any], tuple[tuple[Strength, Hit], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The hits of each :func:`lint_family` check over this certificate, computed once for its
    two or three codes (issue 17: the check ran once per code)."""

    @property
    def qualified(self) -> bool:
        return self.kind in QUALIFIED_KINDS


class Target(enum.Enum):
    """What a lint reads."""

    CERTIFICATE = "certificate"
    CRL = "CRL"
    REQUEST = "certification request"


@dataclass(frozen=True, slots=True)
class DocumentContext:
    """What a CRL or request lint sees: the parsed object (``CertificateRevocationList`` or
    ``CertificationRequest`` of :mod:`atlas_ca.x509`), its DER and whether that is DER."""

    document: Any
    der: bytes
    der_problem: str | None
    policy: Policy = Policy.CONFORMANCE


LintFunction = Callable[[LintContext], Iterable[Hit]]
DocumentLintFunction = Callable[[DocumentContext], Iterable[Hit]]
RatedLintFunction = Callable[[LintContext], Iterable[tuple[Strength, Hit]]]

QUALIFIED_KINDS = frozenset(
    {ProfileKind.INDIVIDUAL, ProfileKind.ENTREPRENEUR, ProfileKind.LEGAL_ENTITY}
)
SUBSCRIBER_KINDS = QUALIFIED_KINDS | {ProfileKind.OCSP, ProfileKind.TSA}
ALL_KINDS = frozenset(ProfileKind)


@dataclass(frozen=True, slots=True)
class Lint:
    """A registered lint."""

    code: str
    strengths: frozenset[Strength]
    source: str
    description: str
    kinds: frozenset[ProfileKind]
    effective: dt.datetime | None
    issuance: Severity
    check: Callable[[Any], Iterable[Hit]] = field(repr=False, compare=False)
    target: Target = Target.CERTIFICATE

    @property
    def severity(self) -> Severity:
        """The conformance severity (the code's prefix)."""
        return Severity.of(min(self.strengths, key=_STRENGTH_ORDER.index))

    def severity_for(self, policy: Policy) -> Severity:
        return self.issuance if policy is Policy.ISSUANCE else self.severity

    @property
    def strength_text(self) -> str:
        return " / ".join(s.value for s in _STRENGTH_ORDER if s in self.strengths)

    def applies(self, ctx: LintContext | DocumentContext) -> bool:
        if isinstance(ctx, DocumentContext):
            return True
        if ctx.kind not in self.kinds:
            return False
        return self.effective is None or ctx.cert.not_before >= self.effective

    def run(self, ctx: LintContext | DocumentContext) -> list[Finding]:
        try:
            hits = list(self.check(ctx))
        except (AtlasCaError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # A value the lint cannot even decode breaks the rule it checks.
            hits = [Hit("certificate", f"cannot check: {exc}")]
        if not hits:  # most lints of most certificates
            return []
        severity = self.severity_for(ctx.policy)
        return [Finding(self.code, severity, self.source, h.path, h.message) for h in hits]


_STRENGTH_ORDER = (
    Strength.LAW,
    Strength.MUST,
    Strength.SHOULD,
    Strength.PRACTICE,
    Strength.UNCONFIRMED,
    Strength.INFO,
)
_REGISTRY: dict[str, Lint] = {}


def _register(
    code: str,
    strengths: frozenset[Strength],
    source: str,
    fn: Callable[[Any], Iterable[Hit]],
    doc: str | None,
    kinds: frozenset[ProfileKind],
    effective: dt.datetime | None,
    issuance: Severity | None,
    target: Target = Target.CERTIFICATE,
) -> None:
    if code in _REGISTRY:
        raise ValueError(f"lint {code} is registered twice")
    description = doc.strip().splitlines()[0] if doc else code
    item = Lint(code, strengths, source, description, kinds, effective, Severity.ERROR, fn, target)
    item = replace(item, issuance=issuance or item.severity)
    if not code.startswith(item.severity.prefix):
        raise ValueError(f"lint code {code!r} must start with {item.severity.prefix!r}")
    if _rank(item.issuance) > _rank(item.severity):
        raise ValueError(f"lint {code}: the issuance policy may only be stricter")
    _REGISTRY[code] = item


def _rank(severity: Severity) -> int:
    return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}[severity]


def lint(
    code: str,
    strength: Strength,
    source: str,
    *,
    kinds: frozenset[ProfileKind] = ALL_KINDS,
    effective: dt.datetime | None = None,
    issuance: Severity | None = None,
) -> Callable[[LintFunction], LintFunction]:
    """Register the decorated function as the lint ``code``; the docstring describes it.

    ``strength`` is the strength of ``source`` (it fixes the conformance severity and the code's
    prefix); ``issuance`` the severity under our issuance policy (default: the same).
    """

    def register(fn: LintFunction) -> LintFunction:
        _register(code, frozenset({strength}), source, fn, fn.__doc__, kinds, effective, issuance)
        return fn

    return register


def document_lint(
    code: str,
    target: Target,
    strength: Strength,
    source: str,
    *,
    issuance: Severity | None = None,
) -> Callable[[DocumentLintFunction], DocumentLintFunction]:
    """Register a lint of a CRL or a certification request (see :func:`lint`)."""

    def register(fn: DocumentLintFunction) -> DocumentLintFunction:
        _register(
            code,
            frozenset({strength}),
            source,
            fn,
            fn.__doc__,
            ALL_KINDS,
            None,
            issuance,
            target,
        )
        return fn

    return register


_BANDS = {
    Severity.ERROR: frozenset({Strength.LAW, Strength.MUST}),
    Severity.WARNING: frozenset({Strength.SHOULD, Strength.PRACTICE}),
    Severity.NOTICE: frozenset({Strength.UNCONFIRMED, Strength.INFO}),
}


def lint_family(
    name: str,
    source: str,
    *,
    kinds: frozenset[ProfileKind] = ALL_KINDS,
    issuance: Severity | None = None,
    bands: tuple[Severity, ...] = (Severity.ERROR, Severity.WARNING, Severity.NOTICE),
) -> Callable[[RatedLintFunction], RatedLintFunction]:
    """Register ``e_NAME``, ``w_NAME`` and ``n_NAME`` (those of ``bands``) from one check whose
    hits carry the strength of the rule each breaks (a profile's rules differ in strength)."""

    def register(fn: RatedLintFunction) -> RatedLintFunction:
        for severity in bands:
            band = _BANDS[severity]

            def banded(ctx: LintContext, band: frozenset[Strength] = band) -> Iterator[Hit]:
                hits = ctx.families.get(fn)
                if hits is None:  # the first of the family's codes runs the check
                    hits = ctx.families[fn] = tuple(fn(ctx))
                return (hit for strength, hit in hits if strength in band)

            _register(
                severity.prefix + name, band, source, banded, fn.__doc__, kinds, None, issuance
            )
        return fn

    return register


def registry() -> Mapping[str, Lint]:
    """Every registered lint by code (importing :mod:`atlas_ca.profiles.lint` fills it)."""
    return MappingProxyType(_REGISTRY)


def certificate_lints(kind: ProfileKind) -> tuple[Lint, ...]:
    """The certificate lints whose kinds include ``kind``, in registry order: those
    :meth:`Lint.applies` may accept for a certificate of ``kind`` (it still decides by date).

    Issue 17: filtered once per kind and registry size (lints are only ever added), not for
    every certificate; at most one entry per kind and size.
    """
    key = (kind, len(_REGISTRY))
    found = _BY_KIND.get(key)
    if found is None:
        found = tuple(
            item
            for item in _REGISTRY.values()
            if item.target is Target.CERTIFICATE and kind in item.kinds
        )
        _BY_KIND[key] = found
    return found


_BY_KIND: dict[tuple[ProfileKind, int], tuple[Lint, ...]] = {}


@dataclass(frozen=True, slots=True)
class LintReport:
    """The findings of one lint run, in registry order."""

    profile: str
    findings: tuple[Finding, ...]
    policy: Policy = Policy.CONFORMANCE

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def notices(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.NOTICE)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and notices do not stop issuance)."""
        return not self.errors

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "policy": self.policy.value,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "notices": len(self.notices),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


__all__ = [
    "ALL_KINDS",
    "QUALIFIED_KINDS",
    "SUBSCRIBER_KINDS",
    "DocumentContext",
    "DocumentLintFunction",
    "Finding",
    "Hit",
    "Lint",
    "LintContext",
    "LintFunction",
    "LintReport",
    "Policy",
    "RatedLintFunction",
    "Severity",
    "Target",
    "document_lint",
    "lint",
    "lint_family",
    "registry",
    "repeated_oids",
]

"""The lint registry (zlint/Boulder style): one-purpose functions with a stable code.

A lint is registered with :func:`lint`, which fixes its ``code`` (``e_``/``w_``/``n_`` prefix
matching the severity, never renamed once published), its severity, the ``source`` it enforces
(Order 795 clause, RFC section), the profile kinds it applies to and, optionally, the date from
which the rule is in force (compared with the certificate's notBefore). The function yields
:class:`Hit` values (where, and what); the registry turns them into :class:`Finding` values.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from atlas_ca.errors import AtlasCaError
from atlas_ca.profiles.base import Profile, ProfileKind
from atlas_ca.profiles.lint.view import Attr, CertView, Ext


class Severity(enum.Enum):
    """How bad a finding is; only ``ERROR`` stops issuance."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def prefix(self) -> str:
        return self.value[0] + "_"


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

    @property
    def qualified(self) -> bool:
        return self.kind in QUALIFIED_KINDS


LintFunction = Callable[[LintContext], Iterable[Hit]]

QUALIFIED_KINDS = frozenset(
    {ProfileKind.INDIVIDUAL, ProfileKind.ENTREPRENEUR, ProfileKind.LEGAL_ENTITY}
)
SUBSCRIBER_KINDS = QUALIFIED_KINDS | {ProfileKind.OCSP}
ALL_KINDS = frozenset(ProfileKind)


@dataclass(frozen=True, slots=True)
class Lint:
    """A registered lint."""

    code: str
    severity: Severity
    source: str
    description: str
    kinds: frozenset[ProfileKind]
    effective: dt.datetime | None
    check: LintFunction = field(repr=False, compare=False)

    def applies(self, ctx: LintContext) -> bool:
        if ctx.kind not in self.kinds:
            return False
        return self.effective is None or ctx.cert.not_before >= self.effective

    def run(self, ctx: LintContext) -> list[Finding]:
        try:
            hits = list(self.check(ctx))
        except (AtlasCaError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # A value the lint cannot even decode breaks the rule it checks.
            hits = [Hit("certificate", f"cannot check: {exc}")]
        return [Finding(self.code, self.severity, self.source, h.path, h.message) for h in hits]


_REGISTRY: dict[str, Lint] = {}


def lint(
    code: str,
    severity: Severity,
    source: str,
    *,
    kinds: frozenset[ProfileKind] = ALL_KINDS,
    effective: dt.datetime | None = None,
) -> Callable[[LintFunction], LintFunction]:
    """Register the decorated function as the lint ``code``; the docstring describes it."""
    if not code.startswith(severity.prefix):
        raise ValueError(f"lint code {code!r} must start with {severity.prefix!r}")

    def register(fn: LintFunction) -> LintFunction:
        if code in _REGISTRY:
            raise ValueError(f"lint {code} is registered twice")
        description = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else code
        _REGISTRY[code] = Lint(code, severity, source, description, kinds, effective, fn)
        return fn

    return register


def registry() -> Mapping[str, Lint]:
    """Every registered lint by code (importing :mod:`atlas_ca.profiles.lint` fills it)."""
    return MappingProxyType(_REGISTRY)


@dataclass(frozen=True, slots=True)
class LintReport:
    """The findings of one lint run, in registry order."""

    profile: str
    findings: tuple[Finding, ...]

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
    "Finding",
    "Hit",
    "Lint",
    "LintContext",
    "LintFunction",
    "LintReport",
    "Severity",
    "lint",
    "registry",
    "repeated_oids",
]

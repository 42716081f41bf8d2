"""Service certificates: the time-stamp authority's (RFC 3161 §2.3).

These hold whatever profile data says about a TSA: they read only the certificate, so they work
whether or not a TSA profile is registered.
"""

from __future__ import annotations

from collections.abc import Iterator

from atlas_ca.asn1 import oids
from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.fields import Strength
from atlas_ca.profiles.lint.registry import Hit, LintContext, lint
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.names import oid_of

TSA_KINDS = frozenset({ProfileKind.TSA})
_TIME_STAMPING = oids.ExtendedKeyUsage.TIME_STAMPING.dotted
RFC3161 = "RFC 3161 §2.3 (TSA certificate: only id-kp-timeStamping, critical)"


def _eku(ctx: LintContext) -> tuple[bool, set[str]] | None:
    ext = ctx.cert.ext(oids.Extension.EXTENDED_KEY_USAGE)
    if ext is None:
        return None
    parsed = ext.parsed()
    if not isinstance(parsed, x509ext.ExtendedKeyUsage):
        return None
    return ext.critical, {p.dotted for p in parsed.purposes}


@lint("e_tsa_eku_not_critical", Strength.MUST, RFC3161, kinds=TSA_KINDS)
def tsa_eku_not_critical(ctx: LintContext) -> Iterator[Hit]:
    """A TSA certificate's extendedKeyUsage is critical."""
    eku = _eku(ctx)
    if eku is not None and not eku[0]:
        yield Hit("extensions.extKeyUsage", "extendedKeyUsage of a TSA must be critical")


@lint("e_tsa_eku_not_sole", Strength.MUST, RFC3161, kinds=TSA_KINDS)
def tsa_eku_not_sole(ctx: LintContext) -> Iterator[Hit]:
    """A TSA certificate's extendedKeyUsage lists id-kp-timeStamping and nothing else."""
    eku = _eku(ctx)
    if eku is not None and eku[1] != {_TIME_STAMPING}:
        others = sorted(oid_of(p).name for p in eku[1] - {_TIME_STAMPING})
        yield Hit(
            "extensions.extKeyUsage", f"a TSA lists only timeStamping, not {', '.join(others)}"
        )


__all__ = ["RFC3161", "TSA_KINDS"]

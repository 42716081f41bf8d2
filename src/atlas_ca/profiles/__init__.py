"""Qualified-certificate profiles and the linter (FSB Order 795 form, RFC 5280).

``atlas_ca.profiles`` decides *what* a certificate says; :mod:`atlas_ca.x509` only encodes it.
Profiles are data (:mod:`.base`, :mod:`.fields`); :mod:`.issue` turns verified subscriber data
into a certificate plan; :mod:`.lint` checks any certificate, ours before signing or a foreign
one; :mod:`.detect` tells which profile a foreign certificate follows.

The profiles are loaded on first use of a name below (PEP 562), not with the package: a module
that needs only :mod:`.config` (the CRL publisher's partitioning) does not build them and the
certificate model they refer to (docs/performance.md, "Partitioned CRLs, per partition").
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from atlas_ca.errors import InvalidInput

if TYPE_CHECKING:
    from atlas_ca.profiles.base import Profile, ProfileKind
    from atlas_ca.profiles.ca import CA
    from atlas_ca.profiles.entrepreneur import ENTREPRENEUR
    from atlas_ca.profiles.individual import INDIVIDUAL
    from atlas_ca.profiles.legal_entity import LEGAL_ENTITY
    from atlas_ca.profiles.ocsp import OCSP
    from atlas_ca.profiles.tsa import TSA

    PROFILES: Mapping[str, Profile]
    BY_KIND: Mapping[ProfileKind, Profile]


class UnknownProfile(InvalidInput):
    """A profile name that is not in :data:`PROFILES`."""


_MODULES = {
    "Profile": "base",
    "ProfileKind": "base",
    "CA": "ca",
    "ENTREPRENEUR": "entrepreneur",
    "INDIVIDUAL": "individual",
    "LEGAL_ENTITY": "legal_entity",
    "OCSP": "ocsp",
    "TSA": "tsa",
}
_ORDER = ("INDIVIDUAL", "ENTREPRENEUR", "LEGAL_ENTITY", "CA", "OCSP", "TSA")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    elif name == "PROFILES":
        value = MappingProxyType({p.name: p for p in map(__getattr__, _ORDER)})
    elif name == "BY_KIND":
        value = MappingProxyType({p.kind: p for p in __getattr__("PROFILES").values()})
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once: later lookups find the module attribute
    return value


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``individual``, ``entrepreneur``, ``legal-entity``, ...)."""
    # The module attribute once loaded: calling __getattr__ itself built the mapping (and
    # imported its six modules) again on every call, twice per issuance (issue 17).
    profiles: Mapping[str, Profile] | None = globals().get("PROFILES")
    if profiles is None:
        profiles = __getattr__("PROFILES")
    try:
        return profiles[name]
    except KeyError:
        raise UnknownProfile(
            f"unknown profile {name!r}; known: {', '.join(profiles)}", profile=name
        ) from None


__all__ = [
    "BY_KIND",
    "CA",
    "ENTREPRENEUR",
    "INDIVIDUAL",
    "LEGAL_ENTITY",
    "OCSP",
    "PROFILES",
    "TSA",
    "Profile",
    "ProfileKind",
    "UnknownProfile",
    "get_profile",
]

"""Qualified-certificate profiles and the linter (FSB Order 795 form, RFC 5280).

``atlas_ca.profiles`` decides *what* a certificate says; :mod:`atlas_ca.x509` only encodes it.
Profiles are data (:mod:`.base`, :mod:`.fields`); :mod:`.issue` turns verified subscriber data
into a certificate plan; :mod:`.lint` checks any certificate, ours before signing or a foreign
one; :mod:`.detect` tells which profile a foreign certificate follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from atlas_ca.errors import InvalidInput
from atlas_ca.profiles.base import Profile, ProfileKind
from atlas_ca.profiles.ca import CA
from atlas_ca.profiles.entrepreneur import ENTREPRENEUR
from atlas_ca.profiles.individual import INDIVIDUAL
from atlas_ca.profiles.legal_entity import LEGAL_ENTITY
from atlas_ca.profiles.ocsp import OCSP
from atlas_ca.profiles.tsa import TSA


class UnknownProfile(InvalidInput):
    """A profile name that is not in :data:`PROFILES`."""


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {p.name: p for p in (INDIVIDUAL, ENTREPRENEUR, LEGAL_ENTITY, CA, OCSP, TSA)}
)

BY_KIND: Mapping[ProfileKind, Profile] = MappingProxyType({p.kind: p for p in PROFILES.values()})


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``individual``, ``entrepreneur``, ``legal-entity``, ...)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(
            f"unknown profile {name!r}; known: {', '.join(PROFILES)}", profile=name
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

"""Qualified certificate of an individual entrepreneur (ИП).

Since 2022 the tax service's CA issues these; we mostly *validate and explain* them, and
issue under this profile only when the CA configuration enables it.
"""

from __future__ import annotations

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import EE_KEY_USAGE, GOST_KEYS, Profile, ProfileKind
from atlas_ca.profiles.fields import OPT, REQ, IdentifierKind
from atlas_ca.profiles.individual import (
    EE_EKU,
    EE_VALIDITY,
    OWNER_IDENTIFIERS,
    OWNER_NAME,
    QUALIFIED_EE_EXTENSIONS,
)

ENTREPRENEUR = Profile(
    name="entrepreneur",
    kind=ProfileKind.ENTREPRENEUR,
    title="Qualified certificate of an individual entrepreneur (ИП)",
    qualified=True,
    is_ca=False,
    attributes=(
        *f.location(OPT),
        *OWNER_NAME,
        f.numeric(
            oids.RuAttribute.OGRNIP,
            REQ,
            15,
            IdentifierKind.OGRNIP,
            f"{f.ORDER_795_ATTRS}; {f.LAW_63_17}",
        ),
        *OWNER_IDENTIFIERS,
    ),
    extensions=QUALIFIED_EE_EXTENSIONS,
    keys=GOST_KEYS,
    validity=EE_VALIDITY,
    key_usage=EE_KEY_USAGE,
    extended_key_usage=EE_EKU,
    issuable_by_default=False,
    note="ФИО, СНИЛС, ИНН and ОГРНИП of the owner (63-ФЗ art. 17 part 2).",
)

__all__ = ["ENTREPRENEUR"]

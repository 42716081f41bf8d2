"""Qualified certificate of a legal entity (ЮЛ), as the tax service's CA issues it.

Used to *validate and explain* certificates issued elsewhere; issuance only when configured
(since 2022 commercial CAs no longer issue to legal entities and their heads).
"""

from __future__ import annotations

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import EE_KEY_USAGE, GOST_KEYS, Profile, ProfileKind
from atlas_ca.profiles.fields import OPT, REQ, IdentifierKind
from atlas_ca.profiles.individual import EE_EKU, EE_VALIDITY, QUALIFIED_EE_EXTENSIONS

PERSON_NOTE = (
    "The person acting for the organisation without a power of attorney; the tax service's CA "
    "always names them (surname, givenName, СНИЛС, ИНН ФЛ), Order 795 leaves it optional."
)

OGRN = f.numeric(
    oids.RuAttribute.OGRN, REQ, 13, IdentifierKind.OGRN, f"{f.ORDER_795_ATTRS}; {f.LAW_63_17}"
)
INNLE = f.numeric(
    oids.RuAttribute.INNLE,
    REQ,
    10,
    IdentifierKind.INN_LEGAL,
    f"{f.ORDER_31}; {f.LAW_63_17}",
    note="Certificates issued before 01.09.2021 carry the ИНН of the organisation in the INN "
    "attribute instead, padded with '00' (a notice, not an error).",
)

LEGAL_ENTITY = Profile(
    name="legal-entity",
    kind=ProfileKind.LEGAL_ENTITY,
    title="Qualified certificate of a legal entity (ЮЛ)",
    qualified=True,
    is_ca=False,
    attributes=(
        *f.location(REQ),
        f.organization(REQ),
        f.title(OPT),
        f.surname(OPT),
        f.given_name(OPT),
        f.common_name(
            REQ, "The organisation's name, as the tax service's CA writes it (Order 795)."
        ),
        f.email(OPT),
        OGRN,
        INNLE,
        f.snils(OPT),
        f.inn_person(OPT, note=PERSON_NOTE),
    ),
    extensions=QUALIFIED_EE_EXTENSIONS,
    keys=GOST_KEYS,
    validity=EE_VALIDITY,
    key_usage=EE_KEY_USAGE,
    extended_key_usage=EE_EKU,
    issuable_by_default=False,
    note="Name and location (ST, L, street), ОГРН and ИНН of the organisation (63-ФЗ art. 17 "
    "part 2). " + PERSON_NOTE,
)

__all__ = ["INNLE", "LEGAL_ENTITY", "OGRN"]

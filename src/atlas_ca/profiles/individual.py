"""Qualified certificate of an individual (ФЛ): the main product of a commercial accredited CA.

Since 2022 heads of organisations and ИП get their certificates from the tax service's CA;
employees sign with an individual certificate plus a machine-readable power of attorney (МЧД),
so this profile names no organisation.
"""

from __future__ import annotations

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import (
    EE_KEY_USAGE,
    GOST_KEYS,
    Profile,
    ProfileKind,
    ValidityRule,
)
from atlas_ca.profiles.fields import OPT, REQ

CN_PERSON = (
    "Surname, first name and patronymic ('Иванов Иван Иванович'), as every CA in circulation "
    "writes it; Order 795 asks for the full name but not which attribute holds it."
)

QUALIFIED_EE_EXTENSIONS: tuple[f.ExtensionRule, ...] = (
    f.KEY_USAGE_EE,
    f.EXTENDED_KEY_USAGE_EE,
    f.CERTIFICATE_POLICIES,
    f.SUBJECT_SIGN_TOOL,
    f.ISSUER_SIGN_TOOL,
    f.IDENTIFICATION_KIND,
    f.PRIVATE_KEY_USAGE_PERIOD,
    f.SKI,
    f.AKI,
    f.CRL_DP,
    f.AIA,
    f.SUBJECT_ALT_NAME,
)

#: The owner's name, as the individual and entrepreneur profiles list it after the address.
OWNER_NAME: tuple[f.AttributeRule, ...] = (
    f.surname(REQ),
    f.given_name(REQ),
    f.common_name(REQ, CN_PERSON),
    f.email(OPT),
)
#: The owner's СНИЛС and ИНН, the last rows of the individual and entrepreneur profiles.
OWNER_IDENTIFIERS: tuple[f.AttributeRule, ...] = (
    f.snils(REQ),
    f.inn_person(REQ),
)

EE_VALIDITY = ValidityRule(
    certificate_months=15,
    private_key_months=15,
    source=f"{f.PRACTICE}; operating documentation of certified tools (CryptoPro CSP)",
    note="Neither 63-ФЗ nor Order 795 fixes a maximum. The certified tools limit the use of a "
    "private key to 15 months (1 year 3 months), and CAs issue for that long at most.",
)

EE_EKU = (oids.ExtendedKeyUsage.CLIENT_AUTH, oids.ExtendedKeyUsage.EMAIL_PROTECTION)

INDIVIDUAL = Profile(
    name="individual",
    kind=ProfileKind.INDIVIDUAL,
    title="Qualified certificate of an individual (ФЛ)",
    qualified=True,
    is_ca=False,
    attributes=(
        *f.location(OPT),
        *OWNER_NAME,
        *OWNER_IDENTIFIERS,
    ),
    extensions=QUALIFIED_EE_EXTENSIONS,
    keys=GOST_KEYS,
    validity=EE_VALIDITY,
    key_usage=EE_KEY_USAGE,
    extended_key_usage=EE_EKU,
    issuable_by_default=True,
    note="СНИЛС and ИНН are both required for an individual (63-ФЗ art. 17 part 2 as amended).",
)

__all__ = [
    "CN_PERSON",
    "EE_EKU",
    "EE_VALIDITY",
    "INDIVIDUAL",
    "OWNER_IDENTIFIERS",
    "OWNER_NAME",
    "QUALIFIED_EE_EXTENSIONS",
]

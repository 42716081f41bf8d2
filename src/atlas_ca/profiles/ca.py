"""The certificate of this CA: a subordinate of the head CA, or a self-signed root for tests.

The head CA (Минцифры) issues the production certificate; we issue only self-signed roots for
test and demo deployments, and lint the head CA's certificate of us with the same rules.
"""

from __future__ import annotations

from dataclasses import replace

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import (
    GOST_KEYS,
    KeyUsageBit,
    KeyUsageRule,
    Profile,
    ProfileKind,
    ValidityRule,
)
from atlas_ca.profiles.fields import OPT, REQ, ExtensionRule, Strength
from atlas_ca.profiles.legal_entity import INNLE, OGRN

BASIC_CONSTRAINTS_CA = ExtensionRule(
    oids.Extension.BASIC_CONSTRAINTS,
    REQ,
    True,
    f"{f.RFC5280} §4.2.1.9 (MUST be critical, cA TRUE)",
    strength=Strength.MUST,
    critical_strength=Strength.MUST,
)

CA_KEY_USAGE = KeyUsageRule(
    emit=frozenset(
        {
            KeyUsageBit.DIGITAL_SIGNATURE,
            KeyUsageBit.CONTENT_COMMITMENT,
            KeyUsageBit.KEY_CERT_SIGN,
            KeyUsageBit.CRL_SIGN,
        }
    ),
    required=frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}),
    forbidden=frozenset(),
    source=f"{f.RFC5280} §4.2.1.3; {f.PRACTICE}",
    note="digitalSignature and nonRepudiation are what the head CA's certificates of "
    "accredited CAs carry (the CA key also signs OCSP responses in small deployments).",
)

CA = Profile(
    name="ca",
    kind=ProfileKind.CA,
    title="Certificate of this CA (subordinate of the head CA, or a self-signed test root)",
    qualified=True,
    is_ca=True,
    attributes=(
        *f.location(REQ),
        f.organization(REQ),
        f.common_name(REQ, "The CA's name (typically the operator's short name and 'УЦ')."),
        f.email(OPT),
        OGRN,
        INNLE,
    ),
    extensions=(
        BASIC_CONSTRAINTS_CA,
        f.KEY_USAGE,
        replace(f.SKI, strength=Strength.MUST),
        ExtensionRule(
            oids.Extension.AUTHORITY_KEY_IDENTIFIER,
            OPT,
            False,
            f"{f.RFC5280} §4.2.1.1",
            note="Required on the head CA's certificate of us; a self-signed root may omit it.",
            critical_strength=Strength.MUST,
        ),
        f.SUBJECT_SIGN_TOOL,
        f.ISSUER_SIGN_TOOL,
        ExtensionRule(
            oids.Extension.CERTIFICATE_POLICIES,
            OPT,
            False,
            f.CERTIFICATE_POLICIES.source,
            note="The head CA lists the classes the accredited CA may issue under.",
        ),
        f.PRIVATE_KEY_USAGE_PERIOD_OPTIONAL,
        ExtensionRule(
            oids.Extension.CRL_DISTRIBUTION_POINTS,
            OPT,
            False,
            f.CRL_DP.source,
            critical_strength=Strength.SHOULD,
        ),
        f.AIA,
        f.SUBJECT_ALT_NAME,
    ),
    keys=GOST_KEYS,
    validity=ValidityRule(
        certificate_months=180,
        private_key_months=36,
        source=f"{f.PRACTICE}; operating documentation of certified CA tools",
        note="Not fixed by law: the head CA issues its own roots for about 18 years and "
        "accredited CAs' certificates for up to 15; the CA's private key is used for up to 3 "
        "years by the documentation of certified tools. No normative source: a notice on a "
        "foreign certificate, refused when we issue.",
    ),
    key_usage=CA_KEY_USAGE,
    extended_key_usage=(),
    issuable_by_default=True,
    note="The CA is a legal entity: ОГРН and ИНН ЮЛ of the operator.",
)

__all__ = ["BASIC_CONSTRAINTS_CA", "CA", "CA_KEY_USAGE"]

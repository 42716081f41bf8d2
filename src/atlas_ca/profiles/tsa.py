"""Certificate of this CA's time-stamp authority (RFC 3161 §2.3).

RFC 3161 §2.3: the TSA's certificate has exactly one extended key usage, id-kp-timeStamping,
and that extension is critical (OpenSSL's ``ts -verify`` refuses anything else).
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
from atlas_ca.profiles.fields import OPT, REQ, ExtensionRule
from atlas_ca.profiles.legal_entity import INNLE, OGRN

RFC3161 = "RFC 3161 §2.3 (TSA certificate)"

TSA = Profile(
    name="tsa",
    kind=ProfileKind.TSA,
    title="Time-stamp authority (RFC 3161) of this CA",
    qualified=False,
    is_ca=False,
    attributes=(
        *f.location(OPT),
        f.organization(REQ),
        f.common_name(REQ, "The TSA's name ('Служба штампов времени УЦ ...')."),
        replace(OGRN, presence=OPT),
        replace(INNLE, presence=OPT),
    ),
    extensions=(
        f.KEY_USAGE,
        ExtensionRule(
            oids.Extension.EXTENDED_KEY_USAGE, REQ, True, f"{RFC3161} (critical, timeStamping only)"
        ),
        f.SKI,
        f.AKI,
        ExtensionRule(oids.RuExtension.SUBJECT_SIGN_TOOL, OPT, False, f.SUBJECT_SIGN_TOOL.source),
        ExtensionRule(oids.RuExtension.ISSUER_SIGN_TOOL, OPT, False, f.ISSUER_SIGN_TOOL.source),
        f.PRIVATE_KEY_USAGE_PERIOD_OPTIONAL,
        f.CRL_DP,
        f.AIA,
    ),
    keys=GOST_KEYS,
    validity=ValidityRule(
        certificate_months=15,
        private_key_months=15,
        source=f"{f.PRACTICE}; tokens stay verifiable after the key's period ends",
    ),
    key_usage=KeyUsageRule(
        emit=frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT}),
        required=frozenset({KeyUsageBit.DIGITAL_SIGNATURE}),
        forbidden=frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}),
        source=f"{f.RFC5280} §4.2.1.3; {RFC3161}",
    ),
    extended_key_usage=(oids.ExtendedKeyUsage.TIME_STAMPING,),
    issuable_by_default=True,
)

__all__ = ["TSA"]

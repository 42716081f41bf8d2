"""Certificate of this CA's time-stamp authority (RFC 3161 §2.3).

RFC 3161 §2.3: the TSA's certificate has exactly one extended key usage, id-kp-timeStamping,
and that extension is critical (OpenSSL's ``ts -verify`` refuses anything else).
"""

from __future__ import annotations

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import (
    GOST_KEYS,
    KeyUsageRule,
    Profile,
    ProfileKind,
    ValidityRule,
)
from atlas_ca.profiles.fields import REQ, ExtensionRule
from atlas_ca.profiles.legal_entity import INNLE, OGRN

RFC3161 = "RFC 3161 §2.3 (TSA certificate)"

TSA = Profile(
    name="tsa",
    kind=ProfileKind.TSA,
    title="Time-stamp authority (RFC 3161) of this CA",
    qualified=False,
    is_ca=False,
    attributes=f.service_subject("The TSA's name ('Служба штампов времени УЦ ...').", OGRN, INNLE),
    extensions=(
        f.KEY_USAGE,
        ExtensionRule(
            oids.Extension.EXTENDED_KEY_USAGE, REQ, True, f"{RFC3161} (critical, timeStamping only)"
        ),
        *f.SERVICE_COMMON_EXTENSIONS,
        f.CRL_DP,
        f.AIA,
    ),
    keys=GOST_KEYS,
    validity=ValidityRule(
        certificate_months=f.SERVICE_MONTHS,
        private_key_months=f.SERVICE_MONTHS,
        source=f"{f.PRACTICE}; tokens stay verifiable after the key's period ends",
    ),
    key_usage=KeyUsageRule(
        emit=f.SERVICE_KEY_USAGE_EMIT,
        required=f.SERVICE_KEY_USAGE_REQUIRED,
        forbidden=f.SERVICE_KEY_USAGE_FORBIDDEN,
        source=f"{f.RFC5280} §4.2.1.3; {RFC3161}",
    ),
    extended_key_usage=(oids.ExtendedKeyUsage.TIME_STAMPING,),
    issuable_by_default=True,
)

__all__ = ["TSA"]

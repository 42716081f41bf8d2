"""Certificate of this CA's OCSP responder (a delegated signer, RFC 6960 §4.2.2.2)."""

from __future__ import annotations

from dataclasses import replace

from atlas_ca.asn1 import oids
from atlas_ca.profiles import fields as f
from atlas_ca.profiles.base import (
    GOST_KEYS,
    KeyUsageRule,
    Profile,
    ProfileKind,
    ValidityRule,
)
from atlas_ca.profiles.fields import REQ, ExtensionRule, Strength
from atlas_ca.profiles.legal_entity import INNLE, OGRN

OCSP = Profile(
    name="ocsp",
    kind=ProfileKind.OCSP,
    title="OCSP responder (delegated signer) of this CA",
    qualified=False,
    is_ca=False,
    attributes=f.service_subject("The responder's name ('OCSP-служба УЦ ...').", OGRN, INNLE),
    extensions=(
        replace(f.KEY_USAGE, strength=Strength.PRACTICE),
        ExtensionRule(
            oids.Extension.EXTENDED_KEY_USAGE,
            REQ,
            False,
            f"{f.RFC6960} (id-kp-OCSPSigning)",
            strength=Strength.MUST,
            critical_strength=Strength.UNCONFIRMED,
        ),
        ExtensionRule(
            oids.Extension.OCSP_NO_CHECK,
            REQ,
            False,
            "RFC 6960 §4.2.2.2.1 (SHOULD be non-critical)",
            note="Optional in RFC 6960; we emit it and keep the responder certificate short-lived.",
            strength=Strength.PRACTICE,
            critical_strength=Strength.SHOULD,
        ),
        *f.SERVICE_COMMON_EXTENSIONS,
        f.AIA,
    ),
    keys=GOST_KEYS,
    validity=ValidityRule(
        certificate_months=f.SERVICE_MONTHS,
        private_key_months=f.SERVICE_MONTHS,
        source=f"{f.PRACTICE}; RFC 6960 §4.2.2.2.1 (short-lived when no revocation check)",
    ),
    key_usage=KeyUsageRule(
        emit=f.SERVICE_KEY_USAGE_EMIT,
        required=f.SERVICE_KEY_USAGE_REQUIRED,
        forbidden=f.SERVICE_KEY_USAGE_FORBIDDEN,
        source=f"{f.RFC5280} §4.2.1.3; {f.RFC6960}",
    ),
    extended_key_usage=(oids.ExtendedKeyUsage.OCSP_SIGNING,),
    issuable_by_default=True,
)

__all__ = ["OCSP"]

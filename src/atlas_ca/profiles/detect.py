"""Which profile a foreign certificate follows: individual, ИП, legal entity, CA, OCSP, unknown.

The rules, in order (first match wins), read only what the certificate says:

1. basicConstraints with cA TRUE → CA;
2. extendedKeyUsage with id-kp-OCSPSigning → OCSP responder;
2a. extendedKeyUsage critical and listing id-kp-timeStamping, or listing nothing else → time-stamp
   authority (RFC 3161 §2.3 requires exactly that EKU, critical; a TSA certificate carries the
   operator's ОГРН and ИНН, so it is never read as a legal entity's);
3. OGRNIP in the subject → ИП (entrepreneur);
4. OGRN or INNLE in the subject, or an INN padded with '00' (a legal entity's ИНН before
   Order 31) → legal entity;
5. SNILS or a 12-digit INN in the subject → individual;
6. otherwise unknown (only the RFC 5280 lints and the identifier check digits apply).
"""

from __future__ import annotations

from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError
from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.lint.view import CertView, view_of
from atlas_ca.x509 import extensions as x509ext


def detect_kind(cert: CertView) -> ProfileKind:
    """The :class:`ProfileKind` of a parsed certificate (see the module doc for the rules)."""
    bc = cert.ext(oids.Extension.BASIC_CONSTRAINTS)
    if bc is not None:
        try:
            parsed = bc.parsed()
        except DecodeError:
            parsed = None
        if isinstance(parsed, x509ext.BasicConstraints) and parsed.ca:
            return ProfileKind.CA
    eku = cert.ext(oids.Extension.EXTENDED_KEY_USAGE)
    if eku is not None:
        try:
            purposes = eku.parsed()
        except DecodeError:
            purposes = None
        if isinstance(purposes, x509ext.ExtendedKeyUsage):
            listed = {p.dotted for p in purposes.purposes}
            if oids.ExtendedKeyUsage.OCSP_SIGNING.dotted in listed:
                return ProfileKind.OCSP
            tsa = oids.ExtendedKeyUsage.TIME_STAMPING.dotted
            if tsa in listed and (eku.critical or listed == {tsa}):
                return ProfileKind.TSA
    if cert.attrs(oids.RuAttribute.OGRNIP):
        return ProfileKind.ENTREPRENEUR
    inns = [a.text or "" for a in cert.attrs(oids.RuAttribute.INN)]
    if (
        cert.attrs(oids.RuAttribute.OGRN)
        or cert.attrs(oids.RuAttribute.INNLE)
        or any(len(v) == 12 and v.startswith("00") for v in inns)
    ):
        return ProfileKind.LEGAL_ENTITY
    if cert.attrs(oids.RuAttribute.SNILS) or any(len(v) == 12 for v in inns):
        return ProfileKind.INDIVIDUAL
    return ProfileKind.UNKNOWN


def detect(der: bytes) -> ProfileKind:
    """The :class:`ProfileKind` of a DER certificate or TBSCertificate."""
    return detect_kind(view_of(der))


__all__ = ["detect", "detect_kind"]

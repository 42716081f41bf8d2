"""Verification of the CA's own artifacts: one certificate against its issuer, and a chain.

This is not a general RFC 5280 path validator (no policy processing, no name constraints):
it checks what a CA must be sure of before it publishes or relies on what it issued — name
chaining, signatures, validity at a given time, basicConstraints with pathLenConstraint, and
keyUsage keyCertSign / cRLSign of the issuers. Certificates from outside (the head CA's chain,
a subscriber's or registrar's certificate, an operator's question) go through
:mod:`atlas_ca.trust`, the RFC 5280 path validator with revocation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

from atlas_ca.errors import Refused, SignatureInvalid, X509Error
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.extensions import BasicConstraints, KeyUsage, KeyUsageBit


class CertificateInvalid(X509Error, Refused):
    """A certificate or chain fails a check; the message names the certificate and the check."""


def _label(cert: Certificate) -> str:
    return f"certificate {cert.serial_number:x}"


def check_validity(cert: Certificate, at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("verification time must be timezone-aware")
    at = at.astimezone(UTC)
    if at < cert.not_before:
        raise CertificateInvalid(
            f"{_label(cert)} is not yet valid at {at:%Y-%m-%d %H:%M:%SZ} "
            f"(notBefore {cert.not_before:%Y-%m-%d %H:%M:%SZ})"
        )
    if at > cert.not_after:
        raise CertificateInvalid(
            f"{_label(cert)} has expired at {at:%Y-%m-%d %H:%M:%SZ} "
            f"(notAfter {cert.not_after:%Y-%m-%d %H:%M:%SZ})"
        )


def require_key_usage(cert: Certificate, bit: KeyUsageBit) -> None:
    """The issuer must assert ``bit`` (keyCertSign for certificates, cRLSign for CRLs).

    A certificate without keyUsage is refused as an issuer: our CA always writes keyUsage.
    """
    ku = cert.extensions.get(KeyUsage)
    if ku is None:
        raise CertificateInvalid(f"issuer {_label(cert)} has no keyUsage extension")
    if bit not in ku.usages:
        raise CertificateInvalid(f"issuer {_label(cert)} keyUsage lacks {bit.name}")


def require_crl_issuer(issuer: Certificate) -> None:
    """What a CRL's issuer certificate must allow: CA and cRLSign."""
    if not issuer.is_ca:
        raise CertificateInvalid(f"{_label(issuer)} is not a CA certificate")
    require_key_usage(issuer, KeyUsageBit.CRL_SIGN)


def verify_issued_by(cert: Certificate, issuer: Certificate) -> None:
    """Name chaining and the signature of ``cert`` by ``issuer``'s key."""
    if cert.issuer != issuer.subject:
        raise CertificateInvalid(
            f"{_label(cert)} names issuer {cert.issuer} but the issuer certificate's subject "
            f"is {issuer.subject}"
        )
    try:
        cert.verify_signed_by(issuer.public_key_info)
    except SignatureInvalid as exc:
        raise CertificateInvalid(
            f"{_label(cert)}: signature does not verify with the issuer's key: {exc}"
        ) from exc


def verify_request(request: CertificationRequest) -> None:
    """Proof of possession of a request (its signature by its own key)."""
    request.verify()


def verify_chain(leaf: Certificate, chain: Sequence[Certificate], *, at: datetime) -> None:
    """Check ``leaf`` up through ``chain`` (its issuer first, the self-signed root last).

    Every certificate must be valid at ``at``; every issuer a CA (basicConstraints cA TRUE)
    with keyCertSign whose pathLenConstraint admits the CA certificates below it; each
    signature must verify; the last certificate must be self-signed and verify itself.
    """
    if not chain:
        raise ValueError("a chain needs at least the root certificate")
    path = [leaf, *chain]
    for cert in path:
        check_validity(cert, at)
    for depth, (cert, issuer) in enumerate(itertools.pairwise(path)):
        bc = issuer.extensions.get(BasicConstraints)
        if bc is None or not bc.ca:
            raise CertificateInvalid(f"issuer {_label(issuer)} is not a CA (basicConstraints)")
        require_key_usage(issuer, KeyUsageBit.KEY_CERT_SIGN)
        # CA certificates strictly below this issuer, the leaf excluded (RFC 5280 §4.2.1.9).
        cas_below = depth
        if bc.path_length is not None and cas_below > bc.path_length:
            raise CertificateInvalid(
                f"issuer {_label(issuer)} allows {bc.path_length} CA certificates below it, "
                f"the chain has {cas_below}"
            )
        verify_issued_by(cert, issuer)
    root = path[-1]
    if not root.is_self_issued:
        raise CertificateInvalid(f"the last certificate {_label(root)} is not self-signed")
    verify_issued_by(root, root)


__all__ = [
    "CertificateInvalid",
    "check_validity",
    "require_crl_issuer",
    "require_key_usage",
    "verify_chain",
    "verify_issued_by",
    "verify_request",
]

"""The issuing CA as one value: its signing key (in the HSM), its certificate and configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from atlas_ca.errors import CertificateKeyMismatch
from atlas_ca.hsm import open_key
from atlas_ca.hsm.base import SigningKey
from atlas_ca.profiles.config import CaConfig
from atlas_ca.storage.ports import IssuerKeyId
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import issuer_facts
from atlas_ca.x509.keys import public_key_source


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA that issues: ``key`` signs, ``certificate`` names it, ``config`` says how.

    The key must be the certificate's key, and the certificate a CA certificate; the register
    knows the CA by :attr:`issuer_id` (the certificate's subjectKeyIdentifier, which is also
    the authorityKeyIdentifier of everything it issues and of its CRLs).
    """

    key: SigningKey = field(repr=False)
    certificate: Certificate
    config: CaConfig = field(repr=False)
    issuer_id: IssuerKeyId = field(init=False)

    def __post_init__(self) -> None:
        if self.key.public_key_info != self.certificate.public_key_info:
            raise CertificateKeyMismatch(
                "the CA key is not the key of the CA certificate (check [ca] key_uri and "
                "certificate: they name different keys)"
            )
        if not self.certificate.is_ca:
            raise ValueError("the CA certificate has no basicConstraints cA=TRUE")
        facts = issuer_facts(self.certificate.der)
        object.__setattr__(self, "issuer_id", IssuerKeyId.from_bytes(facts.key_identifier))

    @classmethod
    def open(
        cls, key_uri: str, certificate: bytes, config: CaConfig, *, pin: str | None = None
    ) -> CertificateAuthority:
        """The CA whose key ``key_uri`` names (``pkcs11:`` or ``file:``) and whose certificate
        is ``certificate`` (PEM or DER)."""
        with public_key_source("CA certificate"):
            parsed = Certificate.load(certificate)
        return cls(open_key(key_uri, pin=pin), parsed, config)


__all__ = ["CertificateAuthority"]

"""Key types and signature algorithms shared by the HSM, x509 and profile layers."""

from __future__ import annotations

import enum

from atlas_ca.asn1.oids import GostAlgorithm, Oid, PublicKeyAlgorithm, SignatureAlgorithmOid


class KeyType(enum.Enum):
    """The family (and size) of a key pair."""

    GOST3410_2012_256 = "gost2012-256"
    GOST3410_2012_512 = "gost2012-512"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    ED25519 = "ed25519"
    RSA = "rsa"
    GOST3410_2001 = "gost2001"
    """GOST R 34.10-2001 (RFC 4491): read and shown only, never generated, signed or issued."""

    @property
    def is_gost(self) -> bool:
        """A GOST R 34.10-2012 key (what qualified certificates carry)."""
        return self in (KeyType.GOST3410_2012_256, KeyType.GOST3410_2012_512)

    @property
    def read_only(self) -> bool:
        """Recognised on input only: no backend generates or signs with it."""
        return self is KeyType.GOST3410_2001


class SignatureAlgorithm(enum.Enum):
    """A signature algorithm as it appears in X.509 ``signatureAlgorithm``.

    ``value`` is a stable short name; ``oid`` the AlgorithmIdentifier OID; ``null_params`` says
    whether the AlgorithmIdentifier carries an explicit NULL (RSA, RFC 4055 §5) or no
    parameters at all (GOST, RFC 9215 §3.2; ECDSA, RFC 5758 §3.2; Ed25519, RFC 8410 §3).
    """

    GOST3410_2012_256 = "gost2012-256-streebog256"
    GOST3410_2012_512 = "gost2012-512-streebog512"
    ECDSA_SHA256 = "ecdsa-sha256"
    ECDSA_SHA384 = "ecdsa-sha384"
    ED25519 = "ed25519"
    RSA_SHA256 = "rsa-pkcs1v15-sha256"
    GOST3410_2001 = "gost2001-gost94"
    """GOST R 34.10-2001 with GOST R 34.11-94 (RFC 4491): read only, never verified or used."""

    @property
    def oid(self) -> Oid:
        return _SIG_OIDS[self]

    @property
    def null_params(self) -> bool:
        return self is SignatureAlgorithm.RSA_SHA256

    @classmethod
    def from_oid(cls, dotted: str) -> SignatureAlgorithm | None:
        for alg, oid in _SIG_OIDS.items():
            if oid.dotted == dotted:
                return alg
        return None


_SIG_OIDS: dict[SignatureAlgorithm, Oid] = {
    SignatureAlgorithm.GOST3410_2012_256: GostAlgorithm.SIGN_WITH_GOST3411_2012_256,
    SignatureAlgorithm.GOST3410_2012_512: GostAlgorithm.SIGN_WITH_GOST3411_2012_512,
    SignatureAlgorithm.ECDSA_SHA256: SignatureAlgorithmOid.ECDSA_WITH_SHA256,
    SignatureAlgorithm.ECDSA_SHA384: SignatureAlgorithmOid.ECDSA_WITH_SHA384,
    SignatureAlgorithm.ED25519: SignatureAlgorithmOid.ED25519,
    SignatureAlgorithm.RSA_SHA256: SignatureAlgorithmOid.SHA256_WITH_RSA,
    SignatureAlgorithm.GOST3410_2001: GostAlgorithm.SIGN_WITH_GOST3411_94_2001,
}

#: The signature algorithm a key of each type signs with by default.
DEFAULT_SIGNATURE: dict[KeyType, SignatureAlgorithm] = {
    KeyType.GOST3410_2012_256: SignatureAlgorithm.GOST3410_2012_256,
    KeyType.GOST3410_2012_512: SignatureAlgorithm.GOST3410_2012_512,
    KeyType.EC_P256: SignatureAlgorithm.ECDSA_SHA256,
    KeyType.EC_P384: SignatureAlgorithm.ECDSA_SHA384,
    KeyType.ED25519: SignatureAlgorithm.ED25519,
    KeyType.RSA: SignatureAlgorithm.RSA_SHA256,
}

__all__ = ["DEFAULT_SIGNATURE", "KeyType", "PublicKeyAlgorithm", "SignatureAlgorithm"]

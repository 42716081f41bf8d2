"""Test-only signing keys in memory (GOST through atlas_ca.gost, others through cryptography).

Used where the signing backend is not what a test is about; the interop tests sign with the real
backends of atlas_ca.hsm (SoftHSM for GOST 256 CryptoPro-A, the software backend for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from atlas_ca import gost
from atlas_ca.algorithms import DEFAULT_SIGNATURE, KeyType, SignatureAlgorithm


@dataclass(frozen=True)
class MemoryKey:
    key_type: KeyType
    public_key_info: bytes
    _gost: tuple[gost.ParamSet, int] | None = field(default=None, repr=False)
    _other: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | None = field(
        default=None, repr=False
    )

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return DEFAULT_SIGNATURE[self.key_type]

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        if self._gost is not None:
            ps, d = self._gost
            return gost.sign(ps, d, data)
        if isinstance(self._other, ec.EllipticCurvePrivateKey):
            return self._other.sign(data, ec.ECDSA(hashes.SHA256()))
        assert isinstance(self._other, ed25519.Ed25519PrivateKey)
        return self._other.sign(data)

    def private_pem(self) -> bytes:
        """PKCS#8 PEM for OpenSSL (non-GOST keys only)."""
        assert self._other is not None
        return self._other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def gost_key(param_set_name: str) -> MemoryKey:
    ps = gost.param_set(param_set_name)
    d = gost.generate_private_scalar(ps)
    pub = gost.public_key_from_private(ps, d)
    return MemoryKey(pub.key_type, pub.spki_der(), _gost=(ps, d))


def _spki(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ecdsa_key() -> MemoryKey:
    k = ec.generate_private_key(ec.SECP256R1())
    return MemoryKey(KeyType.EC_P256, _spki(k), _other=k)


def ed25519_key() -> MemoryKey:
    k = ed25519.Ed25519PrivateKey.generate()
    return MemoryKey(KeyType.ED25519, _spki(k), _other=k)

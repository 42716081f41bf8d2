"""Test-only signing keys and CA certificates for the CRL tests (cryptography's ECDSA/Ed25519).

The real backends live in atlas_ca.hsm; these stand-ins implement the same SigningKey /
PrehashSigningKey Protocols so the CRL code is exercised through its ports.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509 import der

#: An hour ago, so external verifiers (certtool) accept thisUpdate as not in the future.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass(frozen=True)
class EcdsaKey:
    """ECDSA P-256 with the optional prehash ability (hashlib SHA-256 as the hasher)."""

    private: ec.EllipticCurvePrivateKey

    @property
    def key_type(self) -> KeyType:
        return KeyType.EC_P256

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return SignatureAlgorithm.ECDSA_SHA256

    @property
    def public_key_info(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def new_hasher(self) -> hashlib._Hash:
        return hashlib.sha256()

    def sign_digest(self, digest: bytes) -> bytes:
        return self.private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))


@dataclass(frozen=True)
class Ed25519Key:
    """Ed25519: no prehash ability, so the CRL builder must materialise the TBS."""

    private: ed25519.Ed25519PrivateKey

    @property
    def key_type(self) -> KeyType:
        return KeyType.ED25519

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return SignatureAlgorithm.ED25519

    @property
    def public_key_info(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def new_ecdsa_key() -> EcdsaKey:
    return EcdsaKey(ec.generate_private_key(ec.SECP256R1()))


def new_ed25519_key() -> Ed25519Key:
    return Ed25519Key(ed25519.Ed25519PrivateKey.generate())


@dataclass(frozen=True)
class GostKey:
    """GOST R 34.10-2012 through atlas_ca.gost, with the prehash ability (Streebog hasher)."""

    param_set: gost.ParamSet
    d: int

    @property
    def key_type(self) -> KeyType:
        return (
            KeyType.GOST3410_2012_256 if self.param_set.bits == 256 else KeyType.GOST3410_2012_512
        )

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        if self.param_set.bits == 256:
            return SignatureAlgorithm.GOST3410_2012_256
        return SignatureAlgorithm.GOST3410_2012_512

    @property
    def public_key_info(self) -> bytes:
        return gost.public_key_from_private(self.param_set, self.d).spki_der()

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        return gost.sign(self.param_set, self.d, data)

    def new_hasher(self) -> gost.Streebog:
        return gost.Streebog(self.param_set.bits // 8)

    def sign_digest(self, digest: bytes) -> bytes:
        return gost.sign_digest(self.param_set, self.d, digest)


def new_gost_key(name: str) -> GostKey:
    ps = gost.param_set(name)
    return GostKey(ps, gost.generate_private_scalar(ps))


def name_der(cn: str, org: str = 'АО "Сервер-Центр"') -> bytes:
    """A Name C=RU, O=org, CN=cn (UTF8String values) built by hand."""

    def rdn(oid: str, value: bytes) -> bytes:
        return der.tlv(der.SET, der.encode_sequence(der.encode_oid(oid), value))

    return der.encode_sequence(
        rdn("2.5.4.6", der.tlv(0x13, b"RU")),
        rdn("2.5.4.10", der.tlv(0x0C, org.encode())),
        rdn("2.5.4.3", der.tlv(0x0C, cn.encode())),
    )


def _ext(oid: str, critical: bool, value: bytes) -> bytes:
    return der.encode_sequence(
        der.encode_oid(oid),
        der.encode_boolean(True) if critical else b"",
        der.encode_octet_string(value),
    )


def make_ca(key: SigningKey, cn: str = "Атлас тест УЦ", *, with_ski: bool = True) -> bytes:
    """A self-signed CA certificate (DER) for ``key``: basicConstraints, keyUsage, SKI."""
    spki = key.public_key_info
    alg = key.signature_algorithm
    alg_id = der.encode_sequence(der.encode_oid(alg.oid.dotted))
    subject = name_der(cn)
    parts = der.read_children(
        spki, 2 if spki[1] < 0x80 else 2 + (spki[1] & 0x7F), len(spki), "spki"
    )
    ski = hashlib.sha1(spki[parts[1][2] + 1 : parts[1][3]]).digest()
    exts = [
        _ext("2.5.29.19", True, der.encode_sequence(der.encode_boolean(True))),
        _ext("2.5.29.15", True, der.tlv(der.BIT_STRING, b"\x01\x06")),  # keyCertSign, cRLSign
    ]
    if with_ski:
        exts.append(_ext("2.5.29.14", False, der.encode_octet_string(ski)))
    tbs = der.encode_sequence(
        der.tlv(0xA0, der.encode_integer(2)),
        der.encode_integer(int.from_bytes(os.urandom(16), "big") >> 1 | 1),
        alg_id,
        subject,
        der.encode_sequence(
            der.encode_time(NOW - timedelta(days=1)), der.encode_time(NOW + timedelta(days=3650))
        ),
        subject,
        spki,
        der.tlv(0xA3, der.encode_sequence(*exts)),
    )
    return der.encode_sequence(tbs, alg_id, der.encode_bit_string(key.sign(tbs)))


def der_to_pem(data: bytes, label: str = "CERTIFICATE") -> bytes:
    b64 = base64.b64encode(data)
    lines = b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    tag = label.encode()
    return b"-----BEGIN " + tag + b"-----\n" + lines + b"\n-----END " + tag + b"-----\n"

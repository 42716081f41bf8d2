"""One fingerprint per public key, whatever the encoding of its SubjectPublicKeyInfo.

The register refuses to certify a key twice (63-ФЗ ст. 13; ``issuance_intents_key``, schema v5),
so the fingerprint must not change when the same key is presented differently. A GOST key's
SubjectPublicKeyInfo varies without the key changing: the digestParamSet may be present or
absent (:meth:`~atlas_ca.gost.GostPublicKey.from_spki_der` accepts both), and one curve has
two names (CryptoPro-A = TC26 256 paramSetB, …). So a GOST key is hashed as its curve's
numbers (p, a, b, q, base point) and its point, not as DER. Other keys (RSA, ECDSA, Ed25519)
are re-encoded by ``cryptography`` into their one DER form first.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.signatures import gost_public_key

_GOST_TAG = b"GOST R 34.10-2012 point\x00"
_OTHER_TAG = b"SubjectPublicKeyInfo\x00"


def public_key_fingerprint(info: PublicKeyInfo) -> bytes:
    """SHA-256 of the canonical form of ``info``'s key (32 bytes)."""
    if info.key_type.is_gost:
        key = gost_public_key(info.der)
        curve = key.param_set
        size = curve.bits // 8
        numbers = (curve.p, curve.a, curve.b, curve.q, curve.x, curve.y, key.x, key.y)
        return hashlib.sha256(
            _GOST_TAG + b"".join(n.to_bytes(size, "big") for n in numbers)
        ).digest()
    canonical = load_der_public_key(info.der).public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(_OTHER_TAG + canonical).digest()


__all__ = ["public_key_fingerprint"]

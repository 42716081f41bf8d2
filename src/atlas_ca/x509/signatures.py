"""Verify one signature over bytes with the public key of a SubjectPublicKeyInfo.

GOST R 34.10-2012 goes through :mod:`atlas_ca.gost`; RSA, ECDSA and Ed25519 through
``cryptography``. Every failure is one of our errors: :class:`~atlas_ca.errors.DecodeError` when
the key cannot be read, :class:`~atlas_ca.errors.SignatureInvalid` when the signature does not
verify or the algorithm does not fit the key.
"""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.errors import AtlasCaError, DecodeError, SignatureInvalid

_GOST_KEY_FOR: dict[SignatureAlgorithm, KeyType] = {
    SignatureAlgorithm.GOST3410_2012_256: KeyType.GOST3410_2012_256,
    SignatureAlgorithm.GOST3410_2012_512: KeyType.GOST3410_2012_512,
}

_GOST_KEYS = frozenset(
    {oids.GostAlgorithm.GOST3410_2012_256.dotted, oids.GostAlgorithm.GOST3410_2012_512.dotted}
)

_ECDSA_HASH: dict[SignatureAlgorithm, type[hashes.HashAlgorithm]] = {
    SignatureAlgorithm.ECDSA_SHA256: hashes.SHA256,
    SignatureAlgorithm.ECDSA_SHA384: hashes.SHA384,
}


def verify_signature(
    spki_der: bytes, algorithm: SignatureAlgorithm, data: bytes, signature: bytes
) -> None:
    """Check that ``signature`` is ``algorithm``'s signature of ``data`` by the key in ``spki_der``.

    ``signature`` is the content of an X.509 ``signatureValue`` BIT STRING (for GOST ``s || r``
    big-endian, for ECDSA the DER ``Ecdsa-Sig-Value``). Returns ``None`` on success.
    """
    gost_key = _key_algorithm(spki_der) in _GOST_KEYS
    if gost_key != (algorithm in _GOST_KEY_FOR):
        kind = "a GOST" if gost_key else "a non-GOST"
        raise SignatureInvalid(
            f"signature algorithm {algorithm.value} does not fit {kind} key",
            algorithm=algorithm.value,
        )
    if gost_key:
        _verify_gost(spki_der, algorithm, data, signature)
    else:
        _verify_other(spki_der, algorithm, data, signature)


def _key_algorithm(spki_der: bytes) -> str:
    try:
        info = asn1_keys.PublicKeyInfo.load(bytes(spki_der), strict=True)
        return str(info["algorithm"]["algorithm"].dotted)
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"SubjectPublicKeyInfo is malformed: {exc}") from exc


def _verify_gost(
    spki_der: bytes, algorithm: SignatureAlgorithm, data: bytes, signature: bytes
) -> None:
    try:
        pub = gost.GostPublicKey.from_spki_der(spki_der)
    except AtlasCaError as exc:
        raise DecodeError(f"cannot read the GOST public key: {exc}") from exc
    if pub.key_type is not _GOST_KEY_FOR[algorithm]:
        raise SignatureInvalid(
            f"signature algorithm {algorithm.value} does not fit a {pub.key_type.value} key",
            algorithm=algorithm.value,
        )
    try:
        ok = gost.verify(pub, data, signature)
    except AtlasCaError as exc:
        raise SignatureInvalid(f"{algorithm.value} signature is malformed: {exc}") from exc
    if not ok:
        raise SignatureInvalid(
            f"{algorithm.value} signature does not verify with the given public key",
            algorithm=algorithm.value,
        )


def _verify_other(
    spki_der: bytes, algorithm: SignatureAlgorithm, data: bytes, signature: bytes
) -> None:
    try:
        key = load_der_public_key(spki_der)
    except UnsupportedAlgorithm as exc:
        raise DecodeError(f"public key algorithm or curve is not supported: {exc}") from exc
    except ValueError as exc:
        raise DecodeError(f"cannot read the public key: {exc}") from exc
    try:
        if algorithm in _ECDSA_HASH and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_ECDSA_HASH[algorithm]()))
        elif algorithm is SignatureAlgorithm.ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif algorithm is SignatureAlgorithm.RSA_SHA256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureInvalid(
                f"signature algorithm {algorithm.value} does not fit a "
                f"{type(key).__name__.removeprefix('_')} key",
                algorithm=algorithm.value,
            )
    except InvalidSignature as exc:
        raise SignatureInvalid(
            f"{algorithm.value} signature does not verify with the given public key",
            algorithm=algorithm.value,
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureInvalid(f"{algorithm.value} signature is malformed: {exc}") from exc


__all__ = ["verify_signature"]

"""Verify one signature over bytes with the public key of a SubjectPublicKeyInfo.

GOST R 34.10-2012 goes through :mod:`atlas_ca.gost`; RSA, ECDSA and Ed25519 through
``cryptography``. Every failure is one of our errors: :class:`~atlas_ca.errors.DecodeError` when
the key cannot be read, :class:`~atlas_ca.errors.SignatureInvalid` when the signature does not
verify or the algorithm does not fit the key.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.errors import AtlasCaError, DecodeError, InvalidPublicKey, SignatureInvalid
from atlas_ca.x509.der import check_der, children, decode_oid, split_tlv

_GOST_KEY_FOR: dict[SignatureAlgorithm, KeyType] = {
    SignatureAlgorithm.GOST3410_2012_256: KeyType.GOST3410_2012_256,
    SignatureAlgorithm.GOST3410_2012_512: KeyType.GOST3410_2012_512,
}

_GOST_KEYS = frozenset(
    {oids.GostAlgorithm.GOST3410_2012_256.dotted, oids.GostAlgorithm.GOST3410_2012_512.dotted}
)

_GOST_2001 = oids.GostAlgorithm.GOST3410_2001.dotted

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
    spki_der = bytes(spki_der)
    key_alg = spki_algorithm(spki_der)
    if algorithm is SignatureAlgorithm.GOST3410_2001 or key_alg == _GOST_2001:
        raise SignatureInvalid(
            "GOST R 34.10-2001 signatures are not verified here (GOST R 34.11-94 digest; "
            "not for qualified use since 2019-01-01)",
            algorithm=algorithm.value,
        )
    gost_key = key_alg in _GOST_KEYS
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


@functools.lru_cache(maxsize=1024)
def spki_algorithm(spki_der: bytes) -> str:
    """The dotted algorithm OID of a SubjectPublicKeyInfo (cached: the same keys recur)."""
    check_der(spki_der, "SubjectPublicKeyInfo")
    tag, content = split_tlv(spki_der)
    parts = children(content, "SubjectPublicKeyInfo")
    if tag != 0x30 or len(parts) != 2 or parts[0][0] != 0x30 or parts[1][0] != 0x03:
        raise DecodeError("SubjectPublicKeyInfo is not SEQUENCE { algorithm, BIT STRING }")
    alg = children(parts[0][2], "SubjectPublicKeyInfo algorithm")
    if not alg or alg[0][0] != 0x06:
        raise DecodeError("SubjectPublicKeyInfo algorithm does not start with an OID")
    return decode_oid(alg[0][2], "SubjectPublicKeyInfo algorithm")


@functools.lru_cache(maxsize=1024)
def gost_public_key(spki_der: bytes) -> gost.GostPublicKey:
    """The GOST public key of a SubjectPublicKeyInfo (cached; the value is immutable).

    A point off the curve, at infinity or outside the prime-order subgroup raises
    :class:`~atlas_ca.errors.InvalidPublicKey` (a :class:`DecodeError`) as it is.
    """
    try:
        return gost.GostPublicKey.from_spki_der(spki_der)
    except InvalidPublicKey:
        raise
    except AtlasCaError as exc:
        raise DecodeError(f"GOST public key is invalid: {exc}") from exc


def gost_digest(algorithm: SignatureAlgorithm, data: bytes) -> bytes:
    """The Streebog digest a GOST ``algorithm`` signs for ``data`` (256 or 512 by the algorithm)."""
    if algorithm is SignatureAlgorithm.GOST3410_2012_256:
        return gost.streebog256(data)
    if algorithm is SignatureAlgorithm.GOST3410_2012_512:
        return gost.streebog512(data)
    raise ValueError(f"{algorithm.value} is not a GOST R 34.10-2012 signature algorithm")


def verify_gost_digest(
    spki_der: bytes, algorithm: SignatureAlgorithm, digest: bytes, signature: bytes
) -> None:
    """:func:`verify_signature` for a GOST signature whose Streebog ``digest`` is already known.

    For a caller that has just hashed the data to have it signed (:func:`gost_digest`): the
    curve arithmetic of the verification runs in full, only the second pass of Streebog over the
    same bytes is saved.
    """
    spki_der = bytes(spki_der)
    if algorithm not in _GOST_KEY_FOR:
        raise ValueError(f"{algorithm.value} is not a GOST R 34.10-2012 signature algorithm")
    if spki_algorithm(spki_der) not in _GOST_KEYS:
        raise SignatureInvalid(
            f"signature algorithm {algorithm.value} does not fit a non-GOST key",
            algorithm=algorithm.value,
        )
    _verify_gost(spki_der, algorithm, None, signature, digest=digest)


def _verify_gost(
    spki_der: bytes,
    algorithm: SignatureAlgorithm,
    data: bytes | None,
    signature: bytes,
    *,
    digest: bytes | None = None,
) -> None:
    pub = gost_public_key(spki_der)
    if pub.key_type is not _GOST_KEY_FOR[algorithm]:
        raise SignatureInvalid(
            f"signature algorithm {algorithm.value} does not fit a {pub.key_type.value} key",
            algorithm=algorithm.value,
        )
    try:
        if digest is None:
            assert data is not None
            ok = gost.verify(pub, data, signature)
        else:
            ok = gost.verify_digest(pub, digest, signature)
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


__all__ = [
    "gost_digest",
    "gost_public_key",
    "spki_algorithm",
    "verify_gost_digest",
    "verify_signature",
]

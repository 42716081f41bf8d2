"""SubjectPublicKeyInfo as a typed value: which key type, which curve or parameter set.

:meth:`PublicKeyInfo.from_der` validates the key fully (GOST point on its curve through
:mod:`atlas_ca.gost`; RSA, ECDSA and Ed25519 through ``cryptography``), so a key on an unknown
curve or with a bad point is refused with a :class:`~atlas_ca.errors.DecodeError` before anything
else looks at it. A GOST point off the curve, at infinity or outside the prime-order subgroup
(cofactor-4 sets) is :class:`~atlas_ca.errors.InvalidPublicKey` /
:class:`~atlas_ca.errors.WeakPublicKey`, naming the entry point in its ``where`` context.

:func:`accept_public_key` is the one function an entry point that takes a key from outside
(a CSR, a signer certificate of OCSP/TSA/attestation, a key read back from a token, an imported
CA certificate) calls; :func:`public_key_source` names the entry point around a parser call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError, InvalidPublicKey
from atlas_ca.x509.der import check_der
from atlas_ca.x509.signatures import gost_public_key, spki_algorithm

_GOST_ALGS = {
    oids.GostAlgorithm.GOST3410_2012_256.dotted,
    oids.GostAlgorithm.GOST3410_2012_512.dotted,
}
_CURVES: dict[str, KeyType] = {"secp256r1": KeyType.EC_P256, "secp384r1": KeyType.EC_P384}
_MAX_RSA_BITS = 16384


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """A validated SubjectPublicKeyInfo.

    ``parameters`` names the GOST parameter set (``"cryptopro-a"``, ``"tc26-512-a"``...), the
    elliptic curve (``"secp256r1"``), or the RSA modulus size (``"2048-bit"``); ``None`` for
    Ed25519.
    """

    der: bytes
    key_type: KeyType
    parameters: str | None

    @classmethod
    def from_der(cls, der: bytes, *, where: str | None = None) -> PublicKeyInfo:
        der = bytes(der)
        check_der(der, "SubjectPublicKeyInfo")
        return cls.from_checked_der(der, where=where)

    @classmethod
    def from_checked_der(cls, der: bytes, *, where: str | None = None) -> PublicKeyInfo:
        """:meth:`from_der` for bytes inside a structure already checked by ``check_der``.

        ``where`` names the input the key came from in an :class:`InvalidPublicKey`.
        """
        alg = spki_algorithm(der)
        if alg in _GOST_ALGS:
            try:
                pub = gost_public_key(der)
            except InvalidPublicKey as exc:
                if where is None:
                    raise
                raise exc.at(where) from exc
            return cls(der, pub.key_type, pub.param_set.name)
        try:
            key = load_der_public_key(der)
        except UnsupportedAlgorithm as exc:
            raise DecodeError(
                f"public key algorithm {alg} or its curve is not supported: {exc}"
            ) from exc
        except ValueError as exc:
            raise DecodeError(f"public key ({alg}) cannot be read: {exc}") from exc
        if isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.name not in _CURVES:
                raise DecodeError(f"elliptic curve {key.curve.name} is not supported")
            return cls(der, _CURVES[key.curve.name], key.curve.name)
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(der, KeyType.ED25519, None)
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size > _MAX_RSA_BITS:
                raise DecodeError(f"RSA key of {key.key_size} bits exceeds {_MAX_RSA_BITS}")
            return cls(der, KeyType.RSA, f"{key.key_size}-bit")
        raise DecodeError(f"public key algorithm {alg} is not supported")

    def fits(self, algorithm: SignatureAlgorithm) -> bool:
        """True if this key signs with ``algorithm``."""
        return _FITS.get(algorithm) == self.key_type or (
            algorithm in (SignatureAlgorithm.ECDSA_SHA256, SignatureAlgorithm.ECDSA_SHA384)
            and self.key_type in (KeyType.EC_P256, KeyType.EC_P384)
        )

    def describe(self) -> str:
        return self.key_type.value + (f" ({self.parameters})" if self.parameters else "")


def accept_public_key(spki_der: bytes, where: str) -> PublicKeyInfo:
    """The checked key of ``spki_der``, which came from outside through ``where``.

    Refuses, with a :class:`~atlas_ca.errors.DecodeError` subclass, anything
    :meth:`PublicKeyInfo.from_der` refuses: for GOST a point off the curve, at infinity or
    outside the prime-order subgroup (:class:`~atlas_ca.errors.WeakPublicKey`, context
    ``param_set``, ``problem``, ``where``). Parsed certificates and requests have already been
    through it (their parsers build a :class:`PublicKeyInfo`); call it for a key that arrives
    as bare bytes, and name the entry point (``"OCSP signer certificate"``, ...).
    """
    return PublicKeyInfo.from_der(spki_der, where=where)


@contextmanager
def public_key_source(where: str) -> Iterator[None]:
    """Name the entry point ``where`` in an :class:`InvalidPublicKey` raised inside the block.

    For parser calls (``Certificate.from_der`` of a signer certificate, a key read back from a
    token): the error says which input carried the refused key. Other errors pass unchanged.
    """
    try:
        yield
    except InvalidPublicKey as exc:
        raise exc.at(where) from exc


_FITS = {
    SignatureAlgorithm.GOST3410_2012_256: KeyType.GOST3410_2012_256,
    SignatureAlgorithm.GOST3410_2012_512: KeyType.GOST3410_2012_512,
    SignatureAlgorithm.ED25519: KeyType.ED25519,
    SignatureAlgorithm.RSA_SHA256: KeyType.RSA,
}


__all__ = ["PublicKeyInfo", "accept_public_key", "public_key_source"]

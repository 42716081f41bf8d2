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
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1 import oids
from atlas_ca.errors import AtlasCaError, DecodeError, InvalidPublicKey
from atlas_ca.gost import PARAM_SETS, TEST_PARAM_SETS, GostPublicKey
from atlas_ca.x509.der import check_der, encode_oid
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
        known = _ACCEPTED.get(der)
        if known is not None:  # these exact bytes were read and accepted (issue 17)
            return known
        check_der(der, "SubjectPublicKeyInfo")
        return cls.from_checked_der(der, where=where)

    @classmethod
    def from_checked_der(cls, der: bytes, *, where: str | None = None) -> PublicKeyInfo:
        """:meth:`from_der` for bytes inside a structure already checked by ``check_der``.

        ``where`` names the input the key came from in an :class:`InvalidPublicKey`.

        Issue 17: an issuance reads its subject's key from the CSR, then planning's key check
        and the pre-issuance lint read the same bytes again. The keys last accepted are kept,
        by their exact bytes (:data:`_ACCEPTED`, at most :data:`_ACCEPTED_MAX`; the value is
        frozen and depends on the bytes only, ``where`` names the input of a refusal); a
        refused key is read in full every time.
        """
        if type(der) is not bytes:
            return cls._read(der, where)
        known = _ACCEPTED.get(der)
        if known is None:
            known = cls._read(der, where)
            if len(_ACCEPTED) >= _ACCEPTED_MAX:
                _ACCEPTED.clear()
            _ACCEPTED[der] = known
        return known

    @classmethod
    def _read(cls, der: bytes, where: str | None) -> PublicKeyInfo:
        alg = spki_algorithm(der)
        if alg == _GOST_2001 or (alg in _GOST_ALGS and _on_test_curve(der)):
            return cls(der, *_read_only_gost(der))
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

    @property
    def on_test_curve(self) -> bool:
        """A key on one of the standard's example curves (RFC 9215 Appendix A)."""
        return self.parameters is not None and TEST_CURVE_NOTE in self.parameters

    @property
    def verifiable(self) -> bool:
        """Whether :func:`~atlas_ca.x509.signatures.verify_signature` can check this key's
        signatures (not a GOST R 34.10-2001 key, not a test curve)."""
        return not self.key_type.read_only and not self.on_test_curve

    def describe(self) -> str:
        return self.key_type.value + (f" ({self.parameters})" if self.parameters else "")


#: Keys accepted by :meth:`PublicKeyInfo.from_checked_der`, by their exact DER; emptied when
#: full (a new key per issuance: each request reads its key three times within milliseconds).
_ACCEPTED: dict[bytes, PublicKeyInfo] = {}
_ACCEPTED_MAX = 256


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


_GOST_2001 = oids.GostAlgorithm.GOST3410_2001.dotted
_TEST_SETS = frozenset(
    o.dotted for o in vars(oids.GostTestParamSet).values() if isinstance(o, oids.Oid)
)
#: How ``show`` names a key on one of the standard's example curves.
TEST_CURVE_NOTE = "GOST test parameter set: the standard's examples, never a real key"


#: The DER of each test set's OID: a key on a test curve carries one of them. A substring test
#: over the ~100 bytes of an SPKI costs well under a microsecond; only when it matches (a test
#: key, or by chance the point's bytes) does asn1crypto decode the SPKI (≈ 50 µs) to decide. The
#: issuance path reads a new GOST key per request (issue 17).
_TEST_SET_DERS = tuple(encode_oid(dotted) for dotted in sorted(_TEST_SETS))


def _on_test_curve(der: bytes) -> bool:
    if not any(oid in der for oid in _TEST_SET_DERS):
        return False
    try:
        return asn1_gost.decode_spki(der).public_key_param_set in _TEST_SETS
    except AtlasCaError:
        return False


def _read_only_gost(der: bytes) -> tuple[KeyType, str]:
    """A GOST R 34.10-2001 key, or a 2012 key on a test curve (RFC 9215's examples): read, its
    point checked on its curve, and named; no signing or issuance path accepts either."""
    try:
        parts = asn1_gost.decode_spki(der, legacy=True)
        by_oid = {ps.oid.dotted: ps for ps in (*PARAM_SETS, *TEST_PARAM_SETS)}
        ps = by_oid.get(parts.public_key_param_set)
        if ps is None:
            raise DecodeError(f"GOST parameter set {parts.public_key_param_set} is unknown")
        GostPublicKey.from_bytes(ps, parts.point)
    except DecodeError:
        raise
    except AtlasCaError as exc:
        raise DecodeError(f"GOST public key is invalid: {exc}") from exc
    name = f"{ps.name} ({TEST_CURVE_NOTE})" if ps in TEST_PARAM_SETS else ps.name
    if parts.algorithm == _GOST_2001:
        if ps.bits != 256:
            raise DecodeError("a GOST R 34.10-2001 key is 256-bit")
        return KeyType.GOST3410_2001, name
    return (KeyType.GOST3410_2012_256 if ps.bits == 256 else KeyType.GOST3410_2012_512), name


_FITS = {
    SignatureAlgorithm.GOST3410_2012_256: KeyType.GOST3410_2012_256,
    SignatureAlgorithm.GOST3410_2012_512: KeyType.GOST3410_2012_512,
    SignatureAlgorithm.GOST3410_2001: KeyType.GOST3410_2001,
    SignatureAlgorithm.ED25519: KeyType.ED25519,
    SignatureAlgorithm.RSA_SHA256: KeyType.RSA,
}


__all__ = ["PublicKeyInfo", "accept_public_key", "public_key_source"]

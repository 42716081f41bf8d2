"""GOST R 34.10-2012 public keys and their encodings (RFC 9215 §4, PKCS#11 ``CKA_VALUE``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.errors import InvalidKey, UnknownParameterSet
from atlas_ca.gost import _pure
from atlas_ca.gost.params import PARAM_SETS, ParamSet, param_set

_prefix_lock = threading.Lock()
_canonical_prefix: dict[ParamSet, bytes] = {}
_accepted_prefix: dict[bytes, ParamSet] = {}


def _spki_prefixes() -> tuple[dict[ParamSet, bytes], dict[bytes, ParamSet]]:
    """The DER of GOST SubjectPublicKeyInfos up to the point, which is their last field.

    ``canonical`` is what :meth:`GostPublicKey.spki_der` writes for each production set;
    ``accepted`` maps each prefix :meth:`GostPublicKey.from_spki_der` accepts (digestParamSet
    absent, or present with the set's own Streebog) to its set. DER has one encoding per value,
    so a SubjectPublicKeyInfo is one of these prefixes followed by ``X||Y`` exactly when the
    general decoder would accept it with that set; anything else takes the general decoder.
    """
    with _prefix_lock:
        if not _canonical_prefix:
            for ps in PARAM_SETS:
                n, alg, curve = 2 * ps.size, ps.algorithm_oid.dotted, ps.oid.dotted
                mine = ps.digest_param_set.dotted if ps.digest_param_set is not None else None
                for digest in (None, ps.digest_oid.dotted):
                    prefix = asn1_gost.encode_spki(alg, curve, digest, bytes(n))[:-n]
                    _accepted_prefix[prefix] = ps
                    if digest == mine:
                        _canonical_prefix[ps] = prefix
        return _canonical_prefix, _accepted_prefix


@dataclass(frozen=True, slots=True)
class GostPublicKey:
    """A point ``(x, y)`` of ``param_set``'s curve; construction checks it is on the curve."""

    param_set: ParamSet
    x: int
    y: int

    def __post_init__(self) -> None:
        if not isinstance(self.param_set, ParamSet):
            raise TypeError(f"param_set must be a ParamSet, not {type(self.param_set).__name__}")
        if not (isinstance(self.x, int) and isinstance(self.y, int)):
            raise TypeError("public key coordinates must be int")
        if not self.param_set.contains(self.x, self.y):
            raise InvalidKey(
                f"public key is not a point of the {self.param_set.name} curve",
                param_set=self.param_set.name,
            )

    @property
    def key_type(self) -> KeyType:
        if self.param_set.bits == 256:
            return KeyType.GOST3410_2012_256
        return KeyType.GOST3410_2012_512

    def check_order(self) -> None:
        """Raise :class:`InvalidKey` unless ``q·P`` is the point at infinity.

        Construction only checks that the point is on the curve, which on the cofactor-1 sets
        already means it is in the prime-order group. On the cofactor-4 sets (TC26 256 paramSetA,
        512 paramSetC) a point may also carry a small-order component; call this where a key
        is accepted for certification (a few ms in pure Python, hence not on every parse).
        """
        if self.param_set.cofactor == 1:
            return
        if _pure.multiply(self.param_set, self.param_set.q, (self.x, self.y)) is not None:
            raise InvalidKey(
                f"public key is not in the prime-order subgroup of {self.param_set.name}",
                param_set=self.param_set.name,
            )

    def to_bytes(self) -> bytes:
        """``X||Y``, each little-endian: the SPKI OCTET STRING content and PKCS#11 CKA_VALUE."""
        n = self.param_set.size
        return self.x.to_bytes(n, "little") + self.y.to_bytes(n, "little")

    @classmethod
    def from_bytes(cls, param_set: ParamSet, raw: bytes) -> GostPublicKey:
        """The key whose ``X||Y`` little-endian encoding is ``raw``."""
        n = param_set.size
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise InvalidKey(f"public key must be bytes, not {type(raw).__name__}")
        raw = bytes(raw)
        if len(raw) != 2 * n:
            raise InvalidKey(
                f"a {param_set.bits}-bit GOST public key is {2 * n} bytes (X||Y), got {len(raw)}",
                param_set=param_set.name,
            )
        x = int.from_bytes(raw[:n], "little")
        y = int.from_bytes(raw[n:], "little")
        return cls(param_set, x, y)

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (RFC 9215 §4)."""
        ps = self.param_set
        prefix = _spki_prefixes()[0].get(ps)
        if prefix is not None:
            return prefix + self.to_bytes()
        digest = ps.digest_param_set.dotted if ps.digest_param_set is not None else None
        return asn1_gost.encode_spki(
            ps.algorithm_oid.dotted, ps.oid.dotted, digest, self.to_bytes()
        )

    @classmethod
    def from_spki_der(cls, der: bytes) -> GostPublicKey:
        """Parse a GOST SubjectPublicKeyInfo; every failure is :class:`InvalidKey`.

        The usual encodings (see :func:`_spki_prefixes`) are recognised by their exact bytes
        before the point, without asn1crypto; the point is checked on the curve either way.
        """
        if type(der) is bytes:
            accepted = _spki_prefixes()[1]
            for n in (64, 128):
                if len(der) > n:
                    ps = accepted.get(der[:-n])
                    if ps is not None and 2 * ps.size == n:
                        return cls.from_bytes(ps, der[-n:])
        parts = asn1_gost.decode_spki(der)
        try:
            ps = param_set(parts.public_key_param_set)
        except UnknownParameterSet as exc:
            raise InvalidKey(
                f"SubjectPublicKeyInfo names an unknown parameter set {parts.public_key_param_set}",
                param_set=parts.public_key_param_set,
            ) from exc
        if ps.algorithm_oid.dotted != parts.algorithm:
            raise InvalidKey(
                f"parameter set {ps.name} is {ps.bits}-bit but the algorithm is {parts.algorithm}",
                param_set=ps.name,
            )
        if parts.digest_param_set is not None and parts.digest_param_set != ps.digest_oid.dotted:
            raise InvalidKey(
                f"digestParamSet {parts.digest_param_set} does not match a {ps.bits}-bit key "
                f"(expected {ps.digest_oid.dotted} or none)",
                param_set=ps.name,
            )
        return cls.from_bytes(ps, parts.point)

    def __repr__(self) -> str:
        return f"GostPublicKey({self.param_set.name}, x={self.x:#x}, y={self.y:#x})"

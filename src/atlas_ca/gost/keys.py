"""GOST R 34.10-2012 public keys and their encodings (RFC 9215 §4, PKCS#11 ``CKA_VALUE``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.errors import InvalidKey, InvalidPublicKey, UnknownParameterSet, WeakPublicKey
from atlas_ca.gost.params import PARAM_SETS, ParamSet, param_set


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length, short or long form)."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _der(0x06, bytes(body))


def _spki_prefix_der(algorithm: str, curve: str, digest: str | None, n: int) -> bytes:
    """The DER of a GOST SubjectPublicKeyInfo (RFC 9215 §4) whose point is ``n`` bytes, up to
    the point: ``SEQUENCE { SEQUENCE { algorithm, SEQUENCE { curve [, digest] } },
    BIT STRING { OCTET STRING point } }``."""
    params = _der_oid(curve) + (_der_oid(digest) if digest is not None else b"")
    algorithm_id = _der(0x30, _der_oid(algorithm) + _der(0x30, params))
    placeholder = bytes(n)
    spki = _der(0x30, algorithm_id + _der(0x03, b"\x00" + _der(0x04, placeholder)))
    return spki[:-n]


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

    The prefixes are written by :func:`_spki_prefix_der` (the same bytes as
    ``asn1_gost.encode_spki``, tests/gost/test_gost_public_keys.py): building all of them
    through asn1crypto cost ≈ 6 ms of every process that opens or checks a GOST key — a CRL
    publication's (issue 17).
    """
    with _prefix_lock:
        if not _canonical_prefix:
            for ps in PARAM_SETS:
                n, alg, curve = 2 * ps.size, ps.algorithm_oid.dotted, ps.oid.dotted
                mine = ps.digest_param_set.dotted if ps.digest_param_set is not None else None
                for digest in (None, ps.digest_oid.dotted):
                    prefix = _spki_prefix_der(alg, curve, digest, n)
                    _accepted_prefix[prefix] = ps
                    if digest == mine:
                        _canonical_prefix[ps] = prefix
        return _canonical_prefix, _accepted_prefix


def _usual_spki(der: bytes) -> tuple[ParamSet, bytes] | None:
    """The parameter set and ``X||Y`` of a SubjectPublicKeyInfo in one of the usual encodings
    (an accepted prefix of :func:`_spki_prefixes` followed by a point of the set's size), read
    from its exact bytes; ``None`` for anything else (the general decoder decides)."""
    if type(der) is bytes:
        accepted = _spki_prefixes()[1]
        for n in (64, 128):
            if len(der) > n:
                ps = accepted.get(der[:-n])
                if ps is not None and 2 * ps.size == n:
                    return ps, der[-n:]
    return None


def spki_param_set_oid(der: bytes) -> str:
    """The dotted OID of the parameter set a GOST R 34.10-2012 SubjectPublicKeyInfo names:
    ``asn1_gost.decode_spki(der).public_key_param_set``, with the same refusals
    (:class:`InvalidKey`).

    The usual encodings are read from their exact bytes (:func:`_usual_spki`); anything else
    goes through asn1crypto. Issue 17: the issuance path asked asn1crypto for a new key's set
    twice per request (planning's key check, the pre-issuance lint), ≈ 100 µs each.
    """
    known = _usual_spki(der)
    if known is not None:
        return known[0].oid.dotted
    return asn1_gost.decode_spki(der).public_key_param_set


_Jacobian = tuple[int, int, int]
_naf_cache: dict[int, tuple[int, ...]] = {}


def _naf(k: int) -> tuple[int, ...]:
    """The non-adjacent form of ``k``, most significant digit first (digits -1, 0, 1)."""
    found = _naf_cache.get(k)
    if found is None:
        digits: list[int] = []
        n = k
        while n:
            d = 2 - (n & 3) if n & 1 else 0
            digits.append(d)
            n = (n - d) >> 1
        found = _naf_cache[k] = tuple(reversed(digits))
    return found


def _double(ps: ParamSet, pt: _Jacobian) -> _Jacobian:
    x, y, z = pt
    if z == 0 or y == 0:
        return 0, 1, 0
    p = ps.p
    xx, yy, zz = x * x % p, y * y % p, z * z % p
    yyyy = yy * yy % p
    s = 2 * ((x + yy) ** 2 - xx - yyyy) % p
    m = (3 * xx + ps.a * zz * zz) % p
    t = (m * m - 2 * s) % p
    return t, (m * (s - t) - 8 * yyyy) % p, ((y + z) ** 2 - yy - zz) % p


def _add_affine(ps: ParamSet, pt: _Jacobian, x2: int, y2: int) -> _Jacobian:
    x1, y1, z1 = pt
    if z1 == 0:
        return x2, y2, 1
    p = ps.p
    z1z1 = z1 * z1 % p
    h = (x2 * z1z1 - x1) % p
    r = (y2 * z1 * z1z1 - y1) % p
    if h == 0:
        return _double(ps, pt) if r == 0 else (0, 1, 0)
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p


def in_prime_order_subgroup(ps: ParamSet, x: int, y: int) -> bool:
    """True if the curve point ``(x, y)`` of ``ps`` satisfies ``q·P = O``.

    The group of a cofactor-4 set has order ``4q``; ``q`` is odd and prime, so ``q·P = O``
    exactly when ``P`` lies in the subgroup of order ``q`` (no component of order 2 or 4).
    Jacobian coordinates and ``q`` in non-adjacent form, mixed additions of ``±P``: no modular
    inversion in the loop (≈ 1.4 ms for 256-bit, ≈ 7 ms for 512-bit on a loaded machine, five
    times faster than the affine ladder of :mod:`atlas_ca.gost._pure`). The point is public,
    so the timing does not matter.
    """
    pt: _Jacobian = (0, 1, 0)
    neg_y = (-y) % ps.p
    for d in _naf(ps.q):
        pt = _double(ps, pt)
        if d:
            pt = _add_affine(ps, pt, x, y if d > 0 else neg_y)
    return pt[2] == 0


@dataclass(frozen=True, slots=True)
class GostPublicKey:
    """A point ``(x, y)`` of ``param_set``'s prime-order subgroup, checked on construction.

    Construction refuses, with :class:`~atlas_ca.errors.InvalidPublicKey`, a point off the curve
    and the all-zero encoding some tools write for the point at infinity; on the cofactor-4 sets
    (TC26 256 paramSetA, 512 paramSetC) it refuses with :class:`~atlas_ca.errors.WeakPublicKey`
    a point with a component of order 2 or 4. Such a key would let anyone forge "its"
    signatures (a small-order point makes ``z2·Q`` take one of four values), so no value of this
    class ever holds one: every certificate, request, token key and CA certificate goes through
    here.
    """

    param_set: ParamSet
    x: int
    y: int

    def __post_init__(self) -> None:
        if not isinstance(self.param_set, ParamSet):
            raise TypeError(f"param_set must be a ParamSet, not {type(self.param_set).__name__}")
        if not (isinstance(self.x, int) and isinstance(self.y, int)):
            raise TypeError("public key coordinates must be int")
        ps = self.param_set
        if self.x == 0 and self.y == 0:
            raise InvalidPublicKey(
                f"public key is the point at infinity (X = Y = 0) on {ps.name}",
                param_set=ps.name,
                problem="infinity",
            )
        if not ps.contains(self.x, self.y):
            raise InvalidPublicKey(
                f"public key is not a point of the {ps.name} curve",
                param_set=ps.name,
                problem="off-curve",
            )
        if ps.cofactor != 1 and not in_prime_order_subgroup(ps, self.x, self.y):
            raise WeakPublicKey(
                f"public key is not in the prime-order subgroup of {ps.name} (it has a component "
                f"of order dividing the cofactor {ps.cofactor})",
                param_set=ps.name,
                problem="small-order",
            )

    @property
    def key_type(self) -> KeyType:
        if self.param_set.bits == 256:
            return KeyType.GOST3410_2012_256
        return KeyType.GOST3410_2012_512

    def check_order(self) -> None:
        """Raise :class:`WeakPublicKey` unless ``q·P`` is the point at infinity.

        Construction already does this (see the class docstring); the method stays for callers
        that want to say so where a key is accepted.
        """
        ps = self.param_set
        if ps.cofactor != 1 and not in_prime_order_subgroup(ps, self.x, self.y):
            raise WeakPublicKey(
                f"public key is not in the prime-order subgroup of {ps.name}",
                param_set=ps.name,
                problem="small-order",
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
        known = _usual_spki(der)
        if known is not None:
            return cls.from_bytes(*known)
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

"""Small-order GOST public keys, built from the curve equation, for the key-acceptance tests.

The cofactor-4 sets (TC26 256 paramSetA, 512 paramSetC) have ``4q`` points. For a random point
``R`` (``x`` chosen, ``y = sqrt(x³ + ax + b)``; both primes are 3 mod 4), ``q·R`` has order 1, 2
or 4. An order-2 point has ``y = 0``. A key that is such a point lets anyone forge a proof of
possession: :func:`forged_csr` signs a request without any private key.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from atlas_ca import gost
from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1 import oids
from atlas_ca.gost import _pure
from atlas_ca.gost.params import ParamSet
from atlas_ca.x509.certificate import Certificate, CertificateBuilder, assemble_signed
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.extensions import BasicConstraints, KeyUsage, KeyUsageBit
from atlas_ca.x509.names import Name
from support.x509_signers import MemoryKey, gost_key

COFACTOR_4 = ("tc26-256-a", "tc26-512-c")


@dataclass(frozen=True)
class SmallPoint:
    param_set: ParamSet
    x: int
    y: int
    order: int

    def raw(self) -> bytes:
        n = self.param_set.size
        return self.x.to_bytes(n, "little") + self.y.to_bytes(n, "little")

    def spki(self) -> bytes:
        return spki_of(self.param_set, self.raw())


def spki_of(ps: ParamSet, raw: bytes) -> bytes:
    """A SubjectPublicKeyInfo holding ``raw`` (X||Y little-endian) on ``ps``, unchecked."""
    return asn1_gost.encode_spki(ps.algorithm_oid.dotted, ps.oid.dotted, None, raw)


def _sqrt(ps: ParamSet, v: int) -> int | None:
    assert ps.p % 4 == 3
    y = pow(v, (ps.p + 1) // 4, ps.p)
    return y if y * y % ps.p == v % ps.p else None


def small_points(name: str) -> dict[int, SmallPoint]:
    """A point of order 2 and one of order 4 on ``name``'s curve."""
    ps = gost.param_set(name)
    found: dict[int, SmallPoint] = {}
    x = 1
    while len(found) < 2:
        x += 1
        y = _sqrt(ps, x**3 + ps.a * x + ps.b)
        if y is None:
            continue
        t = _pure.multiply(ps, ps.q, (x, y))
        if t is None:
            continue
        # The curve equation holds, and the order divides the cofactor.
        assert (t[1] ** 2 - (t[0] ** 3 + ps.a * t[0] + ps.b)) % ps.p == 0
        order = 2 if _pure.multiply(ps, 2, t) is None else 4
        assert _pure.multiply(ps, 4, t) is None
        if order == 2:
            assert t[1] == 0  # an order-2 point of a Weierstrass curve has y = 0
        found.setdefault(order, SmallPoint(ps, t[0], t[1], order))
    return found


def mixed_point(name: str) -> SmallPoint:
    """``G + T``, ``T`` of order 4: a point of order ``4q``, not small, not in the subgroup."""
    ps = gost.param_set(name)
    t = small_points(name)[4]
    pt = _pure._add(ps, (ps.x, ps.y), (t.x, t.y))
    assert pt is not None
    return SmallPoint(ps, pt[0], pt[1], 4 * ps.q)


def algorithm_of(ps: ParamSet) -> SignatureAlgorithm:
    return (
        SignatureAlgorithm.GOST3410_2012_256
        if ps.bits == 256
        else SignatureAlgorithm.GOST3410_2012_512
    )


def forge_signature(point: SmallPoint, data: bytes) -> bytes:
    """A GOST signature of ``data`` that verifies under ``point`` as public key, made with no
    private key: choose ``k``, ``r = x(k·G) mod q``, ``s = k·e``; then ``z1 = k`` and the check
    passes whenever ``z2 = -r/e`` is a multiple of the point's order (1 try in 2 or 4)."""
    ps = point.param_set
    digest = gost.streebog256(data) if ps.bits == 256 else gost.streebog512(data)
    e = int.from_bytes(digest, "little") % ps.q or 1
    v = pow(e, -1, ps.q)
    while True:
        k = secrets.randbelow(ps.q - 1) + 1
        r_point = _pure.multiply(ps, k, (ps.x, ps.y))
        assert r_point is not None
        r = r_point[0] % ps.q
        s = k * e % ps.q
        if r and s and (-r * v) % ps.q % point.order == 0:
            return s.to_bytes(ps.size, "big") + r.to_bytes(ps.size, "big")


def forged_csr(point: SmallPoint, common_name: str = "Mallory") -> bytes:
    """A PKCS#10 request carrying ``point`` whose proof of possession verifies (forged)."""
    subject = Name.build([(oids.NameAttribute.COMMON_NAME, common_name)])
    info = CsrBuilder().subject_name(subject).info_der(point.spki())
    alg = algorithm_of(point.param_set)
    return assemble_signed(info, alg, forge_signature(point, info))


def with_point(der: bytes, good: bytes, bad: bytes) -> bytes:
    """``der`` with the one occurrence of the key ``good`` (X||Y) replaced by ``bad``."""
    assert len(good) == len(bad)
    assert der.count(good) == 1
    return der.replace(good, bad)


__all__ = [
    "COFACTOR_4",
    "SmallPoint",
    "forge_signature",
    "forged_csr",
    "mixed_point",
    "small_points",
    "spki_of",
    "with_point",
]


# --- certificates of good keys with a bad point swapped in (read-time refusal tests) ---

_T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def self_signed(key: MemoryKey, *, ca: bool = False) -> Certificate:
    name = Name.build([(oids.NameAttribute.COMMON_NAME, "Registrar")])
    b = (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key_info)
        .serial_number(0x1234_5678_9ABC_DEF0_1)
        .not_valid_before(_T0 - dt.timedelta(days=1))
        .not_valid_after(_T0 + dt.timedelta(days=365))
    )
    if ca:
        b = b.add_extension(BasicConstraints(True, True, None)).add_extension(
            KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}))
        )
    return b.sign(key)


_KEYS: dict[str, MemoryKey] = {}


def key_for(name: str) -> MemoryKey:
    if name not in _KEYS:
        _KEYS[name] = gost_key(name)
    return _KEYS[name]


def weak_certificate_der(point: SmallPoint, *, ca: bool = False) -> bytes:
    """A certificate of a good key with its point swapped for ``point`` (signature now wrong,
    which does not matter: the key is refused when the certificate is read)."""
    key = key_for(point.param_set.name)
    cert = self_signed(key, ca=ca)
    good = gost.GostPublicKey.from_spki_der(key.public_key_info).to_bytes()
    return with_point(cert.der, good, point.raw())

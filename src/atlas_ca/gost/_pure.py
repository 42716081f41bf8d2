"""The pure engine: gostcrypto 1.2.5, converted to our byte orders at this boundary.

gostcrypto speaks big-endian everywhere: private key, digest (read as a big-endian integer),
public key ``X||Y`` and signature ``r||s``. Our API speaks the X.509/PKCS#11 conventions: digest
read as a little-endian integer, signature ``s||r`` big-endian. Only this module converts.

gostcrypto's ``GOST34112012.update`` keeps a stale partial block when a later update ends on a
block boundary, so :class:`PureStreebog` only ever hands it whole 64-byte blocks and appends the
tail at digest time.

gostcrypto is imported on first use, not with this module: :mod:`atlas_ca.gost` imports this
module whatever the engine, and with the native engine (every CA process) gostcrypto's eight
subpackages are ≈ 4 ms of start-up for nothing — a CRL publication is a short process
(issue 17, docs/performance.md "Issue 17: CRL partition publication margin and the 5M point").
"""

from __future__ import annotations

from typing import Any

from atlas_ca.gost.params import ParamSet

_BLOCK = 64
_CHUNK = 1 << 16


class PureStreebog:
    """Incremental Streebog over gostcrypto (≈ 0.3 MB/s: a fallback, not a workhorse)."""

    __slots__ = ("_h", "_size", "_tail")

    def __init__(self, digest_size: int, *, _h: Any = None, _tail: bytes = b"") -> None:
        name = "streebog256" if digest_size == 32 else "streebog512"
        self._size = digest_size
        if _h is None:
            from gostcrypto.gosthash import gost_34_11_2012 as _gh

            _h = _gh.new(name)
        self._h: Any = _h
        self._tail = _tail

    def update(self, data: memoryview) -> None:
        pos = 0
        total = len(data)
        if self._tail:
            need = _BLOCK - len(self._tail)
            self._tail += bytes(data[:need])
            pos = min(need, total)
            if len(self._tail) < _BLOCK:
                return
            self._h.update(self._tail)
            self._tail = b""
        whole_end = pos + (total - pos) // _BLOCK * _BLOCK
        while pos < whole_end:
            end = min(pos + _CHUNK, whole_end)
            self._h.update(bytes(data[pos:end]))
            pos = end
        self._tail = bytes(data[pos:])

    def digest(self) -> bytes:
        h = self._h.copy()
        if self._tail:
            h.update(self._tail)
        return bytes(h.digest())

    def copy(self) -> PureStreebog:
        return PureStreebog(self._size, _h=self._h.copy(), _tail=self._tail)


def _curve(ps: ParamSet) -> Any:
    from gostcrypto.gostsignature import gost_34_10_2012 as _gs

    mode = _gs.MODE_256 if ps.bits == 256 else _gs.MODE_512
    curve = {"p": ps.p, "a": ps.a, "b": ps.b, "m": ps.q * ps.cofactor, "q": ps.q}
    curve |= {"x": ps.x, "y": ps.y}
    return _gs.new(mode, curve)


_CURVES: dict[str, Any] = {}


def _signer(ps: ParamSet) -> Any:
    key = f"{ps.oid.dotted}:{ps.name}"
    signer = _CURVES.get(key)
    if signer is None:
        signer = _CURVES[key] = _curve(ps)
    return signer


def _digest_be(ps: ParamSet, digest: bytes) -> bytearray:
    # Our digest is read as a little-endian integer; gostcrypto reads big-endian.
    return bytearray(digest[::-1])


def public_point(ps: ParamSet, d: int) -> tuple[int, int]:
    raw = _signer(ps).public_key_generate(bytearray(d.to_bytes(ps.size, "big")))
    return int.from_bytes(raw[: ps.size], "big"), int.from_bytes(raw[ps.size :], "big")


def sign_digest(ps: ParamSet, d: int, digest: bytes, k: int | None) -> bytes:
    key = bytearray(d.to_bytes(ps.size, "big"))
    if k is None:
        rs = _signer(ps).sign(key, _digest_be(ps, digest))
    else:
        rs = _signer(ps).sign(key, _digest_be(ps, digest), bytearray(k.to_bytes(ps.size, "big")))
    return bytes(rs[ps.size :] + rs[: ps.size])


def verify_digest(ps: ParamSet, x: int, y: int, digest: bytes, signature: bytes) -> bool:
    n = ps.size
    if x == 0 or y == 0:
        # gostcrypto treats a zero coordinate as "use the base point"; do the check by hand.
        return _verify_by_hand(ps, x, y, digest, signature)
    pub = bytearray(x.to_bytes(n, "big") + y.to_bytes(n, "big"))
    rs = bytearray(signature[n:] + signature[:n])
    return bool(_signer(ps).verify(pub, _digest_be(ps, digest), rs))


def _verify_by_hand(ps: ParamSet, x: int, y: int, digest: bytes, signature: bytes) -> bool:
    n = ps.size
    s = int.from_bytes(signature[:n], "big")
    r = int.from_bytes(signature[n:], "big")
    if not (0 < r < ps.q and 0 < s < ps.q):
        return False
    e = int.from_bytes(digest, "little") % ps.q or 1
    v = pow(e, -1, ps.q)
    z1, z2 = s * v % ps.q, -r * v % ps.q
    c = _add(ps, _mul(ps, z1, (ps.x, ps.y)), _mul(ps, z2, (x, y)))
    return c is not None and c[0] % ps.q == r


_Point = tuple[int, int] | None


def _add(ps: ParamSet, p1: _Point, p2: _Point) -> _Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % ps.p == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + ps.a) * pow(2 * y1, -1, ps.p) % ps.p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, ps.p) % ps.p
    x3 = (lam * lam - x1 - x2) % ps.p
    return x3, (lam * (x1 - x3) - y1) % ps.p


def multiply(ps: ParamSet, k: int, point: tuple[int, int]) -> tuple[int, int] | None:
    """``k·point`` in affine coordinates; ``None`` is the point at infinity."""
    return _mul(ps, k, point)


def _mul(ps: ParamSet, k: int, point: _Point) -> _Point:
    result: _Point = None
    while k:
        if k & 1:
            result = _add(ps, result, point)
        point = _add(ps, point, point)
        k >>= 1
    return result

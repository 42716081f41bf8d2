"""Our own GOST R 34.10-2012 signature verification (§6.2; RFC 7091 §6.2), part of the native
engine: the whole of §6.2 (ranges of r and s, e, v = e⁻¹, z1, z2, ``C = z1·P + z2·Q``,
``x_C mod q = r``) in the C extension :mod:`atlas_ca.gost._ecverify`; this module chooses the
path and keeps the key tables. (The inverse mod q is in C too: CPython's ``pow(e, -1, q)``
alone took ≈ 13 µs, half of a prepared verification.)

Why our own: the gost engine verifies in ≈ 110–130 µs for 256 bits, and an issuing CA verifies
two signatures per certificate, one of them always under its own key. With a precomputed
table for that key (and one per curve for the generator) a verification is ≈ 130 mixed
additions and no doubling, several times faster (docs/performance.md, "Issue 17: our own GOST
verification"). Verification only: every input is public, so none of this is constant time.

Which path a key takes (:func:`verify_digest`):

* **prepared** — a fixed-base table of the key (0.4–0.9 ms to build for 256 bits, 3–8 ms for
  512; 53 KiB / 208 KiB). A key gets one at its :data:`PREPARE_AT_USE`-th verification (4 for
  256-bit keys, 8 for 512-bit ones: the uses before are counted in a bounded record of
  :data:`SEEN_KEYS` keys), or at once through :func:`prepare`. At most :data:`PREPARED_KEYS`
  tables are kept, least recently used dropped first. Why not at the second use: a table costs
  about five one-off verifications, and a key verified exactly twice (a request checked on
  arrival and again at issuance) would pay for one it never uses; preparing at the k-th use,
  with k about the table's cost in verifications saved, keeps any key's total within about
  twice the best choice made in hindsight (the ski-rental argument), while the CA's own key,
  verified thousands of times, loses only its first few fast checks;
* **one-off** — a key seen fewer times (a request's proof of possession): a width-5 NAF
  multiplication on the key, for the sizes in :data:`ONE_OFF_BITS` (those where it was measured
  faster than the gost engine: both today); for the others ``None`` is returned and the caller
  asks the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Literal

from atlas_ca.errors import GostEngineFailure, InvalidPublicKey
from atlas_ca.gost.engine import extension_module
from atlas_ca.gost.keys import GostPublicKey
from atlas_ca.gost.params import ParamSet

if TYPE_CHECKING:
    from atlas_ca.gost._ecverify import Curve, PreparedKey

#: Fixed-base tables of public keys kept (least recently used dropped first).
PREPARED_KEYS = 16
#: Keys whose verifications are counted until they reach :data:`PREPARE_AT_USE`.
SEEN_KEYS = 1024
#: The verification, by key size, at which a key gets its table (see the module docstring).
PREPARE_AT_USE = {256: 4, 512: 8}
#: Key sizes whose verifications without a table run here rather than in the gost engine:
#: both, as measured (2026-12-03, one-off against the engine: 256-bit CryptoPro-A ≈ 2×,
#: 512-bit TC26 512-A 1.1–1.4×, 512-B ≈ 1.6–1.9×; docs/performance.md). Kept as a knob should a
#: faster engine come.
ONE_OFF_BITS = frozenset({256, 512})

#: ``auto`` is the policy above; ``prepared`` and ``one-off`` force a path (tests, benches).
VerifyPath = Literal["auto", "prepared", "one-off"]

_lock = threading.Lock()
_curves: dict[ParamSet, Curve] = {}
_curves_by_value: dict[tuple[int, ...], Curve] = {}
_prepared: OrderedDict[GostPublicKey, PreparedKey] = OrderedDict()
_seen: OrderedDict[GostPublicKey, int] = OrderedDict()


def available() -> bool:
    """True if the C extension is built and importable."""
    return extension_module() is not None


def _ext() -> Any:
    module = extension_module()
    if module is None:
        from atlas_ca.gost.engine import extension_error

        raise GostEngineFailure(
            f"the GOST verification extension is not built: {extension_error()}",
            engine="native",
        )
    return module


def _curve(ps: ParamSet) -> Curve:
    """The extension's curve of ``ps`` with its generator table (built once per curve: the
    CryptoPro and TC26 sets that share a curve share it)."""
    curve = _curves.get(ps)
    if curve is not None:
        return curve
    ext = _ext()
    values = (ps.p, ps.a, ps.b, ps.q, ps.x, ps.y)
    with _lock:
        curve = _curves_by_value.get(values)
    if curve is None:
        n = ps.size
        try:
            made: Curve = ext.Curve(*(v.to_bytes(n, "big") for v in values))
        except ValueError as exc:
            raise GostEngineFailure(
                f"parameter set {ps.name} is not a curve the extension accepts: {exc}",
                engine="native",
            ) from exc
        with _lock:
            curve = _curves_by_value.setdefault(values, made)
    with _lock:
        _curves[ps] = curve
    return curve


def _table(key: GostPublicKey, curve: Curve) -> PreparedKey:
    ps = key.param_set
    n = ps.size
    try:
        return curve.prepare(key.x.to_bytes(n, "big"), key.y.to_bytes(n, "big"))
    except ValueError as exc:
        raise _rejected(ps, exc) from exc


def _rejected(ps: ParamSet, exc: ValueError) -> InvalidPublicKey:
    """GostPublicKey checked the point already: the extension refusing it means it was forged."""
    return InvalidPublicKey(
        f"public key rejected by the verification extension on {ps.name}: {exc}",
        param_set=ps.name,
        problem="off-curve",
    )


def prepare(key: GostPublicKey) -> None:
    """Build ``key``'s fixed-base table now (a CA's own key, an OCSP responder's), so that
    even its first verification is fast. Keeps it among the :data:`PREPARED_KEYS`."""
    if not isinstance(key, GostPublicKey):
        raise TypeError(f"key must be a GostPublicKey, not {type(key).__name__}")
    with _lock:
        if key in _prepared:
            _prepared.move_to_end(key)
            return
    table = _table(key, _curve(key.param_set))
    _keep(key, table)


def _keep(key: GostPublicKey, table: PreparedKey) -> None:
    with _lock:
        _prepared[key] = table
        _prepared.move_to_end(key)
        while len(_prepared) > PREPARED_KEYS:
            _prepared.popitem(last=False)


def is_prepared(key: GostPublicKey) -> bool:
    """True if ``key`` has a table now."""
    with _lock:
        return key in _prepared


def forget() -> None:
    """Drop every key table and the record of keys seen (generator tables stay)."""
    with _lock:
        _prepared.clear()
        _seen.clear()


def verify_digest(
    key: GostPublicKey, digest: bytes, signature: bytes, *, path: VerifyPath = "auto"
) -> bool | None:
    """True if ``signature`` (``s||r`` big-endian) is valid for the Streebog ``digest`` (read
    little-endian) under ``key``; ``None`` when this key is better verified by the gost engine
    (a first verification of a size outside :data:`ONE_OFF_BITS`, with ``path="auto"``).

    A signature of the wrong length, or with ``r`` or ``s`` outside ``1..q-1``, is simply
    invalid; a digest of the wrong length is a :class:`ValueError`, as in
    :func:`atlas_ca.gost.verify_digest`. ``path="prepared"`` builds (and keeps) the key's table
    if it has none; ``path="one-off"`` never uses nor records one.
    """
    ps = key.param_set
    n = ps.size
    if len(digest) != n:
        raise ValueError(f"a {ps.bits}-bit GOST signature signs a {n}-byte digest")
    if not isinstance(digest, bytes | bytearray | memoryview) or not isinstance(
        signature, bytes | bytearray | memoryview
    ):
        raise TypeError("digest and signature must be bytes")
    if len(signature) != 2 * n:
        return False
    table, build = None, path == "prepared"
    if path != "one-off":
        with _lock:
            table = _prepared.get(key)
            if table is not None:
                _prepared.move_to_end(key)
            elif not build:
                uses = _seen.pop(key, 0) + 1
                if uses >= PREPARE_AT_USE.get(ps.bits, 4):
                    build = True
                else:
                    _seen[key] = uses
                    while len(_seen) > SEEN_KEYS:
                        _seen.popitem(last=False)
        if table is None and not build and ps.bits not in ONE_OFF_BITS:
            return None
    try:
        curve = _curve(ps)
    except GostEngineFailure:
        if path != "auto":
            raise
        return None  # a parameter set the extension refuses (none of the standard's): the engine
    if table is None and build:
        table = _table(key, curve)
        _keep(key, table)
    try:
        if table is not None:
            return curve.verify_prepared(digest, signature, table)
        return curve.verify(digest, signature, key.x.to_bytes(n, "big"), key.y.to_bytes(n, "big"))
    except ValueError as exc:
        raise _rejected(ps, exc) from exc


__all__ = [
    "ONE_OFF_BITS",
    "PREPARED_KEYS",
    "PREPARE_AT_USE",
    "SEEN_KEYS",
    "VerifyPath",
    "available",
    "forget",
    "is_prepared",
    "prepare",
    "verify_digest",
]

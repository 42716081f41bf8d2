"""GOST R 34.10-2012 sign/s and verify/s: native engine (libcrypto + gost engine) against the
pure engine (gostcrypto), for 256-bit (tc26-256-b) and 512-bit (tc26-512-a) keys.

Each figure is operations over a fixed wall-clock budget on one thread (digest precomputed, so
only the signature arithmetic and the engine boundary are timed; native includes building the
EVP_PKEY from DER on every sign). The reference is the pure engine measured in the same run.

Then verification inside the native engine, same run: the gost engine's ``EVP_PKEY_verify``
(``atlas_ca.gost._native.verify_digest``, public key's EVP_PKEY cached) against our C extension
(``atlas_ca.gost.ecverify``) with the key's fixed-base table ("prepared": the CA's own key) and
without ("one-off": a request's new key), each figure the best of three alternated rounds.

Ends with `RESULT gost_sign speedup_sign_256=<native/pure> goal=10` and `RESULT gost_verify
speedup_prepared_256=<ours prepared/engine> goal=2` (plus one-off and 512-bit figures).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from atlas_ca.gost import (
    EngineName,
    _native,
    ecverify,
    generate_private_scalar,
    param_set,
    public_key_from_private,
    sign_digest,
    verify_digest,
)
from atlas_ca.gost.engine import extension_module, native_available
from benchlib import print_result

BUDGET = {"native": 1.0, "pure": 2.0}


def rate(fn: Callable[[], object], budget: float) -> float:
    fn()  # warm up (curve setup, EVP_PKEY caches)
    count = 0
    start = time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget and count >= 3:
            return count / elapsed


def main() -> int:
    if not native_available():
        print("native GOST engine unavailable; nothing to compare", file=sys.stderr)
        return 1
    figures: dict[tuple[str, int, EngineName], float] = {}
    for name in ("tc26-256-b", "tc26-512-a"):
        ps = param_set(name)
        d = generate_private_scalar(ps)
        key = public_key_from_private(ps, d)
        digest = bytes(range(ps.size))
        signature = sign_digest(ps, d, digest)
        for engine in ("native", "pure"):
            eng: EngineName = engine  # type: ignore[assignment]
            budget = BUDGET[engine]
            figures["sign", ps.bits, eng] = rate(
                lambda ps=ps, d=d, m=digest, eng=eng: sign_digest(ps, d, m, engine=eng), budget
            )
            figures["verify", ps.bits, eng] = rate(
                lambda k=key, m=digest, s=signature, eng=eng: verify_digest(k, m, s, engine=eng),
                budget,
            )
    for (op, bits, engine), value in figures.items():
        print(f"{op:6s} {bits} {engine:6s}: {value:9.1f} /s")
    for op in ("sign", "verify"):
        for bits in (256, 512):
            ratio = figures[op, bits, "native"] / figures[op, bits, "pure"]
            print(f"{op} {bits}: native is {ratio:.0f}x pure")
    speedup = figures["sign", 256, "native"] / figures["sign", 256, "pure"]
    print_result("gost_sign", "speedup_sign_256", speedup, 10, digits=0)
    return compare_verify()


def compare_verify() -> int:
    """The gost engine's verification against ours, prepared and one-off, same keys."""
    if extension_module() is None:
        print("the C extension atlas_ca.gost._ecverify is not built", file=sys.stderr)
        return 1
    ratios: dict[str, float] = {}
    for name in ("cryptopro-a", "tc26-512-a"):
        ps = param_set(name)
        d = generate_private_scalar(ps)
        key = public_key_from_private(ps, d)
        digest = bytes(range(ps.size))
        signature = sign_digest(ps, d, digest)
        ecverify.prepare(key)
        fns: dict[str, Callable[[], object]] = {
            "engine": lambda k=key, m=digest, g=signature: _native.verify_digest(k, m, g),
            "prepared": lambda k=key, m=digest, g=signature: ecverify.verify_digest(
                k, m, g, path="prepared"
            ),
            "one-off": lambda k=key, m=digest, g=signature: ecverify.verify_digest(
                k, m, g, path="one-off"
            ),
        }
        for fn in fns.values():
            assert fn() is True
        best = dict.fromkeys(fns, 0.0)
        for _ in range(3):  # alternated, best of three: load moves all three alike
            for label, fn in fns.items():
                best[label] = max(best[label], rate(fn, 0.5))
        for label, value in best.items():
            print(f"verify {ps.bits} {label:8s}: {value:9.1f} /s  ({1e6 / value:7.1f} µs)")
        for label in ("prepared", "one-off"):
            ratios[f"{label}_{ps.bits}"] = best[label] / best["engine"]
    for figure, value in ratios.items():
        print(f"verify {figure}: ours is {value:.2f}x the gost engine")
    print_result("gost_verify", "speedup_prepared_256", ratios["prepared_256"], 2, digits=2)
    print_result("gost_verify", "speedup_one-off_256", ratios["one-off_256"], 1, digits=2)
    print_result("gost_verify", "speedup_prepared_512", ratios["prepared_512"], 2, digits=2)
    print_result("gost_verify", "speedup_one-off_512", ratios["one-off_512"], 1, digits=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The prime-order subgroup check of GOST public keys (issue 15 item 1), per key.

On the cofactor-4 sets (tc26-256-a, tc26-512-c) every ``GostPublicKey`` construction computes
``q·P`` (Jacobian coordinates, ``q`` in non-adjacent form). The reference, measured in the same
run, is the affine double-and-add of ``atlas_ca.gost._pure`` that the old ``check_order`` used.
A certificate parse pays the check once per distinct key (``x509.signatures.gost_public_key``
is cached).

Ends with ``RESULT key_check speedup_256=<affine/jacobian> goal=2`` and the 512-bit line.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from atlas_ca.gost import _pure, param_set
from atlas_ca.gost.keys import in_prime_order_subgroup
from benchlib import print_result


def per_call(fn: Callable[[], object], budget: float = 1.0) -> float:
    fn()
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget and count >= 3:
            return elapsed / count


def main() -> int:
    for name in ("tc26-256-a", "tc26-512-c"):
        ps = param_set(name)
        point = (ps.x, ps.y)
        ours = per_call(lambda ps=ps: in_prime_order_subgroup(ps, ps.x, ps.y))
        ref = per_call(lambda ps=ps, point=point: _pure.multiply(ps, ps.q, point))
        print(f"{name}: jacobian {ours * 1e3:.2f} ms, affine {ref * 1e3:.2f} ms per key")
        print_result("key_check", f"speedup_{ps.bits}", ref / ours, 2, digits=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

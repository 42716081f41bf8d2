"""GOST signatures/s on SoftHSM: atlas_ca.hsm against raw python-pkcs11 calls, same key, same run.

Setup: a fresh SoftHSM-GOST token in a temporary directory; one GOST R 34.10-2012-256 key pair
(CryptoPro-A) generated on it through atlas_ca.hsm. Then, for 1, 2 and 4 threads, two child
processes run one after the other (``--rounds`` times, alternating; the best round counts),
each signing for ``--seconds`` seconds with every thread in a loop over the same 1 KiB message:

* **raw** — python-pkcs11 0.10.1: one session per thread (the first logs in), the private key
  found once per session; per signature ``key.sign(streebog256(msg), mechanism=GOSTR3410)``,
  i.e. Streebog-256 in software (atlas_ca.gost, the same function) + C_SignInit + C_Sign.
  python-pkcs11 initialises the module with ``C_Initialize(NULL)``, and SoftHSM then does not
  lock: two threads signing at once hung (GOST) or aborted with "double free or corruption"
  (ECDSA). So with more than one thread the raw side holds a lock around the token call (the
  hash stays outside it) — what a correct threaded caller of python-pkcs11 must do here.
* **lib** — atlas_ca: ``open_key(uri)`` once; per signature ``key.sign(msg)``, which does the
  same Streebog-256 + C_SignInit + C_Sign (through the module's function list, GIL released,
  module initialised with CKF_OS_LOCKING_OK), plus taking and returning a pooled session, the
  fork check and the post-step. No lock: SoftHSM serialises what it must itself.

Each side runs in its own process because each binding calls C_Initialize for itself.
Prints per thread count ``RESULT hsm_sign ratio_<n>t=<lib/raw> goal=0.9`` and, last,
``RESULT hsm_sign ratio_min=<smallest ratio> goal=0.9``.

Usage: ``.venv/bin/python bench/hsm_sign.py [--seconds S] [--threads 1,2,4]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from benchlib import (
    generate_gost_key,
    init_softhsm_token,
    print_result,
    raw_gost_keys,
    run_json_child,
)

LABEL = "bench-gost"
TOKEN = "bench"
PIN = "123456"
MESSAGE = bytes(range(256)) * 4  # 1 KiB, about a TBSCertificate
GOAL = 0.9


def _run_threads(n: int, seconds: float, sign_once: object) -> tuple[int, float]:
    counts = [0] * n
    barrier = threading.Barrier(n + 1)
    stop = threading.Event()

    def loop(i: int) -> None:
        fn = sign_once[i]  # type: ignore[index]
        barrier.wait()
        c = 0
        while not stop.is_set():
            fn()
            c += 1
        counts[i] = c

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


def worker_raw(module: str, threads: int, seconds: float) -> dict[str, float]:
    from pkcs11 import Mechanism

    from atlas_ca.gost import streebog256

    keys = raw_gost_keys(module, TOKEN, PIN, LABEL, sessions=threads)

    # python-pkcs11 calls C_Initialize(NULL); SoftHSM then does not lock, and two threads in
    # C_Sign at once hang or corrupt its heap (seen here: "double free or corruption"). A correct
    # multi-threaded raw caller must therefore serialise the token calls: the hash stays outside.
    token_lock = threading.Lock()

    def make(key: object) -> object:
        def once() -> None:
            digest = streebog256(MESSAGE)
            with token_lock:
                key.sign(digest, mechanism=Mechanism.GOSTR3410)  # type: ignore[attr-defined]

        return once

    n, elapsed = _run_threads(threads, seconds, [make(k) for k in keys])
    return {"sigs": n, "elapsed": elapsed}


def worker_lib(module: str, pin_file: str, threads: int, seconds: float) -> dict[str, float]:
    from atlas_ca.hsm import open_key

    key = open_key(
        f"pkcs11:token={TOKEN};object={LABEL}?module-path={module}&pin-source=file:{pin_file}"
    )

    def once() -> None:
        key.sign(MESSAGE)

    n, elapsed = _run_threads(threads, seconds, [once] * threads)
    return {"sigs": n, "elapsed": elapsed}


def _child(args: list[str], env: dict[str, str]) -> float:
    out = run_json_child(__file__, args, env, timeout=300)
    return float(out["sigs"]) / float(out["elapsed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["raw", "lib"])
    parser.add_argument("--module")
    parser.add_argument("--pin-file")
    args = parser.parse_args()

    if args.worker == "raw":
        print(json.dumps(worker_raw(args.module, int(args.threads), args.seconds)))
        return
    if args.worker == "lib":
        print(json.dumps(worker_lib(args.module, args.pin_file, int(args.threads), args.seconds)))
        return

    with tempfile.TemporaryDirectory(prefix="atlas-hsm-bench-") as tmp:
        token = init_softhsm_token(Path(tmp), TOKEN, PIN)
        generate_gost_key(token, LABEL)
        module, pin_file, env = token.module, token.pin_file, token.env

        ratios: dict[int, float] = {}
        for n in (int(x) for x in args.threads.split(",")):
            raw_best = lib_best = 0.0
            for _ in range(args.rounds):
                common = ["--threads", str(n), "--seconds", str(args.seconds), "--module", module]
                raw_best = max(raw_best, _child(["--worker", "raw", *common], env))
                lib_best = max(
                    lib_best, _child(["--worker", "lib", *common, "--pin-file", str(pin_file)], env)
                )
            ratios[n] = lib_best / raw_best
            print(f"threads={n} raw={raw_best:.0f} sig/s lib={lib_best:.0f} sig/s")
            print_result("hsm_sign", f"ratio_{n}t", ratios[n], GOAL)
        print_result("hsm_sign", "ratio_min", min(ratios.values()), GOAL)


if __name__ == "__main__":
    main()

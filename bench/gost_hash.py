"""Streebog-256 throughput: atlas_ca.gost (native engine) against `openssl dgst` on the same bytes.

Method: one 64 MiB buffer of random bytes, written to a file under /dev/shm (tmpfs, so no disk
I/O) for OpenSSL. Ours hashes the in-memory buffer through a memoryview. OpenSSL's figure is
"(time of `openssl dgst -md_gost12_256 FILE`) - (time of the same command on an empty file)":
the empty-file run measures process start, config and gost engine load, which are subtracted
so that only hashing is compared; each side takes the best of 3 runs. The pure engine
(gostcrypto) is measured on 256 KiB only, it runs at well under 1 MB/s.

Ends with one line `RESULT gost_hash ratio=<ours/openssl> goal=0.8`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from atlas_ca.cli.demo.interop import run_openssl, write_openssl_gost_conf
from atlas_ca.gost import Streebog, streebog256
from atlas_ca.gost.engine import native_available
from benchlib import print_result

SIZE = 64 << 20
RUNS = 3


def best(fn: object, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    if not native_available():
        print("native GOST engine unavailable; nothing to compare", file=sys.stderr)
        return 1
    openssl = shutil.which("openssl")
    if openssl is None:
        print("openssl not found", file=sys.stderr)
        return 1
    data = os.urandom(SIZE)
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        conf = write_openssl_gost_conf(Path(tmp))
        blob = Path(tmp) / "blob.bin"
        blob.write_bytes(data)
        empty = Path(tmp) / "empty.bin"
        empty.write_bytes(b"")

        def dgst(path: Path) -> str:
            out = run_openssl(
                openssl, conf, ["dgst", "-md_gost12_256", "-r", path], check=True
            ).stdout
            return out.split()[0].decode()

        expected = dgst(blob)
        ours_hex = streebog256(memoryview(data), engine="native").hex()
        if ours_hex != expected:
            print(f"digest mismatch: ours {ours_hex} openssl {expected}", file=sys.stderr)
            return 1
        startup = best(lambda: dgst(empty), runs=5)
        openssl_total = best(lambda: dgst(blob))
        openssl_hash = max(openssl_total - startup, 1e-9)

    def ours() -> None:
        h = Streebog(32, engine="native")
        h.update(memoryview(data))
        h.digest()

    ours_time = best(ours)
    small = data[: 256 << 10]
    pure_time = best(lambda: streebog256(small, engine="pure"), runs=1)

    mib = SIZE / (1 << 20)
    ours_mbs = mib / ours_time
    openssl_mbs = mib / openssl_hash
    print(f"buffer: {mib:.0f} MiB random bytes; best of {RUNS}")
    print(f"openssl dgst process start + engine load: {startup * 1000:.1f} ms (subtracted)")
    print(f"openssl dgst -md_gost12_256: {openssl_hash:.3f} s = {openssl_mbs:.1f} MiB/s")
    print(f"atlas_ca native Streebog-256: {ours_time:.3f} s = {ours_mbs:.1f} MiB/s")
    print(f"atlas_ca pure Streebog-256 (256 KiB): {0.25 / pure_time:.3f} MiB/s")
    print_result("gost_hash", "ratio", ours_mbs / openssl_mbs, 0.8, digits=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

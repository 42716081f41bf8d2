"""Engine selection, the fallback when libcrypto's gost engine is missing, and streaming."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import pytest

from atlas_ca.errors import GostEngineUnavailable, Unavailable
from atlas_ca.gost import ENV_VAR, Streebog, active_engine, streebog256
from support.gost_test_support import require_engine


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_env_var_forces_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "pure")
    assert active_engine() == "pure"
    assert Streebog(32).engine == "pure"


def test_env_var_forces_native(monkeypatch: pytest.MonkeyPatch) -> None:
    require_engine("native")
    monkeypatch.setenv(ENV_VAR, "native")
    assert active_engine() == "native"
    assert Streebog(64).engine == "native"


def test_unforced_selection_prefers_native(monkeypatch: pytest.MonkeyPatch) -> None:
    require_engine("native")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert active_engine() == "native"


def test_an_unknown_engine_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "turbo")
    with pytest.raises(GostEngineUnavailable, match="'turbo' is not an engine"):
        active_engine()
    with pytest.raises(ValueError, match="'native' or 'pure'"):
        Streebog(32, engine="turbo")  # type: ignore[arg-type]


_PROBE = (
    "from atlas_ca import gost\n"
    "from atlas_ca.errors import GostEngineUnavailable\n"
    "print(gost.active_engine())\n"
    "print(gost.streebog256(b'abc').hex())\n"
    "try:\n"
    "    gost.Streebog(32, engine='native')\n"
    "except GostEngineUnavailable as exc:\n"
    "    print('unavailable', exc.exit_code)\n"
)


def test_without_the_gost_engine_the_pure_engine_takes_over_and_forcing_native_fails() -> None:
    # OPENSSL_ENGINES points libcrypto's dynamic engine loader at an empty directory.
    env = {"OPENSSL_ENGINES": "/nonexistent-engines-dir"}
    env_without_force = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env={**env_without_force, **env},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[0] == "pure"
    assert lines[1] == streebog256(b"abc", engine="pure").hex()
    assert lines[2:] == ["unavailable", str(Unavailable.exit_code)]
    forced = _run("from atlas_ca import gost; gost.active_engine()", **env, **{ENV_VAR: "native"})
    assert forced.returncode != 0
    assert "GostEngineUnavailable" in forced.stderr
    assert "gost" in forced.stderr.lower()


def test_native_streebog_reads_a_large_buffer_in_place() -> None:
    require_engine("native")
    blob = bytes(range(256)) * (32 * 4096)  # 32 MiB
    view = memoryview(blob)[7:]
    h = Streebog(32, engine="native")
    tracemalloc.start()
    try:
        h.update(view)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # nothing near the 32 MiB input was copied
    reference = Streebog(32, engine="native")
    for start in range(7, len(blob), 1 << 22):
        reference.update(blob[start : start + (1 << 22)])
    assert h.digest() == reference.digest()


def test_native_streebog_accepts_strided_views_by_copying_pieces() -> None:
    require_engine("native")
    data = bytes(range(256)) * 40
    strided = memoryview(data)[::3]
    assert streebog256(strided, engine="native") == streebog256(data[::3], engine="pure")


def test_native_calls_leave_no_error_in_libcrypto_queue() -> None:
    require_engine("native")
    from atlas_ca.gost import _native, param_set, public_key_from_private, verify_digest

    ps = param_set("cryptopro-a")
    key = public_key_from_private(ps, 12345, engine="native")
    assert not verify_digest(key, bytes(32), b"\x01" * 64, engine="native")
    assert _native._L().ERR_get_error() == 0


def test_native_engine_is_safe_to_use_from_many_threads() -> None:
    require_engine("native")
    from concurrent.futures import ThreadPoolExecutor

    from atlas_ca.gost import param_set, public_key_from_private, sign, verify

    ps = param_set("tc26-256-b")
    scalars = [1000 + i for i in range(8)]
    keys = [public_key_from_private(ps, d, engine="native") for d in scalars]

    def work(i: int) -> bool:
        d, key = scalars[i % 8], keys[i % 8]
        data = f"message {i}".encode()
        signature = sign(ps, d, data, engine="native")
        h = Streebog(32, engine="native")
        h.update(data)
        return (
            verify(key, data, signature, engine="native")
            and not verify(keys[(i + 1) % 8], data, signature, engine="native")
            and h.digest() == streebog256(data, engine="pure")
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(400)))
    assert all(results)

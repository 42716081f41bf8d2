"""Our own GOST R 34.10-2012 verification (atlas_ca.gost.ecverify over the C extension
_ecverify): the standard's examples, agreement with the gost engine and gostcrypto on every
parameter set, the range and special cases of §6.2, input validation, the key-table policy and
the fallback when the extension is not built."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.errors import GostEngineFailure, InvalidPublicKey
from atlas_ca.gost import (
    PARAM_SETS,
    GostPublicKey,
    ParamSet,
    _native,
    _pure,
    ecverify,
    generate_private_scalar,
    public_key_from_private,
    sign_digest,
    verify_digest,
)
from atlas_ca.gost.engine import extension_error, extension_module
from atlas_ca.gost.params import TEST_256, TEST_512
from support.atlas_testing import missing
from support.gost_test_support import load_vectors, require_engine

EXAMPLES = load_vectors("gost3410_2012.json")
TEST_SETS = {"test-256": TEST_256, "test-512": TEST_512}
ALL_SETS = (*PARAM_SETS, TEST_256, TEST_512)
PATHS: tuple[ecverify.VerifyPath, ...] = ("prepared", "one-off")


def _h(value: str) -> int:
    return int(value, 16)


@pytest.fixture(autouse=True)
def _extension() -> Iterator[None]:
    if extension_module() is None:
        missing(f"the C extension atlas_ca.gost._ecverify ({extension_error()})")
    ecverify.forget()
    yield
    ecverify.forget()


def _split(ps: ParamSet, signature: bytes) -> tuple[int, int]:
    """(r, s) of an ``s||r`` signature."""
    n = ps.size
    return int.from_bytes(signature[n:], "big"), int.from_bytes(signature[:n], "big")


def _sig(ps: ParamSet, r: int, s: int) -> bytes:
    """``s||r``, each big-endian of the set's size."""
    return s.to_bytes(ps.size, "big") + r.to_bytes(ps.size, "big")


def _sign(ps: ParamSet, d: int, digest: bytes) -> bytes:
    # The gost engine knows no test curve; gostcrypto signs those.
    if ps in (TEST_256, TEST_512):
        return _pure.sign_digest(ps, d, digest, None)
    require_engine("native")
    return sign_digest(ps, d, digest, engine="native")


def _key(ps: ParamSet, d: int) -> GostPublicKey:
    return GostPublicKey(ps, *_pure.public_point(ps, d))


def test_the_extension_is_built_when_ci_is_true() -> None:
    # The autouse fixture already fails under CI=true without it; say so once explicitly.
    if os.environ.get("CI") == "true":
        assert extension_module() is not None, extension_error()
    assert ecverify.available()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_the_standards_examples_verify(vector: dict[str, str], path: ecverify.VerifyPath) -> None:
    ps = TEST_SETS[vector["param_set"]]
    key = GostPublicKey(ps, _h(vector["xq"]), _h(vector["yq"]))
    digest = _h(vector["e"]).to_bytes(ps.size, "little")
    r, s = _h(vector["r"]), _h(vector["s"])
    assert ecverify.verify_digest(key, digest, _sig(ps, r, s), path=path) is True
    assert ecverify.verify_digest(key, digest, _sig(ps, s, r), path=path) is False
    assert ecverify.verify_digest(key, digest, _sig(ps, r, s ^ 1), path=path) is False


@pytest.mark.parametrize("ps", ALL_SETS, ids=lambda p: p.name)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_agrees_with_the_engine_and_gostcrypto(ps: ParamSet, data: st.DataObject) -> None:
    d = data.draw(st.integers(1, ps.q - 1), label="d")
    digest = data.draw(st.binary(min_size=ps.size, max_size=ps.size), label="digest")
    key = _key(ps, d)
    signature = _sign(ps, d, digest)
    r, s = _split(ps, signature)
    bit = data.draw(st.integers(0, 8 * ps.size - 1), label="bit")
    flip = 1 << bit
    other = _key(ps, d % (ps.q - 1) + 1)
    bad_digest = bytearray(digest)
    bad_digest[bit // 8] ^= 1 << (bit % 8)
    # Digests 0 and 1 (little-endian) are the same e = 1 (§6.2 step 2): that flip stays valid.
    e = lambda m: int.from_bytes(m, "little") % ps.q or 1  # noqa: E731
    cases = [
        (key, digest, r, s, True),
        (key, digest, r ^ flip, s, False),
        (key, digest, r, s ^ flip, False),
        (key, bytes(bad_digest), r, s, e(bytes(bad_digest)) == e(digest)),
        (other, digest, r, s, False),
    ]
    for path in PATHS:
        for k, m, rr, ss, want in cases:
            got = ecverify.verify_digest(k, m, _sig(ps, rr, ss), path=path)
            assert got is want, (path, want)
    # The references: the pure engine on the valid and one tampered case (it is slow), the gost
    # engine on all (production sets only: it knows no test curve).
    sig = lambda rr, ss: ss.to_bytes(ps.size, "big") + rr.to_bytes(ps.size, "big")  # noqa: E731
    n = ps.size
    for k, m, rr, ss, want in cases[:2]:
        if 0 < rr < ps.q:
            assert _pure.verify_digest(ps, k.x, k.y, m, sig(rr, ss)) is want
    if ps not in (TEST_256, TEST_512):
        for k, m, rr, ss, want in cases:
            if rr < 1 << 8 * n and ss < 1 << 8 * n:
                assert _native.verify_digest(k, m, sig(rr, ss)) is want


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("ps", ALL_SETS, ids=lambda p: p.name)
def test_r_or_s_zero_or_not_below_q_is_invalid(ps: ParamSet, path: ecverify.VerifyPath) -> None:
    d = generate_private_scalar(ps)
    key = _key(ps, d)
    digest = bytes(range(ps.size))
    r, s = _split(ps, _sign(ps, d, digest))
    assert ecverify.verify_digest(key, digest, _sig(ps, r, s), path=path) is True
    n = ps.size
    for rr, ss in ((0, s), (r, 0), (ps.q, s), (r, ps.q), (r + ps.q, s), (r, s + ps.q)):
        if max(rr, ss) < 1 << 8 * n:  # representable in s||r
            assert ecverify.verify_digest(key, digest, _sig(ps, rr, ss), path=path) is False
    good = _sig(ps, r, s)
    assert ecverify.verify_digest(key, digest, good[:-1], path=path) is False
    assert ecverify.verify_digest(key, digest, good + b"\0", path=path) is False
    # The extension checks r itself too: 0 and q are refused before any arithmetic.
    curve = ecverify._curve(ps)
    one = (1).to_bytes(n, "big")
    xy = (key.x.to_bytes(n, "big"), key.y.to_bytes(n, "big"))
    for bad_r in (0, ps.q):
        assert curve.check(one, one, bad_r.to_bytes(n, "big"), *xy) is False


@pytest.mark.parametrize("ps", [TEST_256, PARAM_SETS[0], PARAM_SETS[5], PARAM_SETS[-1]],
                         ids=lambda p: p.name)  # fmt: skip
def test_a_digest_of_zero_mod_q_is_read_as_e_equal_1(ps: ParamSet) -> None:
    # §6.2 step 2: e = alpha mod q, and e = 1 if that is 0. q itself and 1 give the same e.
    d = generate_private_scalar(ps)
    key = _key(ps, d)
    digest_q = ps.q.to_bytes(ps.size, "little")
    digest_1 = (1).to_bytes(ps.size, "little")
    r, s = _split(ps, _pure.sign_digest(ps, d, digest_1, None))
    for path in PATHS:
        assert ecverify.verify_digest(key, digest_q, _sig(ps, r, s), path=path) is True
        assert ecverify.verify_digest(key, digest_1, _sig(ps, r, s), path=path) is True
        assert ecverify.verify_digest(key, bytes(ps.size), _sig(ps, r, s), path=path) is True
        two = (2).to_bytes(ps.size, "little")
        assert ecverify.verify_digest(key, two, _sig(ps, r, s), path=path) is False
    assert _pure.verify_digest(ps, key.x, key.y, digest_q, s.to_bytes(ps.size, "big")
                               + r.to_bytes(ps.size, "big"))  # fmt: skip


@pytest.mark.parametrize("ps", ALL_SETS, ids=lambda p: p.name)
def test_every_special_case_of_the_addition(ps: ParamSet) -> None:
    """z1·P + z2·Q equal to O (P + (-P)), or with z2·Q = z1·P (P + P), on both paths."""
    n = ps.size
    d = generate_private_scalar(ps)
    key = _key(ps, d)
    curve = ecverify._curve(ps)
    table = curve.prepare(key.x.to_bytes(n, "big"), key.y.to_bytes(n, "big"))
    xy = (key.x.to_bytes(n, "big"), key.y.to_bytes(n, "big"))
    b = lambda v: (v % ps.q).to_bytes(n, "big")  # noqa: E731
    z1 = generate_private_scalar(ps)
    d_inv = pow(d, -1, ps.q)
    doubled = _pure.multiply(ps, 2 * z1, (ps.x, ps.y))
    assert doubled is not None
    r_double = doubled[0] % ps.q
    for r in range(1, 4):  # O matches no r
        assert curve.check_prepared(b(z1), b(-z1 * d_inv), b(r), table) is False
        assert curve.check(b(z1), b(-z1 * d_inv), b(r), *xy) is False
    assert curve.check_prepared(b(z1), b(z1 * d_inv), b(r_double), table) is True
    assert curve.check(b(z1), b(z1 * d_inv), b(r_double), *xy) is True
    assert curve.check(b(z1), b(z1 * d_inv), b(r_double + 1), *xy) is False
    # Zero scalars: O + z1·P and O alone.
    only = _pure.multiply(ps, z1, (ps.x, ps.y))
    assert only is not None
    assert curve.check(b(z1), b(0), b(only[0]), *xy) is True
    assert curve.check_prepared(b(0), b(0), b(1), table) is False


def test_the_extension_validates_its_inputs() -> None:
    ext = extension_module()
    assert ext is not None
    ps = PARAM_SETS[0]
    n = ps.size
    b = lambda v: v.to_bytes(n, "big")  # noqa: E731
    curve = ecverify._curve(ps)
    xy = (b(ps.x), b(ps.y))
    with pytest.raises(ValueError, match="32 bytes"):
        curve.check(b(1)[1:], b(1), b(1), *xy)
    with pytest.raises(ValueError, match="not on the curve"):
        curve.prepare(b(ps.x), b(ps.y + 1))
    with pytest.raises(ValueError, match="below p"):
        curve.check(b(1), b(1), b(1), b(ps.p), b(ps.y))
    with pytest.raises(TypeError):
        curve.check(1, b(1), b(1), *xy)  # type: ignore[arg-type]
    assert curve.on_curve(*xy) is True
    assert curve.on_curve(b(ps.x), b(ps.y + 1)) is False
    other = ecverify._curve(PARAM_SETS[-1])
    wide = PARAM_SETS[-1]
    foreign = other.prepare(wide.x.to_bytes(64, "big"), wide.y.to_bytes(64, "big"))
    with pytest.raises(ValueError, match="another curve"):
        curve.check_prepared(b(1), b(1), b(1), foreign)
    with pytest.raises(TypeError):
        curve.check_prepared(b(1), b(1), b(1), object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="odd prime"):
        ext.Curve(b(ps.p + 1), b(ps.a), b(ps.b), b(ps.q), *xy)
    with pytest.raises(ValueError, match="32 or 64"):
        ext.Curve(bytes(48), bytes(48), bytes(48), bytes(48), bytes(48), bytes(48))
    with pytest.raises(ValueError, match="not on the curve"):
        ext.Curve(b(ps.p), b(ps.a), b(ps.b ^ 1), b(ps.q), *xy)
    # A point of order 2 on a cofactor-4 set: (x, 0) with x a root of the cubic. No such key
    # passes GostPublicKey; the extension refuses its table rather than misbehaving.


def test_a_set_the_extension_refuses_is_left_to_the_engine() -> None:
    # q below 2^(bits-4): no set of the standard, refused by the extension's constructor.
    small_q = ParamSet("small-q", TEST_256.oid, 256, TEST_256.p, TEST_256.a, TEST_256.b, 1 << 200,
                       TEST_256.x, TEST_256.y)  # fmt: skip
    key = GostPublicKey(small_q, TEST_256.x, TEST_256.y)
    assert ecverify.verify_digest(key, bytes(32), _sig(small_q, 1, 1)) is None
    with pytest.raises(GostEngineFailure):
        ecverify.verify_digest(key, bytes(32), _sig(small_q, 1, 1), path="one-off")
    with pytest.raises(TypeError):
        ecverify.verify_digest(key, "x" * 32, _sig(small_q, 1, 1))  # type: ignore[arg-type]


def test_a_forged_key_off_the_curve_is_our_exception() -> None:
    ps = PARAM_SETS[0]
    key = _key(ps, 12345)
    object.__setattr__(key, "y", (key.y + 1) % ps.p)  # bypasses GostPublicKey's own check
    with pytest.raises(InvalidPublicKey):
        ecverify.prepare(key)
    with pytest.raises(InvalidPublicKey):
        ecverify.verify_digest(key, bytes(32), _sig(ps, 1, 1), path="one-off")


def test_a_key_gets_a_table_at_its_fourth_verification() -> None:
    require_engine("native")
    ps = PARAM_SETS[0]
    d = generate_private_scalar(ps)
    key = public_key_from_private(ps, d)
    digest = bytes(32)
    signature = sign_digest(ps, d, digest)
    assert ecverify.PREPARE_AT_USE[256] == 4
    for _ in range(3):
        assert verify_digest(key, digest, signature) is True
        assert not ecverify.is_prepared(key)
    assert verify_digest(key, digest, signature) is True
    assert ecverify.is_prepared(key)
    assert verify_digest(key, digest, signature[:-1] + bytes([signature[-1] ^ 1])) is False


def test_explicit_prepare_and_the_bound_on_tables() -> None:
    ps = PARAM_SETS[0]
    keys = [_key(ps, d) for d in range(2, 3 + ecverify.PREPARED_KEYS)]
    for key in keys:
        ecverify.prepare(key)
    assert not ecverify.is_prepared(keys[0])  # the least recently used went
    assert all(ecverify.is_prepared(k) for k in keys[1:])
    ecverify.prepare(keys[1])  # used again: now the most recent
    ecverify.prepare(keys[0])
    assert ecverify.is_prepared(keys[1])
    assert not ecverify.is_prepared(keys[2])


def test_a_size_outside_one_off_bits_is_left_to_the_engine_until_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ps = PARAM_SETS[-3]
    assert ps.bits == 512
    monkeypatch.setattr(ecverify, "ONE_OFF_BITS", frozenset({256}))
    d = generate_private_scalar(ps)
    key = _key(ps, d)
    digest = bytes(64)
    r, s = _split(ps, _pure.sign_digest(ps, d, digest, None))
    for _ in range(ecverify.PREPARE_AT_USE[512] - 1):
        assert ecverify.verify_digest(key, digest, _sig(ps, r, s)) is None
    assert ecverify.verify_digest(key, digest, _sig(ps, r, s)) is True  # now with a table
    assert ecverify.is_prepared(key)


def test_without_the_extension_the_package_imports_and_verifies_with_the_engine() -> None:
    require_engine("native")
    code = textwrap.dedent(
        """
        import importlib.abc, sys
        class _Absent(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "atlas_ca.gost._ecverify":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None
        sys.meta_path.insert(0, _Absent())
        import atlas_ca, atlas_ca.gost
        from atlas_ca.gost import param_set, generate_private_scalar, public_key_from_private
        from atlas_ca.gost import sign_digest, verify_digest
        from atlas_ca.gost.engine import extension_module
        ps = param_set("cryptopro-a")
        d = generate_private_scalar(ps)
        key = public_key_from_private(ps, d)
        sig = sign_digest(ps, d, bytes(32))
        assert verify_digest(key, bytes(32), sig) and verify_digest(key, bytes(32), sig)
        assert not verify_digest(key, bytes(31) + b"1", sig)
        assert extension_module() is None
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_importing_atlas_ca_does_not_load_the_extension() -> None:
    code = "import sys, atlas_ca, atlas_ca.gost; print('atlas_ca.gost._ecverify' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

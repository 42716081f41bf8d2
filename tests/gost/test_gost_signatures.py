"""GOST R 34.10-2012 on both engines: the standard's examples, round trips, tampering."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.errors import InvalidKey
from atlas_ca.gost import (
    PARAM_SETS,
    EngineName,
    GostPublicKey,
    ParamSet,
    generate_private_scalar,
    param_set,
    public_key_from_private,
    sign,
    sign_digest,
    verify,
    verify_digest,
)
from atlas_ca.gost.params import TEST_256, TEST_512
from support.gost_test_support import ENGINES, load_vectors, require_engine

EXAMPLES = load_vectors("gost3410_2012.json")
TEST_SETS = {"test-256": TEST_256, "test-512": TEST_512}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> EngineName:
    return require_engine(str(request.param))


def _h(value: str) -> int:
    return int(value, 16)


@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_example_curve_is_the_one_the_standard_prints(vector: dict[str, str]) -> None:
    ps = TEST_SETS[vector["param_set"]]
    assert (ps.p, ps.a, ps.b, ps.q) == tuple(_h(vector[k]) for k in ("p", "a", "b", "q"))
    assert (ps.x, ps.y) == (_h(vector["xp"]), _h(vector["yp"]))


@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_example_public_key_is_d_times_p(engine: EngineName, vector: dict[str, str]) -> None:
    ps = TEST_SETS[vector["param_set"]]
    key = public_key_from_private(ps, _h(vector["d"]), engine=engine)
    assert (key.x, key.y) == (_h(vector["xq"]), _h(vector["yq"]))


@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_example_signature_with_the_fixed_k_is_s_then_r(vector: dict[str, str]) -> None:
    ps = TEST_SETS[vector["param_set"]]
    digest = _h(vector["e"]).to_bytes(ps.size, "little")
    signature = sign_digest(ps, _h(vector["d"]), digest, k=_h(vector["k"]))
    expected = _h(vector["s"]).to_bytes(ps.size, "big") + _h(vector["r"]).to_bytes(ps.size, "big")
    assert signature == expected


@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_example_signature_verifies_and_a_flipped_bit_does_not(
    engine: EngineName, vector: dict[str, str]
) -> None:
    ps = TEST_SETS[vector["param_set"]]
    key = GostPublicKey(ps, _h(vector["xq"]), _h(vector["yq"]))
    digest = _h(vector["e"]).to_bytes(ps.size, "little")
    signature = _h(vector["s"]).to_bytes(ps.size, "big") + _h(vector["r"]).to_bytes(ps.size, "big")
    assert verify_digest(key, digest, signature, engine=engine)
    tampered = bytearray(signature)
    tampered[5] ^= 0x10
    assert not verify_digest(key, digest, bytes(tampered), engine=engine)
    other = bytearray(digest)
    other[0] ^= 1
    assert not verify_digest(key, bytes(other), signature, engine=engine)


@pytest.mark.parametrize("vector", EXAMPLES, ids=lambda v: v["name"])
def test_example_key_signs_with_a_random_k_verifiably(
    engine: EngineName, vector: dict[str, str]
) -> None:
    ps = TEST_SETS[vector["param_set"]]
    key = GostPublicKey(ps, _h(vector["xq"]), _h(vector["yq"]))
    digest = _h(vector["e"]).to_bytes(ps.size, "little")
    signature = sign_digest(ps, _h(vector["d"]), digest, engine=engine)
    assert len(signature) == 2 * ps.size
    assert verify_digest(key, digest, signature, engine="pure")


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_every_parameter_set_signs_and_verifies(engine: EngineName, ps: ParamSet) -> None:
    d = generate_private_scalar(ps)
    key = public_key_from_private(ps, d, engine=engine)
    signature = sign(ps, d, b"certificate TBS bytes", engine=engine)
    assert verify(key, b"certificate TBS bytes", signature, engine=engine)
    assert not verify(key, b"certificate TBS bytez", signature, engine=engine)


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_engines_agree_on_public_keys_and_accept_each_others_signatures(ps: ParamSet) -> None:
    require_engine("native")
    d = generate_private_scalar(ps)
    native_key = public_key_from_private(ps, d, engine="native")
    assert native_key == public_key_from_private(ps, d, engine="pure")
    data = b"agree" * 10
    assert verify(native_key, data, sign(ps, d, data, engine="native"), engine="pure")
    assert verify(native_key, data, sign(ps, d, data, engine="pure"), engine="native")


_FAST_SETS = [param_set("tc26-256-a"), param_set("cryptopro-a"), param_set("tc26-512-c")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ps=st.sampled_from(_FAST_SETS),
    data=st.binary(max_size=200),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_sign_verify_round_trip_and_any_flipped_bit_fails(
    ps: ParamSet, data: bytes, flip: int
) -> None:
    d = generate_private_scalar(ps)
    key = public_key_from_private(ps, d)
    signature = sign(ps, d, data)
    assert verify(key, data, signature)
    bit = flip % (len(signature) * 8)
    tampered = bytearray(signature)
    tampered[bit // 8] ^= 1 << (bit % 8)
    assert not verify(key, data, bytes(tampered))


def test_signatures_of_the_wrong_length_or_out_of_range_are_invalid() -> None:
    ps = param_set("cryptopro-a")
    d = generate_private_scalar(ps)
    key = public_key_from_private(ps, d)
    digest = bytes(32)
    assert not verify_digest(key, digest, b"\x01" * 63)
    assert not verify_digest(key, digest, bytes(64))
    q = ps.q.to_bytes(32, "big")
    assert not verify_digest(key, digest, q + q)


def test_private_scalars_out_of_range_are_refused_without_showing_them() -> None:
    ps = param_set("tc26-256-b")
    for bad in (0, ps.q, ps.q + 12345):
        with pytest.raises(InvalidKey) as info:
            sign_digest(ps, bad, bytes(32))
        assert str(bad) not in str(info.value)
        assert hex(bad)[2:] not in str(info.value).lower()


def test_digest_length_must_match_the_parameter_set() -> None:
    ps = param_set("tc26-512-a")
    with pytest.raises(ValueError, match="64-byte"):
        sign_digest(ps, 5, bytes(32))


def test_generated_scalars_are_in_range_and_differ() -> None:
    ps = param_set("tc26-256-a")
    scalars = {generate_private_scalar(ps) for _ in range(20)}
    assert len(scalars) == 20
    assert all(0 < d < ps.q for d in scalars)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ps=st.sampled_from([param_set("tc26-256-b"), param_set("tc26-512-b")]),
    digest_seed=st.binary(min_size=64, max_size=64),
)
def test_native_and_pure_accept_each_others_signatures_on_random_digests(
    ps: ParamSet, digest_seed: bytes
) -> None:
    require_engine("native")
    digest = digest_seed[: ps.size]
    d = generate_private_scalar(ps)
    key = public_key_from_private(ps, d, engine="native")
    assert key == public_key_from_private(ps, d, engine="pure")
    by_native = sign_digest(ps, d, digest, engine="native")
    by_pure = sign_digest(ps, d, digest, engine="pure")
    for signature in (by_native, by_pure):
        assert verify_digest(key, digest, signature, engine="native")
        assert verify_digest(key, digest, signature, engine="pure")

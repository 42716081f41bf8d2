"""GostPublicKey encodings, parameter sets and the asn1crypto registration."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from asn1crypto import algos, core, keys
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1.oids import GostAlgorithm, GostParamSet
from atlas_ca.errors import InvalidKey, UnknownParameterSet, WeakPublicKey
from atlas_ca.gost import (
    PARAM_SETS,
    TEST_PARAM_SETS,
    GostPublicKey,
    ParamSet,
    param_set,
    public_key_from_private,
)
from support.atlas_testing import OpenSSL

# A fixed, valid key per set: d = 2 (cheap to derive, and a real point of the group).
KEYS = {ps.name: public_key_from_private(ps, 2, engine="pure") for ps in PARAM_SETS}


def test_there_are_twelve_production_sets_with_distinct_oids_and_names() -> None:
    assert len(PARAM_SETS) == 12
    assert len({ps.oid.dotted for ps in PARAM_SETS}) == 12
    assert len({ps.name for ps in PARAM_SETS}) == 12
    assert {ps.bits for ps in PARAM_SETS} == {256, 512}


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_param_set_is_found_by_name_oid_and_asn1_name(ps: ParamSet) -> None:
    assert param_set(ps.name) is ps
    assert param_set(ps.oid.dotted) is ps
    assert param_set(ps.oid.name) is ps
    assert param_set(ps.name.upper()) is ps


def test_unknown_and_test_sets_are_refused() -> None:
    for name in ("tc26-256-e", "1.2.3.4", "", TEST_PARAM_SETS[0].oid.dotted, "test-512"):
        with pytest.raises(UnknownParameterSet, match="unknown GOST"):
            param_set(name)


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_curves_are_those_gostcrypto_and_r_1323565_1_024_define(ps: ParamSet) -> None:
    from gostcrypto.gostsignature.gost_34_10_2012 import CURVES_R_1323565_1_024_2019

    tc26_of = {
        "cryptopro-a": "256-paramSetB",
        "cryptopro-xcha": "256-paramSetB",
        "cryptopro-b": "256-paramSetC",
        "cryptopro-c": "256-paramSetD",
        "cryptopro-xchb": "256-paramSetD",
    }
    suffix = tc26_of.get(ps.name, f"{ps.bits}-paramSet{ps.name[-1].upper()}")
    curves = CURVES_R_1323565_1_024_2019
    (name,) = [n for n in curves if n.endswith(suffix)]
    from gostcrypto.gostsignature.gost_34_10_2012 import GOST34102012, MODE_256, MODE_512

    ref = GOST34102012(MODE_256 if ps.bits == 256 else MODE_512, curves[name])
    assert (ps.p, ps.a, ps.b, ps.q, ps.x, ps.y) == (
        ref._p, ref._a, ref._b, ref._q, ref._x, ref._y,
    )  # fmt: skip
    assert ps.q * ps.cofactor == ref._m


def test_twisted_edwards_sets_have_cofactor_four() -> None:
    assert param_set("tc26-256-a").cofactor == 4
    assert param_set("tc26-512-c").cofactor == 4
    assert all(ps.cofactor == 1 for ps in PARAM_SETS if ps.name not in ("tc26-256-a", "tc26-512-c"))


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_point_bytes_are_x_then_y_little_endian(ps: ParamSet) -> None:
    key = KEYS[ps.name]
    raw = key.to_bytes()
    assert len(raw) == 2 * ps.size
    assert raw[: ps.size] == key.x.to_bytes(ps.size, "little")
    assert GostPublicKey.from_bytes(ps, raw) == key
    assert key.key_type is (
        KeyType.GOST3410_2012_256 if ps.bits == 256 else KeyType.GOST3410_2012_512
    )


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_spki_round_trips_and_carries_digest_param_set_only_for_cryptopro(ps: ParamSet) -> None:
    key = KEYS[ps.name]
    der = key.spki_der()
    assert GostPublicKey.from_spki_der(der) == key
    info = keys.PublicKeyInfo.load(der)
    assert info["algorithm"]["algorithm"].dotted == ps.algorithm_oid.dotted
    params = info["algorithm"]["parameters"]
    assert params["public_key_param_set"].dotted == ps.oid.dotted
    digest = params["digest_param_set"]
    if ps.name.startswith("cryptopro"):
        assert digest.dotted == GostAlgorithm.GOST3411_2012_256.dotted
    else:
        assert isinstance(digest, core.Void)
    assert info["public_key"].parsed.native == key.to_bytes()


def test_off_curve_points_are_invalid_keys() -> None:
    ps = param_set("tc26-256-b")
    key = KEYS[ps.name]
    with pytest.raises(InvalidKey, match="not a point"):
        GostPublicKey(ps, key.x, key.y + 1)
    with pytest.raises(InvalidKey, match="not a point"):
        GostPublicKey(ps, key.x + ps.p, key.y)
    with pytest.raises(InvalidKey, match="64 bytes"):
        GostPublicKey.from_bytes(ps, b"\x00" * 63)


def test_spki_with_a_mismatched_digest_param_set_is_refused() -> None:
    ps = param_set("cryptopro-a")
    der = asn1_gost.encode_spki(
        ps.algorithm_oid.dotted,
        ps.oid.dotted,
        GostAlgorithm.GOST3411_2012_512.dotted,
        KEYS[ps.name].to_bytes(),
    )
    with pytest.raises(InvalidKey, match="digestParamSet"):
        GostPublicKey.from_spki_der(der)


def test_spki_with_a_512_bit_set_under_the_256_bit_algorithm_is_refused() -> None:
    ps = param_set("tc26-512-a")
    der = asn1_gost.encode_spki(
        GostAlgorithm.GOST3410_2012_256.dotted, ps.oid.dotted, None, KEYS[ps.name].to_bytes()
    )
    with pytest.raises(InvalidKey, match="512-bit"):
        GostPublicKey.from_spki_der(der)


def test_spki_of_another_algorithm_or_test_set_is_refused() -> None:
    ec = keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": ("named", "secp256r1")},
            "public_key": b"\x04" + b"\x01" * 64,
        }
    ).dump()
    with pytest.raises(InvalidKey, match="not GOST"):
        GostPublicKey.from_spki_der(ec)
    test_set = TEST_PARAM_SETS[0]
    der = asn1_gost.encode_spki(test_set.algorithm_oid.dotted, test_set.oid.dotted, None, bytes(64))
    with pytest.raises(InvalidKey, match="unknown parameter set"):
        GostPublicKey.from_spki_der(der)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_anything_but_invalid_key(blob: bytes) -> None:
    with contextlib.suppress(InvalidKey):
        GostPublicKey.from_spki_der(blob)


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), value=st.integers(0, 255))
def test_corrupted_spki_is_either_a_valid_key_or_invalid_key(position: int, value: int) -> None:
    der = bytearray(KEYS["tc26-256-a"].spki_der())
    der[position % len(der)] = value
    try:
        key = GostPublicKey.from_spki_der(bytes(der))
    except InvalidKey:
        return
    assert key.param_set.contains(key.x, key.y)


@settings(max_examples=60, deadline=None)
@given(ps=st.sampled_from(PARAM_SETS), raw=st.binary(min_size=64, max_size=64))
def test_random_points_decode_only_when_on_the_curve(ps: ParamSet, raw: bytes) -> None:
    raw = (raw * 2)[: 2 * ps.size]
    try:
        key = GostPublicKey.from_bytes(ps, raw)
    except InvalidKey:
        return
    assert key.to_bytes() == raw


def test_register_gost_is_idempotent_and_patches_reverse_maps() -> None:
    asn1_gost.register_gost()
    asn1_gost.register_gost()
    assert (
        keys.PublicKeyAlgorithmId("gost3410_2012_256").dotted
        == GostAlgorithm.GOST3410_2012_256.dotted
    )
    assert algos.SignedDigestAlgorithmId(asn1_gost.SIG_512).dotted == (
        GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted
    )
    assert algos.DigestAlgorithmId("streebog256").dotted == GostAlgorithm.GOST3411_2012_256.dotted
    assert (
        asn1_gost.GostR34102012PublicKeyParameters(
            {"public_key_param_set": "id-tc26-gost-3410-12-256-paramSetA"}
        )["public_key_param_set"].dotted
        == GostParamSet.TC26_256_A.dotted
    )


def test_openssl_generated_keys_parse(openssl_gost: OpenSSL, tmp_path: Path) -> None:
    for algorithm, paramset, expected in (
        ("gost2012_256", "A", "cryptopro-a"),
        ("gost2012_256", "TCA", "tc26-256-a"),
        ("gost2012_256", "XB", "cryptopro-xchb"),
        ("gost2012_512", "A", "tc26-512-a"),
        ("gost2012_512", "C", "tc26-512-c"),
    ):
        pem = tmp_path / f"{algorithm}-{paramset}.pem"
        openssl_gost.run(
            ["genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}", "-out", pem]
        )
        der = openssl_gost.run(["pkey", "-in", pem, "-pubout", "-outform", "DER"]).stdout
        key = GostPublicKey.from_spki_der(der)
        assert key.param_set.name == expected
        if expected != "tc26-512-a":  # OpenSSL adds a digestParamSet to 512-bit sets A/B
            assert key.spki_der() == der


def test_module_registers_on_import_in_a_fresh_interpreter() -> None:
    import subprocess
    import sys

    code = (
        "from asn1crypto import keys\n"
        "keys.PublicKeyAlgorithmId('rsa').dump()\n"
        "assert keys.PublicKeyAlgorithmId._reverse_map is not None\n"
        "import atlas_ca.gost\n"
        "print(keys.PublicKeyAlgorithmId('gost3410_2012_512').dotted)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    ).stdout.strip()
    assert out == GostAlgorithm.GOST3410_2012_512.dotted


@settings(max_examples=60, deadline=None)
@given(ps=st.sampled_from(PARAM_SETS), seed=st.integers(min_value=1, max_value=(1 << 512)))
def test_spki_and_point_encodings_round_trip_for_random_keys(ps: ParamSet, seed: int) -> None:
    d = seed % (ps.q - 1) + 1
    key = public_key_from_private(ps, d)
    assert GostPublicKey.from_bytes(ps, key.to_bytes()) == key
    der = key.spki_der()
    assert GostPublicKey.from_spki_der(der) == key
    assert GostPublicKey.from_spki_der(der).spki_der() == der


def test_our_pkcs8_layout_is_what_openssl_reads(openssl_gost: OpenSSL, tmp_path: Path) -> None:
    for name in ("cryptopro-a", "tc26-256-a", "tc26-512-c"):
        ps = param_set(name)
        d = 0x1234567890ABCDEF % ps.q
        digest = ps.digest_param_set.dotted if ps.digest_param_set else None
        der = asn1_gost.encode_pkcs8(
            ps.algorithm_oid.dotted, ps.oid.dotted, digest, d.to_bytes(ps.size, "little")
        )
        info = keys.PrivateKeyInfo.load(der)
        assert info["private_key"].parsed.native == d.to_bytes(ps.size, "little")
        path = tmp_path / f"{name}.p8"
        path.write_bytes(der)
        spki = openssl_gost.run(
            ["pkey", "-inform", "DER", "-in", path, "-pubout", "-outform", "DER"]
        ).stdout
        assert GostPublicKey.from_spki_der(spki) == public_key_from_private(ps, d, engine="pure")


@pytest.mark.parametrize("name", ["tc26-256-a", "tc26-512-c"])
def test_points_with_a_small_order_component_fail_the_order_check(name: str) -> None:
    from atlas_ca.gost._pure import multiply

    ps = param_set(name)
    good = KEYS[ps.name]
    good.check_order()
    # Find a point of order dividing 4 (not infinity): cofactor · q-multiples vanish, so take a
    # random curve point R and use q·R, whose order divides the cofactor.
    x = 2
    while True:
        rhs = (x**3 + ps.a * x + ps.b) % ps.p
        y = pow(rhs, (ps.p + 1) // 4, ps.p) if ps.p % 4 == 3 else None
        if y is not None and y * y % ps.p == rhs:
            small = multiply(ps, ps.q, (x, y))
            if small is not None:
                break
        x += 1
    from atlas_ca.gost._pure import _add

    point = _add(ps, (good.x, good.y), small)
    assert point is not None
    assert ps.contains(*point)
    # On the curve, but construction now refuses it (issue 15 item 1): no GostPublicKey ever
    # holds a point with a small-order component.
    with pytest.raises(WeakPublicKey, match="prime-order subgroup"):
        GostPublicKey(ps, *point)


def test_order_check_is_free_on_cofactor_one_sets() -> None:
    KEYS["cryptopro-a"].check_order()


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
@pytest.mark.parametrize("with_digest", [True, False], ids=["digestParamSet", "none"])
def test_spki_read_by_its_prefix_agrees_with_asn1crypto_on_random_keys(
    ps: ParamSet, with_digest: bool
) -> None:
    digest = ps.digest_oid.dotted if with_digest else None
    for _ in range(3):
        d = int.from_bytes(os.urandom(ps.size + 8), "big") % (ps.q - 1) + 1
        key = public_key_from_private(ps, d)
        der = asn1_gost.encode_spki(ps.algorithm_oid.dotted, ps.oid.dotted, digest, key.to_bytes())
        general = asn1_gost.decode_spki(der)
        assert general.public_key_param_set == ps.oid.dotted
        assert GostPublicKey.from_spki_der(der) == key
        # Bytes that are not `bytes` take the general decoder and give the same key.
        assert GostPublicKey.from_spki_der(bytearray(der)) == key
    # What we write is what asn1crypto writes.
    mine = ps.digest_param_set.dotted if ps.digest_param_set is not None else None
    assert key.spki_der() == asn1_gost.encode_spki(
        ps.algorithm_oid.dotted, ps.oid.dotted, mine, key.to_bytes()
    )


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda p: p.name)
def test_spki_read_by_its_prefix_still_refuses_points_off_the_curve(ps: ParamSet) -> None:
    key = KEYS[ps.name]
    n = ps.size
    off = key.x.to_bytes(n, "little") + ((key.y + 1) % ps.p).to_bytes(n, "little")
    der = key.spki_der()
    with pytest.raises(InvalidKey, match="not a point"):
        GostPublicKey.from_spki_der(der[: -2 * n] + off)
    # x = p (reduced, it would be 0): out of range, refused rather than reduced.
    x_is_p = ps.p.to_bytes(n, "little") + key.y.to_bytes(n, "little")
    with pytest.raises(InvalidKey, match="not a point"):
        GostPublicKey.from_spki_der(der[: -2 * n] + x_is_p)
    # One byte short or long: no longer one of the known prefixes, and asn1crypto refuses it.
    with pytest.raises(InvalidKey):
        GostPublicKey.from_spki_der(der[:-1])
    with pytest.raises(InvalidKey):
        GostPublicKey.from_spki_der(der + b"\x00")


@pytest.mark.parametrize("ps", [*PARAM_SETS, *TEST_PARAM_SETS], ids=lambda p: p.name)
@pytest.mark.parametrize("with_digest", [True, False], ids=["digestParamSet", "none"])
def test_spki_prefixes_are_written_without_asn1crypto_as_asn1crypto_writes_them(
    ps: ParamSet, with_digest: bool
) -> None:
    # Issue 17: the prefixes ``spki_der`` and ``from_spki_der`` use are DER written by hand
    # (asn1crypto took ≈ 6 ms to build them in every process that opens a GOST key).
    from atlas_ca.gost.keys import _spki_prefix_der

    n = 2 * ps.size
    digest = ps.digest_oid.dotted if with_digest else None
    alg, curve = ps.algorithm_oid.dotted, ps.oid.dotted
    by_asn1crypto = asn1_gost.encode_spki(alg, curve, digest, bytes(n))[:-n]
    assert _spki_prefix_der(alg, curve, digest, n) == by_asn1crypto

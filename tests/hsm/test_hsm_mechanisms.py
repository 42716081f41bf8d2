"""Mechanism tables: TC26 vendor constants against the primary source, pre- and post-steps."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from atlas_ca.algorithms import DEFAULT_SIGNATURE, KeyType
from atlas_ca.gost import streebog256, streebog512
from atlas_ca.hsm import mechanisms as m

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "tc26_pkcs11_constants.txt"


def _source_constants() -> dict[str, int]:
    out = {}
    for line in VECTORS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _expr, value = line.split()
        out[name] = int(value, 16)
    return out


def test_source_file_is_self_consistent() -> None:
    src = _source_constants()
    base = src["CK_VENDOR_PKCS11_RU_TEAM_TC26"]
    assert base == 0x80000000 | 0x54321000
    for line in VECTORS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, expr, value = line.split()
        if expr.startswith("CK_VENDOR_PKCS11_RU_TEAM_TC26|"):
            assert base | int(expr.split("|")[1], 16) == int(value, 16), name


def test_every_gost_constant_matches_the_tc26_source() -> None:
    src = _source_constants()
    ours = {name: m.NAMES[name] for name in src}
    assert ours == src


def test_gost_512_signs_through_the_vendor_mechanism_with_a_streebog512_prehash() -> None:
    entry = m.SIGNING[KeyType.GOST3410_2012_512]
    assert entry.number == 0xD4321006
    assert entry.prehash is m.PreHash.STREEBOG512
    assert m.KEYGEN[KeyType.GOST3410_2012_512].number == 0xD4321005
    assert m.KEYGEN[KeyType.GOST3410_2012_512].key_class_type == 0xD4321003
    gost256 = m.SIGNING[KeyType.GOST3410_2012_256]
    assert (gost256.number, gost256.prehash, gost256.post) == (
        0x1201,
        m.PreHash.STREEBOG256,
        m.PostStep.AS_IS,
    )


def test_every_key_type_has_a_signing_and_keygen_entry_matching_its_default_algorithm() -> None:
    for kt in (t for t in KeyType if not t.read_only):
        assert m.SIGNING[kt].signature_algorithm is DEFAULT_SIGNATURE[kt]
        assert kt in m.KEYGEN


def test_mechanism_names_are_readable_for_known_and_unknown_numbers() -> None:
    assert m.mechanism_name(0xD4321006) == "CKM_GOSTR3410_512 (0xD4321006)"
    assert m.mechanism_name(0x1201) == "CKM_GOSTR3410 (0x1201)"
    assert m.mechanism_name(0x12345) == "mechanism 0x12345"


def test_prehash_steps_compute_the_digest_the_signature_algorithm_needs() -> None:
    data = b"atlas" * 100
    assert m.prehash(m.PreHash.STREEBOG256, data) == streebog256(data)
    assert m.prehash(m.PreHash.STREEBOG512, data) == streebog512(data)
    assert m.prehash(m.PreHash.SHA384, data) == hashlib.sha384(data).digest()
    assert m.prehash(m.PreHash.NONE, data) == data
    h = m.new_hasher(m.PreHash.STREEBOG256)
    h.update(data[:7])
    h.update(memoryview(data[7:]))
    assert h.digest() == streebog256(data)
    s = m.new_hasher(m.PreHash.SHA256)
    s.update(data)
    assert s.digest() == hashlib.sha256(data).digest()
    with pytest.raises(ValueError, match="no software hasher"):
        m.new_hasher(m.PreHash.NONE)


def test_rsa_token_input_is_the_sha256_digest_info() -> None:
    rsa = m.SIGNING[KeyType.RSA]
    digest = hashlib.sha256(b"x").digest()
    # RFC 8017 §9.2 note 1: DER(DigestInfo) for SHA-256 is this 19-byte prefix + H.
    assert rsa.token_input(digest).hex().startswith("3031300d060960864801650304020105000420")
    assert len(rsa.token_input(digest)) == 51


def test_ecdsa_post_step_turns_raw_r_s_into_der() -> None:
    r, s = 0x1234, (1 << 255) + 7
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert decode_dss_signature(m.post_process(m.PostStep.ECDSA_RAW_TO_DER, raw)) == (r, s)
    assert m.post_process(m.PostStep.AS_IS, raw) == raw
    with pytest.raises(ValueError, match="odd length"):
        m.post_process(m.PostStep.ECDSA_RAW_TO_DER, raw[:-1])

"""verify_signature: every supported algorithm, wrong keys, wrong algorithms, bad keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.x509.signatures import verify_signature
from support.x509_signers import MemoryKey, ecdsa_key, ed25519_key, gost_key

DATA = "подписываемые данные".encode()

KEYS = {
    "gost-cryptopro-a": lambda: gost_key("cryptopro-a"),
    "gost-tc26-256-a": lambda: gost_key("tc26-256-a"),
    "gost-tc26-512-a": lambda: gost_key("tc26-512-a"),
    "ecdsa-p256": ecdsa_key,
    "ed25519": ed25519_key,
}


@pytest.fixture(params=sorted(KEYS), scope="module")
def key(request: pytest.FixtureRequest) -> MemoryKey:
    return KEYS[request.param]()


def test_a_good_signature_verifies(key: MemoryKey) -> None:
    verify_signature(key.public_key_info, key.signature_algorithm, DATA, key.sign(DATA))


def test_a_signature_over_other_data_is_invalid(key: MemoryKey) -> None:
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_signature(key.public_key_info, key.signature_algorithm, DATA + b"!", key.sign(DATA))


def test_a_signature_by_another_key_of_the_same_kind_is_invalid(key: MemoryKey) -> None:
    if key._gost is not None:
        other = gost_key(key._gost[0].name)
    else:
        other = ecdsa_key() if key.key_type is KeyType.EC_P256 else ed25519_key()
    assert other.public_key_info != key.public_key_info
    with pytest.raises(SignatureInvalid):
        verify_signature(other.public_key_info, key.signature_algorithm, DATA, key.sign(DATA))


def test_an_algorithm_that_does_not_fit_the_key_is_invalid(key: MemoryKey) -> None:
    wrong = (
        SignatureAlgorithm.ED25519
        if key.signature_algorithm is not SignatureAlgorithm.ED25519
        else SignatureAlgorithm.ECDSA_SHA256
    )
    with pytest.raises(SignatureInvalid, match="does not fit"):
        verify_signature(key.public_key_info, wrong, DATA, key.sign(DATA))


def test_gost_256_and_512_are_not_interchangeable() -> None:
    k = gost_key("tc26-512-a")
    with pytest.raises(SignatureInvalid, match="does not fit a gost2012-512 key"):
        verify_signature(k.public_key_info, SignatureAlgorithm.GOST3410_2012_256, DATA, bytes(64))


def test_truncated_or_empty_signatures_are_invalid_not_crashes(key: MemoryKey) -> None:
    sig = key.sign(DATA)
    for bad in (b"", sig[:-1], sig + b"\x00"):
        with pytest.raises(SignatureInvalid):
            verify_signature(key.public_key_info, key.signature_algorithm, DATA, bad)


def test_rsa_pkcs1_sha256_verifies_through_cryptography() -> None:
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = k.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sig = k.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    verify_signature(spki, SignatureAlgorithm.RSA_SHA256, DATA, sig)
    with pytest.raises(SignatureInvalid):
        verify_signature(spki, SignatureAlgorithm.RSA_SHA256, DATA, sig[::-1])


@pytest.mark.parametrize("spki", [b"", b"\x30\x00", b"\x30\x03\x02\x01\x01", bytes(40)])
def test_unreadable_keys_are_decode_errors(spki: bytes) -> None:
    for alg in (SignatureAlgorithm.GOST3410_2012_256, SignatureAlgorithm.ECDSA_SHA256):
        with pytest.raises(DecodeError):
            verify_signature(spki, alg, DATA, bytes(64))

"""The software backend: encrypted PKCS#8 files that OpenSSL's gost engine reads, every key type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.errors import InvalidKeyUri, KeyNotFound, PinIncorrect, WrongKeyType
from atlas_ca.hsm import PrehashSigningKey, SigningKey, open_key
from atlas_ca.hsm.software import generate_software_key, open_software_key

FAST = 1000  # PBKDF2 iterations for tests; the default (600,000) is tested once


@pytest.mark.parametrize(
    ("key_type", "param_set"),
    [
        (KeyType.GOST3410_2012_256, "cryptopro-a"),
        (KeyType.GOST3410_2012_256, "cryptopro-b"),
        (KeyType.GOST3410_2012_256, "cryptopro-c"),
        (KeyType.GOST3410_2012_256, "cryptopro-xcha"),
        (KeyType.GOST3410_2012_256, "cryptopro-xchb"),
        (KeyType.GOST3410_2012_256, "tc26-256-a"),
        (KeyType.GOST3410_2012_512, "tc26-512-a"),
        (KeyType.GOST3410_2012_512, "tc26-512-b"),
        (KeyType.GOST3410_2012_512, "tc26-512-c"),
    ],
)
def test_gost_key_files_sign_verifiably_on_every_parameter_set(
    tmp_path: Path, key_type: KeyType, param_set: str
) -> None:
    uri = generate_software_key(
        tmp_path / "k.pem", key_type, password="pw", param_set=param_set, iterations=FAST
    )
    key = open_key(uri, pin="pw")
    assert isinstance(key, PrehashSigningKey)
    assert key.key_type is key_type
    assert key.qualified_use_allowed is False
    pub = gost.GostPublicKey.from_spki_der(key.public_key_info)
    assert pub.param_set.name == param_set
    assert gost.verify(pub, b"payload", key.sign(b"payload"))
    h = key.new_hasher()
    h.update(b"pay")
    h.update(b"load")
    assert gost.verify(pub, b"payload", key.sign_digest(h.digest()))


@pytest.mark.parametrize("param_set", ["cryptopro-a", "tc26-256-a", "tc26-512-a", "tc26-512-c"])
def test_openssl_gost_engine_reads_our_gost_key_file_and_verifies_its_signature(
    tmp_path: Path, openssl_gost: Any, param_set: str
) -> None:
    bits = 512 if "512" in param_set else 256
    kt = KeyType.GOST3410_2012_512 if bits == 512 else KeyType.GOST3410_2012_256
    path = tmp_path / "k.pem"
    uri = generate_software_key(path, kt, password="s3cret", param_set=param_set, iterations=FAST)
    key = open_software_key(uri, password="s3cret")
    # OpenSSL decrypts the PBES2 file and derives the same public key from the private scalar.
    out = openssl_gost.run(
        ["pkey", "-in", path, "-passin", "pass:s3cret", "-pubout", "-outform", "DER"]
    ).stdout
    assert gost.GostPublicKey.from_spki_der(out) == gost.GostPublicKey.from_spki_der(
        key.public_key_info
    )
    # And it verifies our signature with the SPKI we publish.
    pub_pem = tmp_path / "pub.pem"
    pub_pem.write_bytes(
        openssl_gost.run(["pkey", "-pubin", "-inform", "DER"], input=key.public_key_info).stdout
    )
    data = tmp_path / "data"
    data.write_bytes(b"signed by atlas_ca")
    sig = tmp_path / "sig"
    sig.write_bytes(key.sign(b"signed by atlas_ca"))
    proc = openssl_gost.run(
        ["dgst", f"-md_gost12_{bits}", "-verify", pub_pem, "-signature", sig, data]
    )
    assert b"Verified OK" in proc.stdout
    # A wrong password is refused by OpenSSL as well.
    bad = openssl_gost.run(["pkey", "-in", path, "-passin", "pass:nope"], check=False)
    assert bad.returncode != 0


def test_a_key_openssl_signs_with_verifies_with_atlas_gost(
    tmp_path: Path, openssl_gost: Any
) -> None:
    path = tmp_path / "k.pem"
    uri = generate_software_key(
        path, KeyType.GOST3410_2012_256, password="pw", param_set="cryptopro-a", iterations=FAST
    )
    key = open_software_key(uri, password="pw")
    data = tmp_path / "data"
    data.write_bytes(b"openssl signs")
    plain = tmp_path / "plain.pem"
    openssl_gost.run(["pkey", "-in", path, "-passin", "pass:pw", "-out", plain])
    sig = openssl_gost.run(["dgst", "-md_gost12_256", "-sign", plain, data]).stdout
    pub = gost.GostPublicKey.from_spki_der(key.public_key_info)
    assert gost.verify(pub, b"openssl signs", sig)


def test_non_gost_key_files_sign_what_cryptography_verifies(tmp_path: Path) -> None:
    data = b"non-GOST PKI"
    for kt in (KeyType.EC_P256, KeyType.EC_P384, KeyType.ED25519, KeyType.RSA):
        uri = generate_software_key(
            tmp_path / f"{kt.value}.pem", kt, password="pw", iterations=FAST, rsa_bits=2048
        )
        key = open_software_key(uri, password="pw")
        assert isinstance(key, SigningKey)
        pub = serialization.load_der_public_key(key.public_key_info)
        sig = key.sign(data)
        if kt is KeyType.ED25519:
            assert isinstance(pub, ed25519.Ed25519PublicKey)
            assert not isinstance(key, PrehashSigningKey)
            pub.verify(sig, data)
        elif kt is KeyType.RSA:
            assert isinstance(pub, rsa.RSAPublicKey)
            assert key.signature_algorithm is SignatureAlgorithm.RSA_SHA256
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(pub, ec.EllipticCurvePublicKey)
            algo = hashes.SHA256() if kt is KeyType.EC_P256 else hashes.SHA384()
            pub.verify(sig, data, ec.ECDSA(algo))
            assert isinstance(key, PrehashSigningKey)
            h = key.new_hasher()
            h.update(data)
            pub.verify(key.sign_digest(h.digest()), data, ec.ECDSA(algo))


def test_openssl_reads_our_non_gost_files_too(tmp_path: Path, openssl_gost: Any) -> None:
    path = tmp_path / "ec.pem"
    uri = generate_software_key(path, KeyType.EC_P256, password="pw", iterations=FAST)
    key = open_software_key(uri, password="pw")
    out = openssl_gost.run(
        ["pkey", "-in", path, "-passin", "pass:pw", "-pubout", "-outform", "DER"]
    ).stdout
    assert out == key.public_key_info


def test_the_default_kdf_strength_round_trips(tmp_path: Path) -> None:
    uri = generate_software_key(tmp_path / "k.pem", KeyType.EC_P256, password="pw")
    assert open_software_key(uri, password="pw").key_type is KeyType.EC_P256
    text = (tmp_path / "k.pem").read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"


def test_password_from_pin_source_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = generate_software_key(
        tmp_path / "k.pem", KeyType.GOST3410_2012_256, password="from-file", iterations=FAST
    )
    pw = tmp_path / "pass"
    pw.write_text("from-file\n")
    assert open_key(f"{uri}?pin-source=file:{pw}").key_type is KeyType.GOST3410_2012_256
    monkeypatch.setenv("ATLAS_TEST_KEY_PASSWORD", "from-file")
    assert open_key(f"{uri}?pin-source=env:ATLAS_TEST_KEY_PASSWORD").public_key_info


def test_wrong_password_missing_file_and_missing_password_each_say_what_is_wrong(
    tmp_path: Path,
) -> None:
    uri = generate_software_key(
        tmp_path / "k.pem", KeyType.EC_P256, password="right-password", iterations=FAST
    )
    with pytest.raises(PinIncorrect, match=r"password for key file .* is incorrect") as info:
        open_software_key(uri, password="wrong-password")
    assert "wrong-password" not in repr(info.value)
    assert "right-password" not in str(info.value)
    with pytest.raises(PinIncorrect, match="no password was given"):
        open_software_key(uri)
    with pytest.raises(KeyNotFound, match="does not exist"):
        open_software_key(f"file:{tmp_path / 'nope.pem'}", password="x")
    plain = tmp_path / "plain.pem"
    plain.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InvalidKeyUri, match="not an 'ENCRYPTED PRIVATE KEY'"):
        open_software_key(f"file:{plain}", password="x")


def test_generation_never_overwrites_and_checks_the_parameter_set(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    generate_software_key(path, KeyType.EC_P256, password="pw", iterations=FAST)
    with pytest.raises(FileExistsError):
        generate_software_key(path, KeyType.EC_P256, password="pw", iterations=FAST)
    with pytest.raises(WrongKeyType, match="512-bit"):
        generate_software_key(
            tmp_path / "g.pem", KeyType.GOST3410_2012_256, password="pw", param_set="tc26-512-a"
        )


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    uri = generate_software_key(
        tmp_path / "k.pem", KeyType.GOST3410_2012_256, password="pw", iterations=FAST
    )
    key = open_software_key(uri, password="pw")
    text = repr(key)
    assert "k.pem" in text
    assert "gost2012-256" in text
    assert len(text) < 200

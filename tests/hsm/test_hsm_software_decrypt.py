"""Opening a software key decrypts it through libcrypto's EVP functions (no ``cryptography``
import on the CRL publication path), or through ``cryptography`` where libcrypto is missing:
both give the same key, both refuse a wrong password, and AES-CBC matches ``cryptography``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from atlas_ca.algorithms import KeyType
from atlas_ca.errors import PinIncorrect
from atlas_ca.hsm import software
from atlas_ca.hsm.software import generate_software_key, open_software_key


@pytest.fixture(params=["libcrypto", "cryptography"])
def decrypter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "cryptography":
        monkeypatch.setattr(software, "_libcrypto_state", [None])  # as if libcrypto were missing
    else:
        assert software._libcrypto() is not None  # the system libcrypto.so.3 is there (CI too)
    return str(request.param)


def _encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


@pytest.mark.parametrize("key_size", [16, 24, 32])
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 121, 4096])
def test_aes_cbc_decryption_inverts_cryptography_encryption(
    decrypter: str, key_size: int, length: int
) -> None:
    key, iv, plain = os.urandom(key_size), os.urandom(16), os.urandom(length)
    assert software._aes_cbc_decrypt(key, iv, _encrypt(key, iv, plain)) == plain


def test_a_wrong_aes_key_is_a_padding_error_not_garbage(decrypter: str) -> None:
    key, iv = os.urandom(32), os.urandom(16)
    data = _encrypt(key, iv, b"x" * 47)
    refused = 0
    for _ in range(20):  # a wrong key leaves a valid PKCS#7 tail ~1/256 of the time
        try:
            software._aes_cbc_decrypt(os.urandom(32), iv, data)
        except ValueError:
            refused += 1
    assert refused >= 15
    with pytest.raises(ValueError, match="16-byte"):
        software._aes_cbc_decrypt(key, iv, data[:-1])


@pytest.mark.parametrize("key_type", [KeyType.GOST3410_2012_256, KeyType.EC_P256])
def test_both_decrypters_open_the_same_key_and_refuse_a_wrong_password(
    decrypter: str, tmp_path: Path, key_type: KeyType
) -> None:
    uri = generate_software_key(tmp_path / "k.pem", key_type, password="pw", iterations=1000)
    key = open_software_key(uri, password="pw")
    assert key.key_type is key_type
    assert len(key.public_key_info) > 60
    with pytest.raises(PinIncorrect):
        open_software_key(uri, password="not-pw")


def test_a_key_file_openssl_encrypted_with_aes_128_opens(decrypter: str, tmp_path: Path) -> None:
    generated = tmp_path / "plain.pem"
    generate_software_key(
        tmp_path / "ours.pem", KeyType.EC_P256, password="pw", iterations=1000
    )  # a key of ours, re-encrypted by openssl with another AES size and its PBKDF2 count
    subprocess.run(
        ["openssl", "pkcs8", "-in", str(tmp_path / "ours.pem"), "-passin", "pass:pw",
         "-out", str(generated), "-nocrypt", "-topk8"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-in", str(generated), "-out", str(tmp_path / "k.pem"),
         "-passout", "pass:secret", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA256"],
        check=True, capture_output=True,
    )  # fmt: skip
    ours = open_software_key(f"file:{tmp_path / 'ours.pem'}", password="pw")
    theirs = open_software_key(f"file:{tmp_path / 'k.pem'}", password="secret")
    assert theirs.public_key_info == ours.public_key_info

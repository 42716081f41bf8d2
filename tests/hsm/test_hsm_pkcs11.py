"""The PKCS#11 backend on a real SoftHSM built with GOST: keys generated on the token, signatures
verified by atlas_ca.gost, OpenSSL's gost engine and cryptography; every failure its own error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import PyKCS11
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.errors import (
    InvalidKeyUri,
    KeyNotFound,
    MechanismUnsupported,
    ModuleNotFound,
    PinIncorrect,
    PinLocked,
    Pkcs11Failure,
    TokenNotFound,
    TokenUnavailable,
    WrongKeyType,
)
from atlas_ca.hsm import PrehashSigningKey, SigningKey, open_key
from atlas_ca.hsm import mechanisms as m
from atlas_ca.hsm.pkcs11 import (
    Pkcs11Key,
    Pkcs11PrehashKey,
    Pkcs11Token,
    map_ckr,
    open_pkcs11_key,
    open_token,
)

pytestmark = pytest.mark.softhsm

CRYPTOPRO_SETS = ["cryptopro-a", "cryptopro-b", "cryptopro-c", "cryptopro-xcha", "cryptopro-xchb"]


@pytest.fixture(scope="module")
def token(softhsm: Any) -> Pkcs11Token:
    return open_token(softhsm.uri())


@pytest.fixture(scope="module")
def gost_key(token: Pkcs11Token) -> Pkcs11Key:
    return token.generate_key(KeyType.GOST3410_2012_256, label="hsm-test-gost", key_id=b"\x47\x01")


def test_gost_keys_generated_on_the_token_sign_what_atlas_gost_verifies(
    token: Pkcs11Token,
) -> None:
    param_set = "cryptopro-a"
    key = token.generate_key(
        KeyType.GOST3410_2012_256, label=f"hsm-test-{param_set}", param_set=param_set
    )
    assert isinstance(key, PrehashSigningKey)
    assert key.signature_algorithm is SignatureAlgorithm.GOST3410_2012_256
    assert key.qualified_use_allowed is True
    pub = gost.GostPublicKey.from_spki_der(key.public_key_info)
    assert pub.param_set.name == param_set
    data = b"tbsCertificate " * 40
    sig = key.sign(data)
    assert len(sig) == 64
    assert gost.verify(pub, data, sig)
    assert not gost.verify(pub, data + b"!", sig)
    h = key.new_hasher()
    h.update(data[:100])
    h.update(data[100:])
    assert gost.verify(pub, data, key.sign_digest(h.digest()))


@pytest.mark.parametrize("param_set", [p for p in CRYPTOPRO_SETS if p != "cryptopro-a"])
def test_softhsm_generates_gost_keys_only_on_cryptopro_a_and_says_so_for_the_others(
    token: Pkcs11Token, param_set: str
) -> None:
    # A fact of SoftHSM 2.6.1 (its OpenSSL backend generates on paramset "A" only); a Russian
    # token that supports the set takes the same code path.
    with pytest.raises(MechanismUnsupported, match=f"refused the parameter set {param_set}"):
        token.generate_key(
            KeyType.GOST3410_2012_256, label=f"hsm-test-{param_set}", param_set=param_set
        )


def test_generated_private_key_is_a_sensitive_non_extractable_token_object(
    gost_key: Pkcs11Key,
) -> None:
    p = gost_key.protection()
    assert p.token_object
    assert p.private
    assert p.sensitive
    assert not p.extractable
    assert p.always_sensitive
    assert p.never_extractable
    assert p.generated_on_token


def test_openssl_gost_engine_verifies_a_token_signature(
    gost_key: Pkcs11Key, openssl_gost: Any, tmp_path: Path
) -> None:
    pub_pem = tmp_path / "pub.pem"
    pub_pem.write_bytes(
        openssl_gost.run(
            ["pkey", "-pubin", "-inform", "DER"], input=gost_key.public_key_info
        ).stdout
    )
    data = tmp_path / "data"
    data.write_bytes(b"signed on SoftHSM through CKM_GOSTR3410")
    sig = tmp_path / "sig"
    sig.write_bytes(gost_key.sign(data.read_bytes()))
    ok = openssl_gost.run(["dgst", "-md_gost12_256", "-verify", pub_pem, "-signature", sig, data])
    assert b"Verified OK" in ok.stdout
    data.write_bytes(b"tampered")
    bad = openssl_gost.run(
        ["dgst", "-md_gost12_256", "-verify", pub_pem, "-signature", sig, data], check=False
    )
    assert bad.returncode != 0


def test_keys_are_listed_and_their_uris_open_them_again(
    token: Pkcs11Token, gost_key: Pkcs11Key, softhsm: Any
) -> None:
    listed = {k.label: k for k in token.list_keys()}
    info = listed["hsm-test-gost"]
    assert info.id == b"\x47\x01"
    assert info.key_type is KeyType.GOST3410_2012_256
    assert info.uri.id == b"\x47\x01"
    uri = str(info.uri) + f"&pin-source=file:{softhsm.pin_file}"
    again = open_key(uri)
    assert isinstance(again, Pkcs11PrehashKey)
    assert again.public_key_info == gost_key.public_key_info
    by_label = open_key(softhsm.uri(object="hsm-test-gost"))
    assert by_label.public_key_info == gost_key.public_key_info
    by_id = open_key(softhsm.uri(id="%47%01"))
    pub = gost.GostPublicKey.from_spki_der(by_id.public_key_info)
    assert gost.verify(pub, b"x", by_id.sign(b"x"))


@pytest.mark.parametrize(
    "key_type", [KeyType.EC_P256, KeyType.EC_P384, KeyType.ED25519, KeyType.RSA]
)
def test_non_gost_token_keys_sign_what_cryptography_verifies(
    token: Pkcs11Token, key_type: KeyType
) -> None:
    key = token.generate_key(key_type, label=f"hsm-test-{key_type.value}", rsa_bits=2048)
    assert isinstance(key, SigningKey)
    data = b"a non-GOST PKI signs too"
    sig = key.sign(data)
    pub = serialization.load_der_public_key(key.public_key_info)
    if key_type is KeyType.ED25519:
        assert isinstance(pub, ed25519.Ed25519PublicKey)
        assert not isinstance(key, PrehashSigningKey)
        pub.verify(sig, data)
    elif key_type is KeyType.RSA:
        assert isinstance(pub, rsa.RSAPublicKey)
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        assert isinstance(key, PrehashSigningKey)
        h = key.new_hasher()
        h.update(data)
        pub.verify(key.sign_digest(h.digest()), data, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        algo = hashes.SHA256() if key_type is KeyType.EC_P256 else hashes.SHA384()
        pub.verify(sig, data, ec.ECDSA(algo))


def test_openssl_verifies_an_ecdsa_token_signature(
    token: Pkcs11Token, openssl_gost: Any, tmp_path: Path
) -> None:
    key = token.generate_key(KeyType.EC_P256, label="hsm-test-ec-openssl")
    pub_pem = tmp_path / "pub.pem"
    pub_pem.write_bytes(
        openssl_gost.run(["pkey", "-pubin", "-inform", "DER"], input=key.public_key_info).stdout
    )
    data = tmp_path / "data"
    data.write_bytes(b"ecdsa")
    sig = tmp_path / "sig"
    sig.write_bytes(key.sign(b"ecdsa"))
    ok = openssl_gost.run(["dgst", "-sha256", "-verify", pub_pem, "-signature", sig, data])
    assert b"Verified OK" in ok.stdout


def test_gost_512_is_refused_naming_the_tc26_mechanism_softhsm_lacks(token: Pkcs11Token) -> None:
    with pytest.raises(MechanismUnsupported) as info:
        token.generate_key(KeyType.GOST3410_2012_512, label="hsm-test-512")
    assert "CKM_GOSTR3410_512_KEY_PAIR_GEN (0xD4321005)" in str(info.value)
    assert "atlas-test" in str(info.value)
    assert m.CKM_GOSTR3410_512 not in token.mechanisms
    assert m.CKM_GOSTR3410 in token.mechanisms


def test_tc26_256_param_set_a_is_refused_naming_the_parameter_set(token: Pkcs11Token) -> None:
    with pytest.raises(MechanismUnsupported, match="tc26-256-a"):
        token.generate_key(
            KeyType.GOST3410_2012_256, label="hsm-test-tc26a", param_set="tc26-256-a"
        )
    with pytest.raises(WrongKeyType, match="512-bit"):
        token.generate_key(KeyType.GOST3410_2012_256, label="x", param_set="tc26-512-a")


def test_a_vendor_mechanism_number_travels_the_same_sign_path(
    token: Pkcs11Token, gost_key: Pkcs11Key
) -> None:
    # Same key, same seam, only the number differs: SoftHSM answers CKR_MECHANISM_INVALID for the
    # TC26 number, which proves the number reached C_SignInit unchanged.
    vendor = m.SignMechanism(
        "CKM_GOSTR3410_512",
        m.CKM_GOSTR3410_512,
        SignatureAlgorithm.GOST3410_2012_256,
        m.PreHash.STREEBOG256,
    )
    twin = Pkcs11PrehashKey(
        token,
        gost_key._handle,
        KeyType.GOST3410_2012_256,
        vendor,
        gost_key.public_key_info,
        gost_key.label,
        gost_key.key_id,
    )
    with pytest.raises(MechanismUnsupported) as info:
        twin.sign(b"data")
    assert "C_Sign(CKM_GOSTR3410_512)" in str(info.value)
    assert info.value.context["ckr"] == "CKR_MECHANISM_INVALID"
    # The token is still usable afterwards.
    pub = gost.GostPublicKey.from_spki_der(gost_key.public_key_info)
    assert gost.verify(pub, b"after", gost_key.sign(b"after"))


def test_missing_module_token_and_key_each_raise_their_own_error(
    softhsm: Any, token: Pkcs11Token, tmp_path: Path
) -> None:
    missing_module = f"pkcs11:token=atlas-test;object=x?module-path={tmp_path}/libnope.so"
    with pytest.raises(ModuleNotFound, match=r"libnope\.so does not exist"):
        open_key(missing_module)
    not_a_module = tmp_path / "lib.so"
    not_a_module.write_bytes(b"not an ELF file")
    with pytest.raises(ModuleNotFound, match="cannot be loaded"):
        open_token(f"pkcs11:token=x?module-path={not_a_module}")
    uri = softhsm.uri(object="k").replace("token=atlas-test", "token=no-such-token")
    with pytest.raises(TokenNotFound, match="no token with label='no-such-token'"):
        open_key(uri)
    with pytest.raises(KeyNotFound, match="no private key with label 'no-such-key'") as info:
        open_key(softhsm.uri(object="no-such-key"))
    assert "atlas-test" in str(info.value)
    with pytest.raises(InvalidKeyUri, match="names a public object"):
        open_key(softhsm.uri(object="hsm-test-gost", type="public"))
    with pytest.raises(InvalidKeyUri, match="name the key"):
        token.key()


def test_a_key_of_a_type_we_do_not_sign_with_is_refused(token: Pkcs11Token, softhsm: Any) -> None:
    secp521r1 = bytes.fromhex("06052b81040023")

    def gen(s: Any) -> Any:
        return s.generate(
            m.CKM_EC_KEY_PAIR_GEN,
            [
                (PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY),
                (PyKCS11.CKA_TOKEN, True),
                (PyKCS11.CKA_EC_PARAMS, secp521r1),
                (PyKCS11.CKA_LABEL, "hsm-test-p521"),
            ],
            [
                (PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                (PyKCS11.CKA_TOKEN, True),
                (PyKCS11.CKA_SIGN, True),
                (PyKCS11.CKA_LABEL, "hsm-test-p521"),
            ],
        )

    token.run("C_GenerateKeyPair", gen)
    with pytest.raises(WrongKeyType, match="is not P-256 or P-384"):
        open_key(softhsm.uri(object="hsm-test-p521"))


def test_a_different_pin_is_refused_once_the_process_is_logged_in(softhsm: Any) -> None:
    with pytest.raises(PinIncorrect, match="differs from the one") as info:
        open_key(softhsm.uri(object="hsm-test-gost"), pin="0000")
    assert "0000" not in str(info.value)
    assert softhsm.user_pin not in repr(info.value)


def test_a_lost_session_and_a_logged_out_token_are_reopened(
    token: Pkcs11Token, gost_key: Pkcs11Key
) -> None:
    pub = gost.GostPublicKey.from_spki_der(gost_key.public_key_info)
    assert gost.verify(pub, b"1", gost_key.sign(b"1"))
    # Someone closes every session of the slot (same process, same module instance).
    token.module.lib.closeAllSessions(token.slot)
    assert gost.verify(pub, b"2", gost_key.sign(b"2"))
    # Someone logs the token out: one C_Logout drops the login of every session.
    raw = token.module.lib.openSession(token.slot, PyKCS11.CKF_SERIAL_SESSION)
    raw.logout()
    raw.closeSession()
    assert gost.verify(pub, b"3", gost_key.sign(b"3"))


def test_ckr_codes_map_to_readable_errors_naming_call_slot_and_token() -> None:
    locked = map_ckr(PyKCS11.CKR_PIN_LOCKED, "C_Login", slot=7, token="CA")
    assert isinstance(locked, PinLocked)
    assert str(locked).startswith("C_Login on slot 7 (token 'CA'): the user PIN is locked")
    assert "CKR_PIN_LOCKED (0xA4)" in str(locked)
    gone = map_ckr(PyKCS11.CKR_DEVICE_REMOVED, "C_Sign", slot=1, token="CA")
    assert isinstance(gone, TokenUnavailable)
    vendor = map_ckr(0x80000123, "C_Sign", slot=1, token="CA")
    assert isinstance(vendor, Pkcs11Failure)
    assert "CKR_VENDOR_DEFINED+0x123" in str(vendor)
    assert vendor.context == {
        "call": "C_Sign",
        "slot": 1,
        "token": "CA",
        "ckr": "CKR_VENDOR_DEFINED+0x123 (0x80000123)",
    }


def test_open_pkcs11_key_accepts_a_parsed_uri_and_reports_no_module(
    softhsm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_ca.hsm.uri import Pkcs11Uri

    parsed = Pkcs11Uri.parse(softhsm.uri(object="hsm-test-gost"))
    assert open_pkcs11_key(parsed).key_type is KeyType.GOST3410_2012_256
    monkeypatch.delenv("ATLAS_CA_PKCS11_MODULE", raising=False)
    with pytest.raises(ModuleNotFound, match="no module-path"):
        open_pkcs11_key("pkcs11:token=atlas-test;object=x")
    monkeypatch.setenv("ATLAS_CA_PKCS11_MODULE", str(softhsm.module))
    key = open_pkcs11_key(
        f"pkcs11:token=atlas-test;object=hsm-test-gost?pin-source=file:{softhsm.pin_file}"
    )
    assert key.key_type is KeyType.GOST3410_2012_256
    assert os.environ["ATLAS_CA_PKCS11_MODULE"] == str(softhsm.module)


def test_key_generation_templates_are_configurable_per_token(
    token: Pkcs11Token, softhsm: Any
) -> None:
    from atlas_ca.hsm.pkcs11 import TokenConfig

    vendor_like = TokenConfig(
        max_sessions=2,
        extra_private={PyKCS11.CKA_MODIFIABLE: False, PyKCS11.CKA_DECRYPT: False},
        extra_public={PyKCS11.CKA_MODIFIABLE: False},
    )
    other = Pkcs11Token(token.module, token.info, vendor_like)
    other.login(softhsm.user_pin)
    key = other.generate_key(KeyType.GOST3410_2012_256, label="hsm-test-template")
    modifiable, decrypt = other.run(
        "C_GetAttributeValue",
        lambda s: s.session.getAttributeValue(
            key._handle, [PyKCS11.CKA_MODIFIABLE, PyKCS11.CKA_DECRYPT]
        ),
    )
    assert (modifiable, decrypt) == (False, False)
    assert key.protection().never_extractable
    other.close()
    with pytest.raises(ValueError, match="max_sessions must be at least 1"):
        TokenConfig(max_sessions=0)

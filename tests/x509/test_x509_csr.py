"""PKCS#10: proof of possession for every key type and parameter set, hostile input, fuzzing."""

from __future__ import annotations

import pytest
from asn1crypto import core, keys
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.gost import PARAM_SETS
from atlas_ca.x509.certificate import assemble_signed
from atlas_ca.x509.csr import CertificationRequest, CsrBuilder
from atlas_ca.x509.der import split_tlv, tlv
from atlas_ca.x509.extensions import (
    KeyUsage,
    KeyUsageBit,
    Rfc822Name,
    SubjectAlternativeName,
    SubjectSignTool,
    UnrecognizedExtension,
)
from atlas_ca.x509.names import Name
from support.x509_signers import MemoryKey, ecdsa_key, ed25519_key, gost_key

SUBJECT = Name.build(
    [
        (oids.NameAttribute.COUNTRY_NAME, "RU"),
        (oids.NameAttribute.COMMON_NAME, "Петрова Анна Сергеевна"),
        (oids.RuAttribute.SNILS, "11223344595"),
        (oids.RuAttribute.INN, "253600000000"),
    ]
)


def request(key: MemoryKey) -> CertificationRequest:
    return (
        CsrBuilder()
        .subject_name(SUBJECT)
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE})))
        .add_extension(SubjectSignTool(False, "КриптоПро CSP 5.0"))
        .sign(key)
    )


@pytest.mark.parametrize("param_set", [ps.name for ps in PARAM_SETS])
def test_gost_requests_on_every_parameter_set_prove_possession(param_set: str) -> None:
    csr = CertificationRequest.from_der(request(gost_key(param_set)).der)
    csr.verify()
    assert csr.public_key.parameters == param_set
    assert csr.subject == SUBJECT
    assert csr.extensions.get(SubjectSignTool) == SubjectSignTool(False, "КриптоПро CSP 5.0")


@pytest.mark.parametrize("make_key", [ecdsa_key, ed25519_key], ids=["ecdsa-p256", "ed25519"])
def test_ecdsa_and_ed25519_requests_prove_possession(make_key: object) -> None:
    key: MemoryKey = make_key()  # type: ignore[operator]
    csr = request(key)
    csr.verify()
    theirs = cx509.load_der_x509_csr(csr.der)
    assert theirs.is_signature_valid


def test_an_rsa_request_made_by_cryptography_proves_possession() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    theirs = (
        cx509.CertificateSigningRequestBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(cx509.NameOID.COMMON_NAME, "rsa")]))
        .add_extension(
            cx509.SubjectAlternativeName([cx509.RFC822Name("a@example.ru")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    csr = CertificationRequest.load(theirs.public_bytes(serialization.Encoding.PEM))
    csr.verify()
    assert csr.public_key.key_type is KeyType.RSA
    assert csr.signature_algorithm is SignatureAlgorithm.RSA_SHA256
    san = csr.extensions.get(SubjectAlternativeName)
    assert san is not None
    assert san.names == (Rfc822Name("a@example.ru"),)


def test_a_request_signed_by_another_key_fails_proof_of_possession() -> None:
    holder, other = gost_key("cryptopro-a"), gost_key("cryptopro-a")
    info = CsrBuilder().subject_name(SUBJECT).info_der(holder.public_key_info)
    der = assemble_signed(info, SignatureAlgorithm.GOST3410_2012_256, other.sign(info))
    csr = CertificationRequest.from_der(der)
    with pytest.raises(SignatureInvalid, match="proof of possession failed"):
        csr.verify()


def test_a_request_whose_algorithm_does_not_fit_its_key_fails() -> None:
    holder = gost_key("tc26-512-a")
    info = CsrBuilder().subject_name(SUBJECT).info_der(holder.public_key_info)
    der = assemble_signed(info, SignatureAlgorithm.GOST3410_2012_256, bytes(64))
    with pytest.raises(SignatureInvalid, match="carries a gost2012-512"):
        CertificationRequest.from_der(der).verify()


def test_unknown_extensions_are_exposed_but_typed_as_unrecognized() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    theirs = (
        cx509.CertificateSigningRequestBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(cx509.NameOID.COMMON_NAME, "x")]))
        .add_extension(
            cx509.UnrecognizedExtension(cx509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00"),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    csr = CertificationRequest.from_der(theirs.public_bytes(serialization.Encoding.DER))
    (ext,) = tuple(csr.extensions)
    assert isinstance(ext, UnrecognizedExtension)
    assert ext.oid_dotted == "1.2.3.4.5"


def _spki(algorithm: str, params: object, point: bytes) -> bytes:
    return bytes(
        keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": algorithm, "parameters": params},
                "public_key": point,
            }
        ).dump()
    )


def _with_key(spki: bytes) -> bytes:
    info = CsrBuilder().subject_name(SUBJECT).info_der(spki)
    return assemble_signed(
        info, SignatureAlgorithm.ECDSA_SHA256, b"\x30\x06\x02\x01\x01\x02\x01\x01"
    )


@pytest.fixture(scope="module")
def good() -> bytes:
    return request(gost_key("cryptopro-a")).der


GOST_256_ALG = bytes.fromhex("06082a85030701010101")  # id-tc26-gost3410-12-256
TEST_PARAM_SET = bytes.fromhex("06072a85030202230 0".replace(" ", ""))  # 1.2.643.2.2.35.0


def _gost_spki(params: bytes) -> bytes:
    return tlv(
        0x30,
        tlv(0x30, GOST_256_ALG + tlv(0x30, params))
        + tlv(0x03, b"\x00" + tlv(0x04, bytes(range(1, 65)))),
    )


def _hostile(good: bytes) -> dict[str, tuple[bytes, str]]:
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = p256.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    secp256k1 = (
        ec.generate_private_key(ec.SECP256K1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    unknown_alg = good.replace(
        bytes.fromhex("06082a85030701010302"), bytes.fromhex("06082a85030701010309")
    )
    key = ecdsa_key()
    _, info = split_tlv(CsrBuilder().subject_name(SUBJECT).info_der(key.public_key_info))
    assert info.startswith(b"\x02\x01\x00")
    huge_info = tlv(0x30, b"\x02\x09\x7f" + b"\xff" * 8 + info[3:])
    huge_version = assemble_signed(huge_info, SignatureAlgorithm.ECDSA_SHA256, key.sign(huge_info))
    return {
        "empty": (b"", "empty input"),
        "truncated": (good[: len(good) // 2], "truncated"),
        "wrong outer length": (good[:2] + bytes([good[2] + 1]) + good[3:], "truncated"),
        "trailing garbage": (good + b"\x00", "trailing"),
        "indefinite length (BER)": (b"\x30\x80" + good[4:] + b"\x00\x00", "indefinite length"),
        "non-minimal length (BER)": (b"\x30\x83\x00" + good[2:], "non-minimal"),
        "huge version": (huge_version, "version"),
        "unknown signature algorithm": (unknown_alg, "not supported"),
        "key on an unknown curve": (
            _with_key(_spki("ec", core.ObjectIdentifier("1.3.132.0.99"), point)),
            "not supported",
        ),
        "key on an unsupported curve": (_with_key(secp256k1), "secp256k1 is not supported"),
        # A key on the standard's test curve is read (RFC 9215's examples are shown) but its
        # point is checked on that curve; no profile allows the test set for issuance.
        "GOST key on the test parameter set, off its curve": (
            _with_key(_gost_spki(TEST_PARAM_SET)),
            "not a point of the test-256 curve",
        ),
        "not even a request": (b"\x02\x01\x05", "is not a SEQUENCE"),
    }


def test_hostile_requests_raise_our_decode_error_with_the_reason(good: bytes) -> None:
    failures = []
    for case, (der, reason) in _hostile(good).items():
        with pytest.raises(DecodeError) as info:
            CertificationRequest.from_der(der)
        if reason not in str(info.value):
            failures.append((case, str(info.value)))
    assert failures == []


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        csr = CertificationRequest.from_der(data)
    except DecodeError as exc:
        assert str(exc)  # noqa: PT017
    else:
        assert csr.der == data


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_requests_raise_only_our_errors(good: bytes, data: st.DataObject) -> None:
    der = bytearray(good)
    for _ in range(data.draw(st.integers(1, 3))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del der[data.draw(st.integers(0, len(der) - 1)) :]
    try:
        CertificationRequest.from_der(bytes(der)).verify()
    except (DecodeError, SignatureInvalid) as exc:
        assert str(exc)  # noqa: PT017
    else:
        assert bytes(der) == good

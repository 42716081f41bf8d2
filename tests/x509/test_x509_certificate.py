"""The certificate builder: immutability, RFC 5280 rules, separate TBS, sign-then-verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509 as cx509
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca import gost
from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.x509.certificate import (
    Certificate,
    CertificateBuilder,
    ValidityBeyondIssuer,
    authority_key_identifier_for,
    encode_time,
    random_serial,
)
from atlas_ca.x509.extensions import (
    BasicConstraints,
    KeyUsage,
    KeyUsageBit,
    SubjectKeyIdentifier,
    SubjectSignTool,
    UnrecognizedExtension,
    parse_extension,
)
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, pem_blocks
from support.x509_signers import MemoryKey, ecdsa_key, ed25519_key, gost_key

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CA_NAME = Name.build(
    [(oids.NameAttribute.COUNTRY_NAME, "RU"), (oids.NameAttribute.COMMON_NAME, "Тестовый УЦ")]
)
LEAF_NAME = Name.build(
    [(oids.NameAttribute.COMMON_NAME, "Иванов Иван"), (oids.RuAttribute.SNILS, "11223344595")]
)


def ca_certificate(key: MemoryKey, *, years: int = 10) -> Certificate:
    return (
        CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key_info)
        .random_serial_number()
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=365 * years))
        .add_extension(BasicConstraints(True, True, 0))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN})))
        .add_extension(SubjectKeyIdentifier.from_public_key_info(key.public_key_info))
        .sign(key)
    )


def leaf_builder(ca: Certificate, subject_key: MemoryKey) -> CertificateBuilder:
    return (
        CertificateBuilder()
        .subject_name(LEAF_NAME)
        .issuer_certificate(ca)
        .public_key(subject_key.public_key_info)
        .serial_number(0x0102030405060708)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(authority_key_identifier_for(ca))
        .add_extension(SubjectSignTool(False, "КриптоПро CSP 5.0"))
    )


@pytest.fixture(scope="module")
def ca_key() -> MemoryKey:
    return gost_key("cryptopro-a")


@pytest.fixture(scope="module")
def ca(ca_key: MemoryKey) -> Certificate:
    return ca_certificate(ca_key)


def test_setters_return_new_builders_and_leave_the_old_one_untouched() -> None:
    empty = CertificateBuilder()
    named = empty.subject_name(LEAF_NAME)
    assert named is not empty
    assert empty == CertificateBuilder()
    assert named != empty


def test_each_field_is_set_once_and_extensions_once_per_oid() -> None:
    b = CertificateBuilder().subject_name(LEAF_NAME)
    with pytest.raises(ValueError, match="already set"):
        b.subject_name(CA_NAME)
    b = b.add_extension(BasicConstraints(True, False))
    with pytest.raises(ValueError, match="already added"):
        b.add_extension(BasicConstraints(True, True, 1))


def test_an_incomplete_builder_names_what_it_lacks() -> None:
    with pytest.raises(ValueError, match="public key, serial number"):
        CertificateBuilder().subject_name(LEAF_NAME).issuer_name(CA_NAME).build_tbs(
            SignatureAlgorithm.ED25519
        )


def test_issued_certificate_has_the_issuer_subject_byte_for_byte(
    ca: Certificate, ca_key: MemoryKey
) -> None:
    leaf = leaf_builder(ca, gost_key("tc26-512-a")).sign(ca_key)
    assert leaf.issuer.der == ca.subject.der
    assert leaf.version == 3
    assert leaf.serial_number == 0x0102030405060708
    leaf.verify_signed_by(ca.public_key_info)
    assert leaf.extensions.get(SubjectSignTool) == SubjectSignTool(False, "КриптоПро CSP 5.0")


def test_tbs_is_a_separate_step_and_its_der_is_what_gets_signed(
    ca: Certificate, ca_key: MemoryKey
) -> None:
    tbs = leaf_builder(ca, ecdsa_key()).build_tbs(SignatureAlgorithm.GOST3410_2012_256)
    cert = tbs.sign(ca_key)
    assert cert.tbs_der == tbs.der


def test_signing_with_a_key_other_than_the_issuers_is_refused(ca: Certificate) -> None:
    tbs = leaf_builder(ca, ecdsa_key()).build_tbs(SignatureAlgorithm.GOST3410_2012_256)
    with pytest.raises(ValueError, match="not the key of the issuer"):
        tbs.sign(gost_key("cryptopro-a"))


def test_a_key_of_another_algorithm_is_refused_before_signing() -> None:
    key = ecdsa_key()
    tbs = (
        CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key_info)
        .random_serial_number()
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .build_tbs(SignatureAlgorithm.ECDSA_SHA256)
    )
    with pytest.raises(ValueError, match="prepared for ecdsa-sha256"):
        tbs.sign(ed25519_key())


def test_a_key_that_returns_a_bad_signature_is_caught_before_the_certificate_is_returned() -> None:
    good = ed25519_key()

    class Broken:
        key_type = good.key_type
        signature_algorithm = good.signature_algorithm
        public_key_info = good.public_key_info
        qualified_use_allowed = False

        def sign(self, data: bytes) -> bytes:
            return bytes(64)

    builder = (
        CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(good.public_key_info)
        .random_serial_number()
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
    )
    with pytest.raises(SignatureInvalid, match="does not verify"):
        builder.sign(Broken())


class _PrehashGost:
    """A GOST key with the optional sign_digest ability, counting what it is asked to sign."""

    def __init__(self, param_set_name: str, *, break_signature: bool = False) -> None:
        inner = gost_key(param_set_name)
        assert inner._gost is not None
        self.param_set, self.d = inner._gost
        self.key_type = inner.key_type
        self.signature_algorithm = inner.signature_algorithm
        self.public_key_info = inner.public_key_info
        self.qualified_use_allowed = False
        self.break_signature = break_signature
        self.digests: list[bytes] = []
        self.messages: list[bytes] = []

    def sign(self, data: bytes) -> bytes:
        self.messages.append(data)
        return gost.sign(self.param_set, self.d, data)

    def sign_digest(self, digest: bytes) -> bytes:
        self.digests.append(digest)
        if self.break_signature:
            digest = bytes(len(digest))
        return gost.sign_digest(self.param_set, self.d, digest)


def _self_signed(key: object) -> CertificateBuilder:
    return (
        CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key_info)  # type: ignore[attr-defined]
        .random_serial_number()
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
    )


@pytest.mark.parametrize("name", ["cryptopro-a", "tc26-512-a"])
def test_a_gost_prehash_key_signs_the_streebog_digest_of_the_tbs_once(name: str) -> None:
    key = _PrehashGost(name)
    tbs = _self_signed(key).build_tbs(key.signature_algorithm)
    cert = tbs.sign(key)  # type: ignore[arg-type]
    streebog = gost.streebog256 if key.param_set.bits == 256 else gost.streebog512
    assert key.digests == [streebog(tbs.der)]
    assert key.messages == []
    # The returned certificate verifies from scratch, hashing its TBS again.
    cert.verify_signed_by(key.public_key_info)
    Certificate.from_der(cert.der).verify_signed_by(key.public_key_info)


def test_a_gost_prehash_key_whose_signature_does_not_verify_is_caught() -> None:
    key = _PrehashGost("cryptopro-a", break_signature=True)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _self_signed(key).sign(key)  # type: ignore[arg-type]


def test_a_gost_key_without_sign_digest_is_signed_through_sign() -> None:
    key = gost_key("tc26-256-b")
    cert = _self_signed(key).sign(key)
    cert.verify_signed_by(key.public_key_info)


def test_verify_gost_digest_refuses_non_gost_algorithms_and_keys() -> None:
    from atlas_ca.x509.signatures import gost_digest, verify_gost_digest

    other = ed25519_key()
    with pytest.raises(ValueError, match="not a GOST"):
        gost_digest(SignatureAlgorithm.ED25519, b"data")
    with pytest.raises(ValueError, match="not a GOST"):
        verify_gost_digest(other.public_key_info, SignatureAlgorithm.ED25519, bytes(32), bytes(64))
    with pytest.raises(SignatureInvalid, match="non-GOST key"):
        verify_gost_digest(
            other.public_key_info, SignatureAlgorithm.GOST3410_2012_256, bytes(32), bytes(64)
        )


def test_not_after_beyond_the_issuer_is_refused(ca: Certificate) -> None:
    b = (
        CertificateBuilder()
        .subject_name(LEAF_NAME)
        .issuer_certificate(ca)
        .public_key(ecdsa_key().public_key_info)
        .random_serial_number()
        .not_valid_before(NOW)
        .not_valid_after(ca.not_after + timedelta(seconds=1))
    )
    with pytest.raises(ValidityBeyondIssuer, match="after the issuer's notAfter"):
        b.build_tbs(SignatureAlgorithm.GOST3410_2012_256)


def test_times_switch_from_utctime_to_generalizedtime_in_2050() -> None:
    assert encode_time(datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)) == b"\x17\x0d491231235959Z"
    assert encode_time(datetime(2050, 1, 1, tzinfo=UTC)) == b"\x18\x0f20500101000000Z"


def test_a_certificate_valid_across_2050_parses_back_with_both_time_types() -> None:
    key = ed25519_key()
    cert = (
        CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key_info)
        .random_serial_number()
        .not_valid_before(datetime(2049, 6, 1, tzinfo=UTC))
        .not_valid_after(datetime(2051, 6, 1, tzinfo=UTC))
        .sign(key)
    )
    assert cert.not_before == datetime(2049, 6, 1, tzinfo=UTC)
    assert cert.not_after == datetime(2051, 6, 1, tzinfo=UTC)
    theirs = cx509.load_der_x509_certificate(cert.der)
    assert theirs.not_valid_after_utc == datetime(2051, 6, 1, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CertificateBuilder().not_valid_before(datetime(2026, 1, 1))


def test_serials_are_positive_at_most_20_octets_and_random_from_the_given_source() -> None:
    seen = {random_serial() for _ in range(50)}
    assert len(seen) == 50
    assert all(0 < s < 1 << 127 for s in seen)
    assert random_serial(lambda n: b"\xff" * n) == (1 << 127) - 1
    with pytest.raises(ValueError, match="fewer than 64"):
        random_serial(lambda n: b"\x00" * n)
    with pytest.raises(ValueError, match="positive"):
        CertificateBuilder().serial_number(0)
    with pytest.raises(ValueError, match="20 octets"):
        CertificateBuilder().serial_number(1 << 160)
    assert CertificateBuilder().serial_number((1 << 159) - 1) is not None


@pytest.mark.parametrize(
    "make_key",
    [ecdsa_key, ed25519_key, lambda: gost_key("tc26-256-a"), lambda: gost_key("tc26-512-c")],
    ids=["ecdsa", "ed25519", "gost-tc26-256-a", "gost-tc26-512-c"],
)
def test_cryptography_parses_what_we_build(make_key: object, ca: Certificate) -> None:
    key: MemoryKey = make_key()  # type: ignore[operator]
    cert = ca_certificate(key)
    theirs = cx509.load_der_x509_certificate(cert.der)
    assert theirs.serial_number == cert.serial_number
    assert theirs.version is cx509.Version.v3
    bc = theirs.extensions.get_extension_for_class(cx509.BasicConstraints)
    assert bc.critical
    assert bc.value.path_length == 0
    assert theirs.subject.public_bytes() == cert.subject.der
    assert Certificate.from_der(cert.der) == cert


def test_pem_round_trip_uses_the_openssl_label(ca: Certificate) -> None:
    pem = ca.pem()
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert pem_blocks(pem) == [(PemLabel.CERTIFICATE, ca.der)]
    assert Certificate.load(pem) == ca
    assert Certificate.load(ca.der) == ca


def test_a_certificate_with_mismatched_signature_algorithms_is_refused(ca: Certificate) -> None:
    # The outer signatureAlgorithm says ecdsa-with-SHA256 while the TBS says GOST (same length).
    gost_alg = bytes.fromhex("300a06082a85030701010302")
    ecdsa_alg = bytes.fromhex("300a06082a8648ce3d040302")
    at = ca.der.rindex(gost_alg)
    assert at > len(ca.tbs_der)
    tampered = ca.der[:at] + ecdsa_alg + ca.der[at + len(gost_alg) :]
    with pytest.raises(DecodeError, match="differs from the TBS"):
        Certificate.from_der(tampered)


def test_a_tampered_certificate_fails_its_signature(ca: Certificate) -> None:
    tampered = ca.der.replace("Тестовый".encode(), "Тестовой".encode())
    cert = Certificate.from_der(tampered)
    with pytest.raises(SignatureInvalid):
        cert.verify_signed_by(ca.public_key_info)


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_mutated_certificates_raise_only_our_errors(ca: Certificate, data: st.DataObject) -> None:
    der = bytearray(ca.der)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(der) - 1))
        der[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(der)))
    try:
        cert = Certificate.from_der(bytes(der[:cut]))
        cert.verify_signed_by(ca.public_key_info)
    except (DecodeError, SignatureInvalid) as exc:
        assert str(exc)  # noqa: PT017
    else:
        assert cert.der == bytes(der[:cut])


def test_an_unmodelled_extension_from_input_is_never_copied_into_a_certificate() -> None:
    foreign = parse_extension("1.2.3.4.5", False, b"\x05\x00")
    assert isinstance(foreign, UnrecognizedExtension)
    with pytest.raises(TypeError, match="from parsed input is not one atlas_ca models"):
        CertificateBuilder().add_extension(foreign)
    # the same bytes, constructed on purpose by a profile, are accepted
    on_purpose = UnrecognizedExtension(False, "1.2.3.4.5", b"\x05\x00")
    assert on_purpose == foreign
    assert CertificateBuilder().add_extension(on_purpose) is not None


def test_reprs_show_no_names(ca: Certificate) -> None:
    tbs = leaf_builder(ca, ecdsa_key()).build_tbs(SignatureAlgorithm.GOST3410_2012_256)
    for text in (repr(ca), repr(tbs)):
        assert "Тестовый" not in text
        assert "Иванов" not in text
    assert repr(ca).startswith(f"Certificate(serial={ca.serial_number:x}")

"""Registrar attestation (R5): the verified record signed as detached GOST CMS, checked by us
and by OpenSSL's gost engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1.oids import NameAttribute
from atlas_ca.cli.demo.fakes import sample_person, sample_registrar, verified_subscriber
from atlas_ca.domain.registrars import with_certificate
from atlas_ca.domain.subscribers import IdentificationMethod, SubscriberKind
from atlas_ca.domain.verification import verified_record
from atlas_ca.errors import DecodeError
from atlas_ca.hsm.software import SoftwareKey, generate_software_key, open_software_key
from atlas_ca.services.attestation import (
    AttestationInvalid,
    AttestationRefused,
    attest_verification,
    decode_record,
    encode_record,
    sign_record,
    verify_attestation,
)
from atlas_ca.trust import PathValidator
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from atlas_ca.x509.extensions import BasicConstraints, KeyUsage, KeyUsageBit
from atlas_ca.x509.names import Name

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Pki:
    ca_cert: Certificate
    registrar_key: SoftwareKey
    registrar_cert: Certificate
    other_key: SoftwareKey
    other_cert: Certificate
    ca_pem: Path
    ca_key: SoftwareKey


def _key(base: Path, name: str, key_type: KeyType = KeyType.GOST3410_2012_256) -> SoftwareKey:
    uri = generate_software_key(base / f"{name}.key", key_type, password="t", iterations=1000)
    return open_software_key(uri, password="t")


def _leaf(
    ca: Certificate, ca_key: SoftwareKey, key: SoftwareKey, cn: str, serial: int
) -> Certificate:
    return (
        CertificateBuilder()
        .subject_name(Name.build([(NameAttribute.COMMON_NAME, cn)]))
        .issuer_certificate(ca)
        .public_key(key.public_key_info)
        .serial_number(serial)
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=365))
        .add_extension(
            KeyUsage(
                True,
                frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT}),
            )
        )
        .sign(ca_key)
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("attestation")
    ca_key = _key(base, "ca")
    ca_name = Name.build([(NameAttribute.COMMON_NAME, "Atlas test CA")])
    ca = (
        CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key_info)
        .serial_number(1)
        .not_valid_before(T0 - dt.timedelta(days=2))
        .not_valid_after(T0 + dt.timedelta(days=3650))
        .add_extension(BasicConstraints(True, True))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN})))
        .sign(ca_key)
    )
    reg_key = _key(base, "registrar")
    other_key = _key(base, "other")
    ca_pem = base / "ca.pem"
    ca_pem.write_bytes(ca.pem())
    return Pki(
        ca_cert=ca,
        registrar_key=reg_key,
        registrar_cert=_leaf(ca, ca_key, reg_key, "Регистратор Петрова", 0x1001),
        other_key=other_key,
        other_cert=_leaf(ca, ca_key, other_key, "Другой", 0x1002),
        ca_pem=ca_pem,
        ca_key=ca_key,
    )


def _attested(pki: Pki, kind: SubscriberKind = SubscriberKind.ENTREPRENEUR):  # type: ignore[no-untyped-def]
    sub = verified_subscriber("sub-7", kind, at=T0, method=IdentificationMethod(3))
    registrar = with_certificate(sample_registrar(), pki.registrar_cert.der)
    return attest_verification(
        sub, registrar, pki.registrar_key, at=T0 + dt.timedelta(minutes=5), require_qualified=False
    )


@pytest.mark.parametrize("kind", list(SubscriberKind))
def test_record_encoding_round_trips_and_is_canonical(kind: SubscriberKind) -> None:
    rec = verified_record(verified_subscriber("sub-7", kind, at=T0))
    der = encode_record(rec)
    assert decode_record(der) == rec
    assert encode_record(decode_record(der)) == der
    with pytest.raises(DecodeError):
        decode_record(der + b"\x00")


def test_record_with_microseconds_and_other_timezone_round_trips() -> None:
    msk = dt.timezone(dt.timedelta(hours=3))
    rec = verified_record(verified_subscriber(at=dt.datetime(2026, 3, 2, 12, 0, 1, 250000, msk)))
    back = decode_record(encode_record(rec))
    assert back.verified_at == rec.verified_at
    assert back.data == rec.data


def test_our_verifier_accepts_the_attestation(pki: Pki) -> None:
    att = _attested(pki)
    info = verify_attestation(
        att.record_der, att.signature_der, registrar_certificate=pki.registrar_cert.der
    )
    assert info.signer == pki.registrar_cert
    assert info.signing_time == T0 + dt.timedelta(minutes=5)
    assert len(info.record_digest) == 32
    assert decode_record(att.record_der).method == IdentificationMethod(3)
    # without a given certificate the embedded one is used
    assert verify_attestation(att.record_der, att.signature_der).signer == pki.registrar_cert


def test_a_changed_byte_in_the_record_is_rejected(pki: Pki) -> None:
    att = _attested(pki)
    i = att.record_der.index(b"304500116000157")  # inside the ОГРНИП
    tampered = att.record_der[:i] + b"4" + att.record_der[i + 1 :]
    with pytest.raises(AttestationInvalid, match="message digest"):
        verify_attestation(tampered, att.signature_der)


def test_a_changed_signature_or_attribute_is_rejected(pki: Pki) -> None:
    att = _attested(pki)
    sig = bytearray(att.signature_der)
    sig[-5] ^= 0x01  # inside the signature value
    with pytest.raises(AttestationInvalid, match="does not verify"):
        verify_attestation(att.record_der, bytes(sig))


def test_another_certificate_is_not_the_registrar(pki: Pki) -> None:
    att = _attested(pki)
    with pytest.raises(AttestationInvalid, match="other than the registrar"):
        verify_attestation(att.record_der, att.signature_der, registrar_certificate=pki.other_cert)


def test_signing_refuses_a_key_the_certificate_does_not_certify(pki: Pki) -> None:
    with pytest.raises(AttestationRefused, match="does not certify"):
        sign_record(b"x", pki.other_key, pki.registrar_cert.der, at=T0, require_qualified=False)


def test_software_keys_are_refused_for_qualified_attestation(pki: Pki) -> None:
    with pytest.raises(AttestationRefused, match="not in a certified HSM"):
        sign_record(b"x", pki.registrar_key, pki.registrar_cert.der, at=T0)


def test_only_the_verifying_registrar_signs(pki: Pki) -> None:
    sub = verified_subscriber(at=T0)
    other = replace(
        with_certificate(sample_registrar("reg-9"), pki.registrar_cert.der),
    )
    with pytest.raises(AttestationRefused, match="verified by registrar reg-1, not reg-9"):
        attest_verification(sub, other, pki.registrar_key, at=T0, require_qualified=False)


def test_garbage_is_a_decode_error(pki: Pki) -> None:
    with pytest.raises(DecodeError):
        verify_attestation(b"record", b"\x30\x03\x02\x01\x01")


def test_record_der_holds_raw_data_but_repr_does_not(pki: Pki) -> None:
    att = _attested(pki)
    assert sample_person().inn.value.encode() in att.record_der  # what the registrar signs
    assert sample_person().inn.value not in repr(att.record)


# --- interoperability with OpenSSL's gost engine ---------------------------------------------


@pytest.mark.openssl_gost
def test_openssl_verifies_the_attestation_and_rejects_a_changed_record(
    pki: Pki,
    openssl_gost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    att = _attested(pki)
    rec, sig = tmp_path / "record.der", tmp_path / "record.p7s"
    rec.write_bytes(att.record_der)
    sig.write_bytes(att.signature_der)
    args = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        sig,
        "-content",
        rec,
        "-CAfile",
        pki.ca_pem,
        "-out",
        tmp_path / "out",
    ]
    ok = openssl_gost.run(args, check=False)
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"Verification successful" in ok.stderr
    assert (tmp_path / "out").read_bytes() == att.record_der
    noverify = openssl_gost.run(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            sig,
            "-content",
            rec,
            "-noverify",
            "-out",
            tmp_path / "out2",
        ],
        check=False,
    )
    assert noverify.returncode == 0, noverify.stderr.decode()
    i = att.record_der.index(b"304500116000157")
    rec.write_bytes(att.record_der[:i] + b"4" + att.record_der[i + 1 :])
    bad = openssl_gost.run(args, check=False)
    assert bad.returncode != 0
    assert b"digest failure" in bad.stderr.lower() or b"verification failure" in bad.stderr.lower()


@pytest.mark.openssl_gost
def test_our_verifier_accepts_a_cms_signed_by_openssl(
    pki: Pki,
    openssl_gost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    key_pem, cert_pem = tmp_path / "k.pem", tmp_path / "c.pem"
    openssl_gost.run(
        ["genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A", "-out", key_pem]
    )
    openssl_gost.run(
        [
            "req",
            "-new",
            "-x509",
            "-key",
            key_pem,
            "-subj",
            "/CN=openssl",
            "-days",
            "2",
            "-md_gost12_256",
            "-out",
            cert_pem,
        ]
    )
    rec = tmp_path / "r.der"
    rec.write_bytes(encode_record(verified_record(verified_subscriber(at=T0))))
    out = tmp_path / "r.p7s"
    openssl_gost.run(
        [
            "cms",
            "-sign",
            "-binary",
            "-in",
            rec,
            "-signer",
            cert_pem,
            "-inkey",
            key_pem,
            "-md",
            "md_gost12_256",
            "-outform",
            "DER",
            "-out",
            out,
        ]
    )
    info = verify_attestation(rec.read_bytes(), out.read_bytes())
    assert info.signer == Certificate.from_pem(cert_pem.read_bytes())


# --- the registrar's key in a PKCS#11 token (SoftHSM built with GOST) -------------------------


@pytest.mark.softhsm
@pytest.mark.openssl_gost
def test_a_token_key_signs_a_qualified_attestation_that_openssl_verifies(
    pki: Pki,
    softhsm,
    openssl_gost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from atlas_ca.hsm import open_key
    from atlas_ca.hsm.pkcs11 import open_token

    label = "attestation-registrar"
    open_token(softhsm.uri()).generate_key(
        KeyType.GOST3410_2012_256, label=label, param_set="cryptopro-a"
    )
    key = open_key(softhsm.uri(object=label))
    assert key.qualified_use_allowed
    ca_key = _key(tmp_path, "ca2")
    ca_name = Name.build([(NameAttribute.COMMON_NAME, "Atlas test CA 2")])
    ca = (
        CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key_info)
        .serial_number(2)
        .not_valid_before(T0 - dt.timedelta(days=2))
        .not_valid_after(T0 + dt.timedelta(days=3650))
        .add_extension(BasicConstraints(True, True))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN})))
        .sign(ca_key)
    )
    cert = (
        CertificateBuilder()
        .subject_name(Name.build([(NameAttribute.COMMON_NAME, "Регистратор на токене")]))
        .issuer_certificate(ca)
        .public_key(key.public_key_info)
        .serial_number(0x2001)
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=365))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE})))
        .sign(ca_key)
    )
    sub = verified_subscriber("sub-8", at=T0)
    registrar = with_certificate(sample_registrar(), cert.der)
    att = attest_verification(sub, registrar, key, at=T0)  # qualified: the default
    assert verify_attestation(att.record_der, att.signature_der, registrar_certificate=cert)
    rec, sig, ca_pem = tmp_path / "r.der", tmp_path / "r.p7s", tmp_path / "ca2.pem"
    rec.write_bytes(att.record_der)
    sig.write_bytes(att.signature_der)
    ca_pem.write_bytes(ca.pem())
    out = openssl_gost.run(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            sig,
            "-content",
            rec,
            "-CAfile",
            ca_pem,
            "-out",
            tmp_path / "out",
        ],
        check=False,
    )
    assert out.returncode == 0, out.stderr.decode()


def test_signing_outside_the_certificate_validity_is_refused(pki: Pki) -> None:
    sub = verified_subscriber("sub-7", at=T0)
    registrar = with_certificate(sample_registrar(), pki.registrar_cert.der)
    late = T0 + dt.timedelta(days=400)  # after the registrar certificate's notAfter
    with pytest.raises(AttestationRefused, match="not valid at"):
        attest_verification(sub, registrar, pki.registrar_key, at=late, require_qualified=False)


def test_a_signing_time_outside_the_signer_validity_is_rejected(pki: Pki, tmp_path: Path) -> None:
    att = _attested(pki)  # signed at T0 + 5 minutes
    ca_key = _key(tmp_path, "ca-expired")
    # the same issuer name and serial, a validity that ended before the signing time
    expired = (
        CertificateBuilder()
        .subject_name(pki.registrar_cert.subject)
        .issuer_name(pki.registrar_cert.issuer)
        .public_key(pki.registrar_key.public_key_info)
        .serial_number(pki.registrar_cert.serial_number)
        .not_valid_before(T0 - dt.timedelta(days=10))
        .not_valid_after(T0 - dt.timedelta(days=1))
        .sign(ca_key)
    )
    with pytest.raises(AttestationInvalid, match="outside the validity"):
        verify_attestation(att.record_der, att.signature_der, registrar_certificate=expired)


def _crl(pki: Pki, *revoked: Certificate) -> bytes:
    entries = [
        RevokedEntry(c.serial_number, T0 - dt.timedelta(hours=1), RevocationReason.KEY_COMPROMISE)
        for c in revoked
    ]
    return (
        CrlBuilder()
        .issuer_certificate(pki.ca_cert.der)
        .this_update(T0 - dt.timedelta(minutes=30))
        .next_update(T0 + dt.timedelta(days=7))
        .crl_number(1)
        .sign(pki.ca_key, entries)
        .der()
    )


def test_the_registrars_chain_is_walked_with_revocation(pki: Pki) -> None:
    att = _attested(pki)
    good = PathValidator([pki.ca_cert.der], crls=[_crl(pki)])
    info = verify_attestation(att.record_der, att.signature_der, validator=good)
    assert info.signer == pki.registrar_cert


def test_an_attestation_by_a_revoked_registrar_certificate_is_invalid(pki: Pki) -> None:
    att = _attested(pki)
    revoked = PathValidator([pki.ca_cert.der], crls=[_crl(pki, pki.registrar_cert)])
    with pytest.raises(AttestationInvalid, match="revoked"):
        verify_attestation(att.record_der, att.signature_der, validator=revoked)


def test_an_attestation_without_revocation_information_or_trust_is_invalid(pki: Pki) -> None:
    att = _attested(pki)
    no_crl = PathValidator([pki.ca_cert.der])
    with pytest.raises(AttestationInvalid, match="revocation-info"):
        verify_attestation(att.record_der, att.signature_der, validator=no_crl)
    elsewhere = PathValidator([pki.other_cert.der])  # trusts another certificate only
    with pytest.raises(AttestationInvalid, match="does not validate"):
        verify_attestation(att.record_der, att.signature_der, validator=elsewhere)

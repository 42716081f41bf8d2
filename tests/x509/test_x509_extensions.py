"""Typed extensions: DER round trips, invariants in constructors, Russian extensions' ASN.1."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError
from atlas_ca.x509.extensions import (
    AuthorityInformationAccess,
    AuthorityKeyIdentifier,
    BasicConstraints,
    CertificatePolicies,
    CrlDistributionPoints,
    DirectoryName,
    DnsName,
    ExtendedKeyUsage,
    Extension,
    Extensions,
    IdentificationKind,
    IdentificationKindValue,
    IpAddress,
    IssuerSignTool,
    KeyUsage,
    KeyUsageBit,
    PolicyInformation,
    PrivateKeyUsagePeriod,
    Rfc822Name,
    SubjectAlternativeName,
    SubjectKeyIdentifier,
    SubjectSignTool,
    UnrecognizedExtension,
    Uri,
    parse_extension,
)
from atlas_ca.x509.names import Name

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2027, 4, 1, 12, 30, tzinfo=UTC)

EXAMPLES: list[Extension] = [
    BasicConstraints(True, True, 0),
    BasicConstraints(True, False),
    KeyUsage(True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})),
    ExtendedKeyUsage(
        False, (oids.ExtendedKeyUsage.CLIENT_AUTH, oids.ExtendedKeyUsage.EMAIL_PROTECTION)
    ),
    SubjectKeyIdentifier(False, bytes(range(20))),
    AuthorityKeyIdentifier(False, bytes(20)),
    AuthorityKeyIdentifier(
        False,
        None,
        (DirectoryName(Name.build([(oids.NameAttribute.COMMON_NAME, "УЦ")])),),
        0x1234,
    ),
    CrlDistributionPoints.of_uris("http://ca.example.ru/ca.crl", "http://cdp2.example.ru/ca.crl"),
    AuthorityInformationAccess.of(
        ca_issuers=["http://ca.example.ru/ca.crt"], ocsp=["http://ocsp.example.ru"]
    ),
    CertificatePolicies(
        False,
        (
            PolicyInformation(oids.RuPolicy.KC1),
            PolicyInformation(oids.RuPolicy.KC2, ("http://ca.example.ru/cps",)),
        ),
    ),
    PrivateKeyUsagePeriod(False, T0, T1),
    PrivateKeyUsagePeriod(False, None, T1),
    SubjectAlternativeName(
        False,
        (
            DnsName("ca.example.ru"),
            Rfc822Name("ivanov@example.ru"),
            Uri("https://example.ru"),
            IpAddress(ipaddress.ip_address("192.0.2.1")),
        ),
    ),
    SubjectSignTool(False, "СКЗИ «КриптоПро CSP» (версия 5.0)"),
    IssuerSignTool(
        False,
        "СКЗИ «КриптоПро CSP» (версия 5.0)",
        "ПАК «КриптоПро УЦ» версии 2.0",
        "Сертификат соответствия № СФ/124-4060 от 01.01.2022",
        "Сертификат соответствия № СФ/128-4273 от 01.01.2022",
    ),
    IdentificationKind(False, IdentificationKindValue.REMOTE_WITH_BIOMETRICS),
]


@pytest.mark.parametrize("ext", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_typed_extension_round_trips_through_der(ext: Extension) -> None:
    again = parse_extension(ext.oid_dotted, ext.critical, ext.value_der())
    assert again == ext
    assert again.value_der() == ext.value_der()


def test_russian_extensions_have_the_order_795_asn1() -> None:
    sst = SubjectSignTool(False, "Тест").value_der()
    assert sst[0] == 0x0C  # UTF8String
    ist = IssuerSignTool(False, "a", "b", "c", "d").value_der()
    assert ist == bytes.fromhex("300c") + b"".join(
        b"\x0c\x01" + c for c in (b"a", b"b", b"c", b"d")
    )
    ik = IdentificationKind(False, IdentificationKindValue.PERSONAL).value_der()
    assert ik == b"\x02\x01\x00"


def test_critical_flag_is_encoded_only_when_true() -> None:
    assert b"\x01\x01\xff" in BasicConstraints(True, True).der()
    assert b"\x01\x01" not in SubjectSignTool(False, "x").der()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: BasicConstraints(True, False, 0), "pathLenConstraint"),
        (lambda: BasicConstraints(True, True, -1), "pathLenConstraint"),
        (lambda: KeyUsage(True, frozenset()), "at least one"),
        (lambda: KeyUsage(True, frozenset({KeyUsageBit.ENCIPHER_ONLY})), "keyAgreement"),
        (lambda: ExtendedKeyUsage(False, ()), "at least one"),
        (
            lambda: ExtendedKeyUsage(
                False, (oids.ExtendedKeyUsage.CLIENT_AUTH, oids.ExtendedKeyUsage.CLIENT_AUTH)
            ),
            "twice",
        ),
        (lambda: AuthorityKeyIdentifier(False, None), "keyIdentifier"),
        (lambda: AuthorityKeyIdentifier(False, b"1", (), 5), "go together"),
        (lambda: PrivateKeyUsagePeriod(False, None, None), "notBefore or notAfter"),
        (lambda: PrivateKeyUsagePeriod(False, T1, T0), "ends before"),
        (lambda: PrivateKeyUsagePeriod(False, datetime(2026, 1, 1), None), "timezone"),
        (lambda: SubjectSignTool(False, ""), "1..200"),
        (lambda: SubjectSignTool(False, "x" * 201), "1..200"),
        (lambda: IssuerSignTool(False, "a", "b", "c" * 101, "d"), "signToolCert"),
        (lambda: CertificatePolicies(False, ()), "at least one"),
        (lambda: Uri("no scheme"), "scheme"),
    ],
)
def test_constructors_refuse_what_rfc_5280_and_order_795_forbid(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_identification_kind_outside_0_to_3_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"0\.\.3"):
        parse_extension(oids.RuExtension.IDENTIFICATION_KIND.dotted, False, b"\x02\x01\x07")


def test_a_value_asn1crypto_cannot_read_is_a_decode_error() -> None:
    """A policy qualifier of an unknown id holding a REAL: asn1crypto has no reader for REAL,
    and asking for its value raised AttributeError out of the parser (the fuzz corpus found it
    through the linter)."""

    def tlv(tag: int, content: bytes) -> bytes:
        return bytes([tag, len(content)]) + content

    qualifier = tlv(0x30, b"\x06\x02\x2a\x03" + b"\x09\x01\x40")  # id 1.2.3, REAL
    policies = tlv(0x30, tlv(0x30, b"\x06\x03\x2a\x03\x04" + tlv(0x30, qualifier)))
    with pytest.raises(DecodeError, match="certificatePolicies"):
        parse_extension(oids.Extension.CERTIFICATE_POLICIES.dotted, False, policies)


def test_an_unknown_extension_is_kept_as_bytes_and_not_interpreted() -> None:
    ext = parse_extension("1.2.3.4.5", True, b"\x05\x00")
    assert isinstance(ext, UnrecognizedExtension)
    assert ext.oid_dotted == "1.2.3.4.5"
    assert ext.value == b"\x05\x00"
    assert ext.critical


def test_extensions_refuse_a_duplicate_oid() -> None:
    with pytest.raises(ValueError, match="more than once"):
        Extensions((BasicConstraints(True, False), BasicConstraints(True, True)))


def test_lookup_by_type_returns_the_typed_value() -> None:
    exts = Extensions(tuple(EXAMPLES[:1] + EXAMPLES[2:4]))
    bc = exts.get(BasicConstraints)
    assert bc is not None
    assert bc.path_length == 0
    assert exts.get(SubjectSignTool) is None


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([e.oid_dotted for e in EXAMPLES]), st.binary(max_size=60))
def test_garbage_inside_a_known_extension_raises_only_decode_error(
    dotted: str, data: bytes
) -> None:
    try:
        ext = parse_extension(dotted, False, data)
    except DecodeError as exc:
        assert str(exc)  # noqa: PT017
    else:
        assert ext.oid_dotted == dotted

"""The lazy CRL parser: lookup, iteration, verification, and only our errors on bad input."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.errors import AtlasCaError, DecodeError, SignatureInvalid
from atlas_ca.x509 import der
from atlas_ca.x509.crl import (
    CertificateRevocationList,
    CrlBuilder,
    CrlIssuerMismatch,
    FreshestCrl,
    IssuingDistributionPoint,
    RevocationReason,
    RevokedEntry,
    UnsupportedCrlFeature,
    load_crl,
)
from support.crl_helpers import NOW, make_ca, new_ecdsa_key, new_gost_key

KEY = new_ecdsa_key()
CA = make_ca(KEY)
AT = NOW - timedelta(hours=3)


def signed(entries: list[RevokedEntry], number: int = 3) -> bytes:
    return (
        CrlBuilder()
        .issuer_certificate(CA)
        .this_update(NOW)
        .next_update(NOW + timedelta(days=1))
        .crl_number(number)
        .issuing_distribution_point(IssuingDistributionPoint(full_name=("http://c.ru/1.crl",)))
        .freshest_crl(FreshestCrl(("http://c.ru/d.crl",)))
        .sign(KEY, entries)
        .der()
    )


SAMPLE = signed(
    [
        RevokedEntry(0x0201_01, AT, RevocationReason.KEY_COMPROMISE),
        RevokedEntry(0x4242, AT, RevocationReason.CERTIFICATE_HOLD, AT - timedelta(days=1)),
        RevokedEntry(300, AT),
    ]
)


def test_header_fields_are_read_without_touching_entries() -> None:
    crl = load_crl(SAMPLE)
    assert crl.version == 2
    assert crl.crl_number == 3
    assert crl.delta_crl_indicator is None
    assert not crl.is_delta
    assert crl.this_update == NOW
    assert crl.next_update == NOW + timedelta(days=1)
    assert crl.issuing_distribution_point == IssuingDistributionPoint(
        full_name=("http://c.ru/1.crl",)
    )
    assert crl.freshest_crl == FreshestCrl(("http://c.ru/d.crl",))
    assert [(e.oid, e.critical) for e in crl.extensions] == [
        ("2.5.29.35", False),
        ("2.5.29.20", False),
        ("2.5.29.28", True),
        ("2.5.29.46", False),
    ]
    assert "crl_number=3" in repr(crl)


def test_lookup_ignores_a_serial_pattern_inside_another_serial() -> None:
    # 0x020101 encodes as 02 03 02 01 01, which contains 02 01 01: the encoding of serial 1.
    crl = load_crl(SAMPLE)
    assert crl.lookup(1) is None
    assert crl.lookup(0x020101) == RevokedEntry(0x020101, AT, RevocationReason.KEY_COMPROMISE)
    assert crl.lookup(0x4242) == RevokedEntry(
        0x4242, AT, RevocationReason.CERTIFICATE_HOLD, AT - timedelta(days=1)
    )
    assert crl.lookup(300) == RevokedEntry(300, AT)
    with_one = load_crl(signed([RevokedEntry(0x020101, AT), RevokedEntry(1, AT)]))
    assert with_one.lookup(1) == RevokedEntry(1, AT)


def test_many_entries_are_counted_iterated_and_found() -> None:
    entries = [RevokedEntry(10_000 + 7 * i, AT, RevocationReason.SUPERSEDED) for i in range(3000)]
    crl = load_crl(signed(entries))
    assert len(crl) == 3000
    assert list(crl) == entries
    assert crl.lookup(10_000 + 7 * 1234) == entries[1234]
    assert crl.lookup(10_001) is None


def test_pem_and_der_parse_alike() -> None:
    pem = (
        CrlBuilder()
        .issuer_certificate(CA)
        .this_update(NOW)
        .next_update(NOW + timedelta(days=1))
        .crl_number(3)
        .sign(KEY, [RevokedEntry(5, AT)])
        .pem()
    )
    crl = load_crl(pem)
    assert CertificateRevocationList.from_pem(pem).der == crl.der
    assert crl.lookup(5) == RevokedEntry(5, AT)


def test_verification_succeeds_with_the_issuer_and_fails_otherwise() -> None:
    crl = load_crl(SAMPLE)
    crl.verify_issued_by(CA)
    crl.verify(KEY.public_key_info)
    other = make_ca(new_ecdsa_key())  # same subject name, different key
    with pytest.raises(CrlIssuerMismatch, match="authorityKeyIdentifier"):
        crl.verify_issued_by(other)
    stranger = make_ca(KEY, cn="Другой УЦ")
    with pytest.raises(CrlIssuerMismatch, match="issuer name"):
        crl.verify_issued_by(stranger)


def test_a_modified_entry_breaks_the_signature() -> None:
    data = bytearray(SAMPLE)
    pos = data.find(bytes.fromhex("02024242"))
    data[pos + 3] ^= 0x01  # serial 0x4242 -> 0x4243
    crl = load_crl(bytes(data))
    assert crl.lookup(0x4243) is not None
    with pytest.raises(SignatureInvalid):
        crl.verify_issued_by(CA)


def test_a_gost_signed_crl_verifies_and_a_wrong_key_does_not() -> None:
    key = new_gost_key("cryptopro-a")
    ca = make_ca(key)
    data = (
        CrlBuilder()
        .issuer_certificate(ca)
        .this_update(NOW)
        .next_update(NOW + timedelta(days=1))
        .crl_number(1)
        .sign(key, [RevokedEntry(77, AT, RevocationReason.CA_COMPROMISE)])
        .der()
    )
    crl = load_crl(data)
    crl.verify_issued_by(ca)
    with pytest.raises(SignatureInvalid):
        crl.verify(new_gost_key("cryptopro-a").public_key_info)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d + b"\x00", "trailing"),
        (lambda d: d[:-1], "declares|truncated"),
        (lambda d: b"", "truncated"),
        (lambda d: b"\x30\x80" + d[2:], "indefinite|non-minimal|declares"),
    ],
)
def test_malformed_input_raises_decode_error(mutate: object, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        load_crl(mutate(SAMPLE))  # type: ignore[operator]


def _crl_with_extension(ext: bytes) -> bytes:
    """A structurally valid (unsigned) CRL whose crlExtensions hold ``ext``."""
    alg = der.encode_sequence(der.encode_oid("1.2.840.10045.4.3.2"))
    tbs = der.encode_sequence(
        der.encode_integer(1),
        alg,
        der.encode_sequence(),
        der.encode_time(NOW),
        der.tlv(0xA0, der.encode_sequence(ext)),
    )
    return der.encode_sequence(tbs, alg, der.encode_bit_string(b"\x00" * 8))


def test_an_unknown_critical_crl_extension_is_refused() -> None:
    ext = der.encode_sequence(
        der.encode_oid("1.2.3.4"), der.encode_boolean(True), der.encode_octet_string(b"\x05\x00")
    )
    with pytest.raises(UnsupportedCrlFeature, match=r"critical CRL extension 1\.2\.3\.4"):
        load_crl(_crl_with_extension(ext))
    quiet = der.encode_sequence(der.encode_oid("1.2.3.4"), der.encode_octet_string(b"\x05\x00"))
    assert load_crl(_crl_with_extension(quiet)).extensions[0].value == b"\x05\x00"


def test_signature_algorithms_must_agree() -> None:
    crl = bytearray(SAMPLE)
    # the outer AlgorithmIdentifier is the last one: change its OID's last arc
    pos = crl.rfind(bytes.fromhex("2a8648ce3d040302"))
    crl[pos + 7] = 0x03
    with pytest.raises(DecodeError, match="differs from signatureAlgorithm"):
        load_crl(bytes(crl))


def _exercise(data: bytes) -> None:
    crl = load_crl(data)
    len(crl)
    list(crl)
    crl.lookup(0x4242)
    crl.lookup(300)
    for attr in (
        "crl_number",
        "delta_crl_indicator",
        "authority_key_identifier",
        "issuing_distribution_point",
        "freshest_crl",
        "extensions",
        "signature_algorithm",
    ):
        getattr(crl, attr)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255), st.sampled_from("rid")),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_crls_raise_only_decode_errors(edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(SAMPLE)
    for pos, value, kind in edits:
        pos = min(pos, len(data) - 1)
        if kind == "r":
            data[pos] = value
        elif kind == "i":
            data.insert(pos, value)
        elif len(data) > 1:
            del data[pos]
    try:
        _exercise(bytes(data))
    except DecodeError:
        pass
    except AtlasCaError as exc:  # pragma: no cover - the assertion explains
        raise AssertionError(f"{type(exc).__name__} is not a DecodeError: {exc}") from exc


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        _exercise(b"\x30" + bytes([len(data)]) + data if len(data) < 128 else data)


def _one_entry(e: RevokedEntry) -> bytes:
    """The DER of one entry as the builder writes it (content only, without its SEQUENCE)."""
    crl = load_crl(signed([e]))
    start, end = crl._revoked  # type: ignore[misc]
    _, cs, ce = der.read_header(crl.der, start, end, "t")
    return crl.der[cs:ce]


_ENTRY_SAMPLES = [
    _one_entry(RevokedEntry(0x0102, AT, RevocationReason.KEY_COMPROMISE)),
    _one_entry(RevokedEntry(0x80, AT)),
    _one_entry(RevokedEntry(2**159 - 1, AT, RevocationReason.CERTIFICATE_HOLD, AT)),
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_ENTRY_SAMPLES),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3),
)
def test_the_fast_entry_decoder_agrees_with_the_full_one(
    sample: bytes, edits: list[tuple[int, int]]
) -> None:
    from atlas_ca.x509.crl import _decode_entry, _decode_entry_fully

    data = bytearray(sample)
    for pos, value in edits:
        data[pos % len(data)] = value
    raw = bytes(data)

    def outcome(decode: object) -> object:
        try:
            return decode(raw, 0, len(raw))  # type: ignore[operator]
        except DecodeError as exc:
            return type(exc)

    assert outcome(_decode_entry) == outcome(_decode_entry_fully)

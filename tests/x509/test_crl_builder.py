"""The CRL builder: RFC 5280 §5 rules, immutability, and an independent reader (cryptography)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.errors import SignatureInvalid
from atlas_ca.x509 import der
from atlas_ca.x509.crl import (
    CertificateRevocationList,
    CrlBuilder,
    CrlIssuerMismatch,
    FreshestCrl,
    IssuingDistributionPoint,
    RevocationReason,
    RevokedEntry,
    issuer_facts,
    load_crl,
)
from support.crl_helpers import NOW, make_ca, name_der, new_ecdsa_key, new_ed25519_key

KEY = new_ecdsa_key()
CA = make_ca(KEY)
LATER = NOW + timedelta(days=1)


def base_builder(number: int = 10) -> CrlBuilder:
    return (
        CrlBuilder().issuer_certificate(CA).this_update(NOW).next_update(LATER).crl_number(number)
    )


def entry(serial: int, reason: RevocationReason | None = None, **kw: datetime) -> RevokedEntry:
    return RevokedEntry(serial, kw.get("at", NOW - timedelta(hours=2)), reason, kw.get("inv"))


# --- immutability and set-once ---------------------------------------------------------------


def test_setters_return_a_new_builder_and_leave_the_old_one_unchanged() -> None:
    empty = CrlBuilder()
    with_number = empty.crl_number(3)
    assert with_number is not empty
    # the original can still take a different number: it was not modified
    assert empty.crl_number(4) is not with_number
    with pytest.raises(ValueError, match="is already set"):
        with_number.crl_number(4)


@pytest.mark.parametrize(
    "setter",
    [
        lambda b: b.this_update(NOW),
        lambda b: b.next_update(LATER),
        lambda b: b.crl_number(11),
        lambda b: b.issuer_name(name_der("other")),
        lambda b: b.authority_key_identifier(b"\x01" * 20),
    ],
)
def test_every_field_is_set_once(setter: object) -> None:
    with pytest.raises(ValueError, match="already set"):
        setter(base_builder())  # type: ignore[operator]


def test_missing_required_fields_are_all_named() -> None:
    with pytest.raises(ValueError, match="issuer name, authority key identifier, next_update"):
        CrlBuilder().this_update(NOW).crl_number(1).sign(KEY)


def test_next_update_must_come_after_this_update() -> None:
    b = CrlBuilder().issuer_certificate(CA).this_update(NOW).next_update(NOW).crl_number(1)
    with pytest.raises(ValueError, match="must be after"):
        b.sign(KEY)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CrlBuilder().this_update(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        RevokedEntry(1, datetime(2026, 1, 1))


def test_crl_number_is_limited_to_20_octets() -> None:
    CrlBuilder().crl_number(2**159 - 1)
    with pytest.raises(ValueError, match="20 octets"):
        CrlBuilder().crl_number(2**159)
    with pytest.raises(ValueError, match="negative"):
        CrlBuilder().crl_number(-1)
    with pytest.raises(TypeError):
        CrlBuilder().crl_number(True)


def test_serials_over_20_octets_are_refused() -> None:
    with pytest.raises(ValueError, match="20 octets"):
        RevokedEntry(2**159, NOW)


def test_delta_crl_base_must_precede_its_own_number() -> None:
    with pytest.raises(ValueError, match="must be below"):
        base_builder(5).delta_crl_indicator(5).sign(KEY)


def test_freshest_crl_is_refused_in_a_delta_crl() -> None:
    b = base_builder(6).delta_crl_indicator(5).freshest_crl(FreshestCrl(("http://x.ru/d.crl",)))
    with pytest.raises(ValueError, match="freshestCRL must not appear in a delta"):
        b.sign(KEY)


def test_remove_from_crl_is_allowed_only_in_a_delta_crl() -> None:
    removal = entry(7, RevocationReason.REMOVE_FROM_CRL)
    with pytest.raises(ValueError, match="removeFromCRL is only allowed in a delta"):
        base_builder().sign(KEY, [removal])
    crl = load_crl(base_builder(6).delta_crl_indicator(5).sign(KEY, [removal]).der())
    assert crl.lookup(7) == removal


def test_revocation_after_this_update_is_refused() -> None:
    with pytest.raises(ValueError, match="after this_update"):
        base_builder().sign(KEY, [entry(1, at=NOW + timedelta(seconds=1))])


def test_entries_must_be_revoked_entries() -> None:
    with pytest.raises(TypeError, match="RevokedEntry"):
        base_builder().sign(KEY, [(1, NOW, None, None)])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"only_contains_user_certs": True, "only_contains_ca_certs": True},
        {"only_contains_ca_certs": True, "only_contains_attribute_certs": True},
        {},
        {"full_name": ("not a uri",)},
        {"only_some_reasons": frozenset({RevocationReason.REMOVE_FROM_CRL})},
    ],
)
def test_issuing_distribution_point_invariants(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"issuingDistributionPoint|URI"):
        IssuingDistributionPoint(**kwargs)  # type: ignore[arg-type]


# --- what the bytes say, read by an independent parser ---------------------------------------


def test_cryptography_reads_every_field_of_a_full_crl() -> None:
    idp = IssuingDistributionPoint(
        full_name=("http://crl.atlas.ru/ca1.crl",),
        only_contains_user_certs=True,
        only_some_reasons=frozenset(
            {RevocationReason.KEY_COMPROMISE, RevocationReason.AA_COMPROMISE}
        ),
    )
    entries = [
        entry(0x1234, RevocationReason.KEY_COMPROMISE, inv=NOW - timedelta(days=3)),
        entry(0x77, RevocationReason.CERTIFICATE_HOLD),
        entry(0x10, RevocationReason.UNSPECIFIED),
        entry(0x11),
    ]
    signed = (
        base_builder(42)
        .issuing_distribution_point(idp)
        .freshest_crl(FreshestCrl(("http://crl.atlas.ru/ca1-delta.crl",)))
        .sign(KEY, entries)
    )
    crl = x509.load_der_x509_crl(signed.der())
    assert crl.is_signature_valid(x509.load_der_x509_certificate(CA).public_key())  # type: ignore[arg-type]
    assert crl.issuer.public_bytes() == issuer_facts(CA).subject_der
    assert crl.last_update_utc == NOW
    assert crl.next_update_utc == LATER
    ext = crl.extensions
    assert ext.get_extension_for_class(x509.CRLNumber).value.crl_number == 42
    assert not ext.get_extension_for_class(x509.CRLNumber).critical
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == issuer_facts(CA).key_identifier
    got_idp = ext.get_extension_for_class(x509.IssuingDistributionPoint)
    assert got_idp.critical
    assert got_idp.value.full_name == [
        x509.UniformResourceIdentifier("http://crl.atlas.ru/ca1.crl")
    ]
    assert got_idp.value.only_contains_user_certs
    assert got_idp.value.only_some_reasons == frozenset(
        {x509.ReasonFlags.key_compromise, x509.ReasonFlags.aa_compromise}
    )
    fresh = ext.get_extension_for_class(x509.FreshestCRL)
    assert not fresh.critical
    assert fresh.value[0].full_name == [
        x509.UniformResourceIdentifier("http://crl.atlas.ru/ca1-delta.crl")
    ]
    revoked = list(crl)
    assert [r.serial_number for r in revoked] == [0x1234, 0x77, 0x10, 0x11]  # order given
    first = revoked[0].extensions
    assert first.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    assert first.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc == (
        NOW - timedelta(days=3)
    )
    hold = revoked[1].extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert hold == x509.ReasonFlags.certificate_hold
    # RFC 5280 §5.3.1: no reasonCode for unspecified, nor when no reason is given.
    assert len(revoked[2].extensions) == 0
    assert len(revoked[3].extensions) == 0


def test_cryptography_reads_the_delta_crl_indicator_as_critical() -> None:
    signed = base_builder(43).delta_crl_indicator(42).sign(KEY, [entry(5)])
    crl = x509.load_der_x509_crl(signed.der())
    delta = crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert delta.critical
    assert delta.value.crl_number == 42
    ours = load_crl(signed.der())
    assert ours.is_delta
    assert ours.delta_crl_indicator == 42
    assert ours.crl_number == 43


def test_times_are_utctime_through_2049_and_generalizedtime_from_2050() -> None:
    last_utc = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    first_gen = datetime(2050, 1, 1, tzinfo=UTC)
    signed = (
        CrlBuilder()
        .issuer_certificate(CA)
        .this_update(last_utc)
        .next_update(first_gen)
        .crl_number(1)
        .sign(KEY, [RevokedEntry(9, last_utc), RevokedEntry(10, datetime(2049, 1, 1, tzinfo=UTC))])
    )
    data = signed.der()
    assert b"\x17\x0d491231235959Z" in data
    assert b"\x18\x0f20500101000000Z" in data
    crl = load_crl(data)
    assert (crl.this_update, crl.next_update) == (last_utc, first_gen)
    assert crl.lookup(9) == RevokedEntry(9, last_utc)
    assert x509.load_der_x509_crl(data).next_update_utc == first_gen


def test_times_in_other_zones_are_stored_in_utc_to_the_second() -> None:
    vladivostok = timezone(timedelta(hours=10))
    local = datetime(2026, 3, 1, 9, 30, 15, 999_999, tzinfo=vladivostok)
    e = RevokedEntry(1, local)
    assert e.revoked_at == datetime(2026, 2, 28, 23, 30, 15, tzinfo=UTC)
    assert e.revoked_at.tzinfo is UTC


def test_issuer_is_the_ca_subject_byte_for_byte() -> None:
    # The CA subject mixes PrintableString and UTF8String: a re-encoded name would differ.
    crl = load_crl(base_builder().sign(KEY).der())
    assert crl.issuer_der == issuer_facts(CA).subject_der
    assert crl.issuer_der == name_der("Атлас тест УЦ")


def test_a_ca_without_ski_gets_the_rfc5280_method_one_key_identifier() -> None:
    ca = make_ca(KEY, with_ski=False)
    facts = issuer_facts(ca)
    assert not facts.has_ski
    assert facts.key_identifier == issuer_facts(CA).key_identifier  # same key, same SHA-1


def test_an_empty_crl_omits_revoked_certificates() -> None:
    data = base_builder().sign(KEY).der()
    crl = load_crl(data)
    assert len(crl) == 0
    assert list(crl) == []
    assert crl.lookup(1) is None
    assert list(x509.load_der_x509_crl(data)) == []


# --- signing paths and output ----------------------------------------------------------------


class _NoWholeSigning(type(KEY)):  # type: ignore[misc]
    """The real ECDSA key, but signing the whole TBS fails: only the prehash path works."""

    def sign(self, data: bytes) -> bytes:
        raise AssertionError("a PrehashSigningKey must be signed through new_hasher/sign_digest")


def test_a_prehash_key_signs_the_streamed_tbs_without_materialising_it() -> None:
    key = _NoWholeSigning(KEY.private)
    signed = base_builder().sign(key, [entry(i) for i in range(1, 50)])
    load_crl(signed.der()).verify_issued_by(CA)


def test_ed25519_without_prehash_signs_the_joined_tbs() -> None:
    ed = new_ed25519_key()
    ca = make_ca(ed)
    signed = (
        CrlBuilder()
        .issuer_certificate(ca)
        .this_update(NOW)
        .next_update(LATER)
        .crl_number(1)
        .sign(ed, [entry(3)])
    )
    load_crl(signed.der()).verify_issued_by(ca)
    crl = x509.load_der_x509_crl(signed.der())
    assert crl.is_signature_valid(x509.load_der_x509_certificate(ca).public_key())  # type: ignore[arg-type]


def test_streamed_pem_and_der_are_the_same_crl() -> None:
    # ~1.1 MB of entries: the PEM writer crosses its 786,432-byte block boundary.
    entries = (entry(2**120 + i, RevocationReason.SUPERSEDED) for i in range(25_000))
    signed = base_builder().sign(KEY, entries)
    assert signed.entry_count == 25_000
    der_out, pem_out = io.BytesIO(), io.BytesIO()
    assert signed.write_to(der_out) == len(der_out.getvalue())
    assert signed.write_to(pem_out, pem=True) == len(pem_out.getvalue())
    assert der_out.getvalue() == signed.der()
    assert pem_out.getvalue() == signed.pem()
    lines = pem_out.getvalue().splitlines()
    assert lines[0] == b"-----BEGIN X509 CRL-----"
    assert lines[-1] == b"-----END X509 CRL-----"
    assert all(len(line) == 64 for line in lines[1:-2])
    assert base64.b64decode(b"".join(lines[1:-1])) == signed.der()
    assert len(CertificateRevocationList.from_pem(pem_out.getvalue())) == 25_000


# --- round trips -----------------------------------------------------------------------------

_moments = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2026, 1, 1),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))
_entries = st.builds(
    RevokedEntry,
    serial=st.integers(min_value=0, max_value=2**159 - 1),
    revoked_at=_moments,
    reason=st.none() | st.sampled_from(RevocationReason),
    invalidity_date=st.none() | _moments,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entries, max_size=30, unique_by=lambda e: e.serial))
def test_entries_round_trip_through_build_and_parse(entries: list[RevokedEntry]) -> None:
    signed = base_builder(7).delta_crl_indicator(6).sign(KEY, entries)
    crl = load_crl(signed.der())
    expected = [
        e
        if e.reason is not RevocationReason.UNSPECIFIED
        else RevokedEntry(e.serial, e.revoked_at, None, e.invalidity_date)
        for e in entries
    ]
    assert list(crl) == expected
    assert len(crl) == len(entries)
    for e in expected:
        assert crl.lookup(e.serial) == e
    absent = max((e.serial for e in entries), default=0) + 1
    if absent < 2**159:
        assert crl.lookup(absent) is None
    assert x509.load_der_x509_crl(signed.der()).is_signature_valid(
        x509.load_der_x509_certificate(CA).public_key()  # type: ignore[arg-type]
    )


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2**200), max_value=2**200))
def test_der_integers_round_trip_minimally(value: int) -> None:
    encoded = der.encode_integer(value)
    tag, start, end = der.read_header(encoded, 0, len(encoded), "test")
    assert (tag, end) == (der.INTEGER, len(encoded))
    assert der.read_integer(encoded, start, end, "test") == value
    content = encoded[start:end]
    assert len(content) == 1 or not (
        (content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**70), min_size=1, max_size=8), st.data())
def test_der_object_identifiers_round_trip(arcs: list[int], data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=0, max_value=2))
    second = data.draw(st.integers(min_value=0, max_value=39 if first < 2 else 2**40))
    dotted = ".".join(map(str, [first, second, *arcs]))
    encoded = der.encode_oid(dotted)
    assert der.read_oid(encoded, 2 if encoded[1] < 0x80 else 3, len(encoded), "t") == dotted


class _WrongPublicHalf(type(KEY)):  # type: ignore[misc]
    """A key whose signatures do not match the public key it reports (a faulty token)."""

    @property
    def public_key_info(self) -> bytes:
        return new_ecdsa_key().public_key_info


class _WrongEdPublicHalf(type(new_ed25519_key())):  # type: ignore[misc]
    @property
    def public_key_info(self) -> bytes:
        return new_ed25519_key().public_key_info


@pytest.mark.parametrize(
    "key",
    [_WrongPublicHalf(KEY.private), _WrongEdPublicHalf(new_ed25519_key().private)],
    ids=["prehash-ecdsa", "whole-tbs-ed25519"],
)
def test_a_signature_that_does_not_verify_is_never_returned(key: object) -> None:
    builder = (
        CrlBuilder()
        .issuer_name(name_der("Атлас тест УЦ"))  # no certificate: no early key comparison
        .authority_key_identifier(b"\x01" * 20)
        .this_update(NOW)
        .next_update(LATER)
        .crl_number(1)
    )
    with pytest.raises(SignatureInvalid, match="does not verify with its own public key"):
        builder.sign(key, [entry(1)])  # type: ignore[arg-type]


def test_signing_with_a_key_other_than_the_issuer_certificates_is_refused() -> None:
    with pytest.raises(CrlIssuerMismatch, match="not the key of the issuer certificate"):
        base_builder().sign(new_ecdsa_key(), [entry(1)])


def test_a_large_crl_is_built_without_an_object_per_entry() -> None:
    """40,000 streamed entries: traced peak memory stays near the size of the DER itself."""
    import tracemalloc

    def stream() -> object:
        for i in range(40_000):
            yield RevokedEntry(
                2**127 + i * 7919, NOW - timedelta(hours=1), RevocationReason.SUPERSEDED
            )

    tracemalloc.start()
    try:
        signed = base_builder().sign(KEY, stream())  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = len(signed.der())
    assert signed.entry_count == 40_000
    # One RevokedEntry with its int and datetime is > 200 bytes: holding them all would be
    # > 8 MB; the encoded entries are ≈ 1.9 MB and the buffer may over-allocate.
    assert peak < 2 * size, (peak, size)

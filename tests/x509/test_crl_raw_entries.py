"""The CRL builder's bulk path (``sign(rows=...)``): the same DER as typed entries, checked
values, never an invalid entry written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.x509.crl import (
    CrlBuilder,
    RawEntry,
    RevocationReason,
    RevokedEntry,
    SignedCrl,
    load_crl,
    revocation_time,
)
from support.crl_helpers import NOW, make_ca, new_ecdsa_key

KEY = new_ecdsa_key()
CA = make_ca(KEY)
AT = NOW - timedelta(hours=2)
#: A thisUpdate after 2050, so revocation times on both sides of the UTCTime/GeneralizedTime
#: boundary (RFC 5280 §4.1.2.5) can be listed.
FUTURE = datetime(2071, 1, 1, tzinfo=UTC)


def builder(this_update: datetime = NOW, *, delta: bool = False) -> CrlBuilder:
    b = (
        CrlBuilder()
        .issuer_certificate(CA)
        .this_update(this_update)
        .next_update(this_update + timedelta(days=1))
        .crl_number(9)
    )
    return b.delta_crl_indicator(8) if delta else b


def tbs(signed: SignedCrl) -> bytes:
    """The signed part: ECDSA signatures differ between two signings of the same TBS."""
    return bytes(signed.tbs_head) + bytes(signed.entries) + bytes(signed.tbs_tail)


def generalized(moment: datetime) -> bytes:
    return moment.strftime("%Y%m%d%H%M%SZ").encode()


def as_row(entry: RevokedEntry, form: str, time_form: str = "der") -> RawEntry:
    serial: int | bytes | str = entry.serial
    if form == "bytes":
        serial = entry.serial.to_bytes(20, "big")  # zero-padded, as the register stores it
    elif form == "hex":
        serial = format(entry.serial, "040x")
    elif form == "HEX":
        serial = format(entry.serial, "X").rjust(2 * ((entry.serial.bit_length() + 7) // 8), "0")
    inv = None if entry.invalidity_date is None else generalized(entry.invalidity_date)
    reason = None if entry.reason is None else int(entry.reason)
    when = (
        revocation_time(entry.revoked_at) if time_form == "der" else generalized(entry.revoked_at)
    )
    return (serial, when, reason, inv)


# --- the same DER as the typed path ----------------------------------------------------------

_moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2070, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
_entries = st.builds(
    RevokedEntry,
    serial=st.integers(min_value=1, max_value=2**159 - 1),
    revoked_at=_moments,
    reason=st.none() | st.sampled_from(RevocationReason),
    invalidity_date=st.none() | _moments,
)
_forms = st.sampled_from(["int", "bytes", "hex", "HEX"])
_time_forms = st.sampled_from(["der", "generalized"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_entries, _forms, _time_forms), max_size=25, unique_by=lambda p: p[0].serial)
)
def test_rows_give_the_same_der_as_typed_entries_and_parse_back(
    triples: list[tuple[RevokedEntry, str, str]],
) -> None:
    entries = [e for e, _, _ in triples]
    typed = builder(FUTURE, delta=True).sign(KEY, entries)
    raw = builder(FUTURE, delta=True).sign(KEY, rows=(as_row(*t) for t in triples))
    assert tbs(raw) == tbs(typed)
    assert raw.entry_count == len(entries)
    parsed = load_crl(raw.der())
    expected = [
        e
        if e.reason is not RevocationReason.UNSPECIFIED
        else RevokedEntry(e.serial, e.revoked_at, None, e.invalidity_date)
        for e in entries
    ]
    assert list(parsed) == expected
    assert x509.load_der_x509_crl(raw.der()).is_signature_valid(
        x509.load_der_x509_certificate(CA).public_key()  # type: ignore[arg-type]
    )


def test_typed_entries_and_rows_mix_in_one_crl_in_the_order_given() -> None:
    first = RevokedEntry(5, AT, RevocationReason.SUPERSEDED)
    second = RevokedEntry(2**127 + 1, AT - timedelta(days=400), RevocationReason.CERTIFICATE_HOLD)
    mixed = builder().sign(KEY, [first], rows=[as_row(second, "hex")])
    assert tbs(mixed) == tbs(builder().sign(KEY, [first, second]))


def test_an_openssl_index_time_is_the_utctime_content_as_is() -> None:
    signed = builder().sign(KEY, rows=[(0x1234, b"250101000000Z", 1, None)])
    assert list(load_crl(signed.der())) == [
        RevokedEntry(0x1234, datetime(2025, 1, 1, tzinfo=UTC), RevocationReason.KEY_COMPROMISE)
    ]


def test_a_time_from_the_previous_century_is_listed_under_a_2026_this_update() -> None:
    # "99…" is greater than "26…" as bytes: the byte comparison must not refuse it.
    signed = builder().sign(KEY, rows=[(7, b"991231235959Z", None, None)])
    assert next(iter(load_crl(signed.der()))).revoked_at == datetime(
        1999, 12, 31, 23, 59, 59, tzinfo=UTC
    )


def test_a_large_crl_from_rows_holds_no_object_per_entry() -> None:
    """40,000 rows: traced peak memory stays near the size of the DER itself."""
    import tracemalloc

    when = revocation_time(AT)

    def rows() -> Any:
        for i in range(40_000):
            yield (2**127 + i * 7919, when, 4, None)

    tracemalloc.start()
    try:
        signed = builder().sign(KEY, rows=rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert signed.entry_count == 40_000
    assert peak < 2 * len(signed.der()), (peak, len(signed.der()))


# --- what the bulk path refuses --------------------------------------------------------------

GOOD_TIME = revocation_time(AT)


@pytest.mark.parametrize(
    ("row", "error", "message"),
    [
        ((0, GOOD_TIME, None, None), ValueError, "must be positive"),
        ((-5, GOOD_TIME, None, None), ValueError, "must be positive"),
        ((2**159, GOOD_TIME, None, None), ValueError, "does not fit in 20 octets"),
        ((b"\x00\x00", GOOD_TIME, None, None), ValueError, "must be positive"),
        ((b"", GOOD_TIME, None, None), ValueError, "must be positive"),
        ((b"\x80" + b"\x00" * 19, GOOD_TIME, None, None), ValueError, "does not fit"),
        (("0" * 40, GOOD_TIME, None, None), ValueError, "must be positive"),
        (("12g4", GOOD_TIME, None, None), ValueError, "not hexadecimal"),
        ((" 1234", GOOD_TIME, None, None), ValueError, "not hexadecimal"),
        (("١٢", GOOD_TIME, None, None), ValueError, "not hexadecimal"),
        ((True, GOOD_TIME, None, None), TypeError, "must be int, bytes or hex str"),
        ((1.0, GOOD_TIME, None, None), TypeError, "must be int, bytes or hex str"),
        ((bytearray(b"\x01"), GOOD_TIME, None, None), TypeError, "must be int, bytes"),
        ((1, b"251301000000Z", None, None), ValueError, "not a valid date"),
        ((1, b"250230120000Z", None, None), ValueError, "not a valid date"),
        ((1, b"250101246000Z", None, None), ValueError, "not a valid date"),
        ((1, b"250101120060Z", None, None), ValueError, "not a valid date"),
        ((1, b"2501011200Z", None, None), ValueError, "neither YYMMDDHHMMSSZ"),
        ((1, b"250101120000z", None, None), ValueError, "digits ending in Z"),
        ((1, b"25010112000+Z", None, None), ValueError, "digits ending in Z"),
        ((1, "250101120000Z", None, None), TypeError, "must be bytes"),
        ((1, bytearray(b"250101120000Z"), None, None), TypeError, "must be bytes"),
        ((1, b"20250230120000Z", None, None), ValueError, "not a valid date"),
        ((1, b"491231235959Z", None, None), ValueError, "after this_update"),
        ((1, b"20491231235959Z", None, None), ValueError, "after this_update"),
        ((1, generalized(NOW + timedelta(days=1)), None, None), ValueError, "after this_update"),
        ((1, b"2025013112000Z", None, None), ValueError, "neither YYMMDDHHMMSSZ"),
        ((1, GOOD_TIME, 7, None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, 11, None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, -1, None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, 1.0, None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, True, None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, "1", None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, [1], None), ValueError, "not a CRLReason code"),
        ((1, GOOD_TIME, 8, None), ValueError, "only allowed in a delta CRL"),
        ((1, GOOD_TIME, None, GOOD_TIME), ValueError, "must be GeneralizedTime"),
        ((1, GOOD_TIME, None, b"20250230000000Z"), ValueError, "not a valid date"),
    ],
)
def test_a_bad_row_is_refused_with_a_clear_error(
    row: tuple[Any, Any, Any, Any], error: type[Exception], message: str
) -> None:
    good: RawEntry = (3, GOOD_TIME, 1, None)
    with pytest.raises(error, match=message):
        builder().sign(KEY, rows=[good, row])


def test_a_time_after_this_update_is_refused_on_the_fast_path_too() -> None:
    later = revocation_time(NOW + timedelta(seconds=1))
    with pytest.raises(ValueError, match="after this_update"):
        builder().sign(KEY, rows=[(1, later, None, None)])
    # the same second as thisUpdate is allowed
    assert builder().sign(KEY, rows=[(1, revocation_time(NOW), None, None)]).entry_count == 1


def test_a_generalizedtime_of_1950_to_2049_is_written_as_utctime() -> None:
    """RFC 5280 §4.1.2.5: a database may give every year as YYYYMMDDHHMMSSZ."""
    for given_form, written in (
        (b"20250101120000Z", b"\x17\x0d250101120000Z"),
        (b"19991231235959Z", b"\x17\x0d991231235959Z"),
        (b"19491231235959Z", b"\x18\x0f19491231235959Z"),
    ):
        signed = builder().sign(KEY, rows=[(1, given_form, None, None)])
        assert written in bytes(signed.entries)
    later = builder(FUTURE).sign(KEY, rows=[(1, b"20600101000000Z", None, None)])
    assert b"\x18\x0f20600101000000Z" in bytes(later.entries)


def test_remove_from_crl_rows_are_accepted_in_a_delta() -> None:
    signed = builder(delta=True).sign(KEY, rows=[(1, GOOD_TIME, 8, None)])
    assert next(iter(load_crl(signed.der()))).reason is RevocationReason.REMOVE_FROM_CRL


def test_revocation_time_is_utctime_to_2049_and_generalizedtime_after() -> None:
    assert revocation_time(datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)) == b"491231235959Z"
    assert revocation_time(datetime(2050, 1, 1, tzinfo=UTC)) == b"20500101000000Z"
    assert revocation_time(datetime(1949, 12, 31, tzinfo=UTC)) == b"19491231000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        revocation_time(datetime(2026, 1, 1))

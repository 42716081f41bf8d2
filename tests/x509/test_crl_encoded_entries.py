"""Entries stored as DER (``encode_entry``) and appended in blocks (``sign(encoded=...)``): the
same CRL as typed entries, the blocks' shape checked, ``removeFromCRL`` never stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.x509.crl import (
    CrlBuilder,
    EncodedEntries,
    RevocationReason,
    RevokedEntry,
    SignedCrl,
    encode_entry,
    encode_rows,
    load_crl,
    revocation_time,
)
from support.crl_helpers import NOW, make_ca, new_ecdsa_key

KEY = new_ecdsa_key()
CA = make_ca(KEY)
FUTURE = datetime(2071, 1, 1, tzinfo=UTC)


def builder(this_update: datetime = FUTURE) -> CrlBuilder:
    return (
        CrlBuilder()
        .issuer_certificate(CA)
        .this_update(this_update)
        .next_update(this_update + timedelta(days=1))
        .crl_number(9)
    )


def tbs(signed: SignedCrl) -> bytes:
    return bytes(signed.tbs_head) + bytes(signed.entries) + bytes(signed.tbs_tail)


entries = st.builds(
    RevokedEntry,
    serial=st.integers(1, 2**159 - 1),
    revoked_at=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2070, 12, 31), timezones=st.just(UTC)
    ),
    reason=st.sampled_from([None, *(r for r in RevocationReason if r.value != 8)]),
    invalidity_date=st.none()
    | st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2070, 1, 1), timezones=st.just(UTC)
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries, max_size=12), st.integers(1, 5))
def test_stored_entries_in_blocks_give_the_crl_of_the_typed_entries(
    listed: list[RevokedEntry], block: int
) -> None:
    ders = [encode_entry(e.serial, e.revoked_at, e.reason, e.invalidity_date) for e in listed]
    blocks = [
        EncodedEntries(len(ders[i : i + block]), b"".join(ders[i : i + block]))
        for i in range(0, len(ders), block)
    ]
    typed = builder().sign(KEY, listed)
    encoded = builder().sign(KEY, encoded=blocks)
    assert tbs(encoded) == tbs(typed)
    assert encoded.entry_count == len(listed)
    parsed = load_crl(encoded.der())
    assert list(parsed) == [
        RevokedEntry(
            e.serial,
            e.revoked_at,
            None if e.reason is RevocationReason.UNSPECIFIED else e.reason,
            e.invalidity_date,
        )
        for e in listed
    ]
    x509.load_der_x509_crl(encoded.der())  # an independent parser accepts it


def test_encoded_blocks_follow_typed_entries_and_rows_in_order() -> None:
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    signed = builder().sign(
        KEY,
        [RevokedEntry(1, at)],
        rows=[(2, revocation_time(at), 1, None)],
        encoded=[encode_rows([(3, revocation_time(at), 4, None)], FUTURE)],
    )
    assert [(e.serial, e.reason) for e in load_crl(signed.der())] == [
        (1, None),
        (2, RevocationReason.KEY_COMPROMISE),
        (3, RevocationReason.SUPERSEDED),
    ]


def test_remove_from_crl_is_never_stored_as_a_full_crl_entry() -> None:
    with pytest.raises(ValueError, match="removeFromCRL is only allowed in a delta CRL"):
        encode_entry(5, NOW, RevocationReason.REMOVE_FROM_CRL)


def test_encode_rows_checks_the_rows_against_this_update() -> None:
    late = revocation_time(FUTURE + timedelta(seconds=1))
    with pytest.raises(ValueError, match="after this_update"):
        encode_rows([(5, late, None, None)], FUTURE)
    block = encode_rows([(5, revocation_time(FUTURE), None, None)] * 3, FUTURE)
    assert block.entries == 3
    assert block.der == encode_entry(5, FUTURE) * 3


GOOD = encode_entry(5, NOW)


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (EncodedEntries(0, GOOD), ValueError, "positive count"),
        (EncodedEntries(True, GOOD), ValueError, "positive count"),
        (EncodedEntries(1, bytearray(GOOD)), TypeError, "must be bytes"),
        (EncodedEntries(1, b""), ValueError, "not DER entries"),
        (EncodedEntries(2, GOOD), ValueError, "not DER entries"),  # too short for two
        (EncodedEntries(1, b"\x31" + GOOD[1:]), ValueError, "not DER entries"),
    ],
)
def test_a_malformed_block_is_refused(
    block: EncodedEntries, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        builder().sign(KEY, encoded=[block])

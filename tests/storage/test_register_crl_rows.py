"""The register's CRL rows (``CrlScan.listed_rows``): what ``listed`` lists, in the form the CRL
encoder's bulk path takes, derived by SQLite and PostgreSQL alike; partitions as serial ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from atlas_ca.storage import CrlRecord, RevocationReason
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import MAX_SERIAL, CrlRow, SerialRange, serial_text
from support.crl_signer import typed_and_raw_tbs
from support.registers import ACTOR, ISSUER, OPERATOR, OTHER_ISSUER, T0, issued, new_intent


def issue(reg: SqlRegister, serial: int, **kw: object) -> None:
    intent = new_intent(serial, **kw)  # type: ignore[arg-type]
    reg.record_intent(intent, actor=ACTOR)
    reg.complete_intent(issued(intent), actor=ACTOR)


def generalized(moment: datetime) -> bytes:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode()


# Times on both sides of RFC 5280's UTCTime years (1950–2049), with fractions of a second
# (dropped, as the typed path drops them) and in another zone (stored as UTC).
MSK = timezone(timedelta(hours=3))
DATES = {
    0x10: datetime(2049, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    0x20: datetime(2050, 1, 1, 0, 0, 0, tzinfo=UTC),
    0x30: datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),
    0x40: datetime(1950, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
    0x50: datetime(2026, 3, 1, 2, 30, 5, tzinfo=MSK),
    MAX_SERIAL: T0,
}


def test_crl_rows_are_the_listed_entries_as_der_time_text(register: SqlRegister) -> None:
    for serial in (*DATES, 0x60):
        issue(register, serial)
    for serial, at in DATES.items():
        if serial == 0x50:
            register.suspend(ISSUER, serial, at=at, actor=OPERATOR)
            continue
        register.revoke(
            ISSUER,
            serial,
            reason=RevocationReason.KEY_COMPROMISE if serial == 0x10 else RevocationReason(0),
            revocation_date=at,
            invalidity_date=at - timedelta(days=3) if serial in (0x10, 0x20) else None,
            actor=OPERATOR,
        )
    issue(register, 0x10, issuer=OTHER_ISSUER)
    register.revoke(
        OTHER_ISSUER, 0x10, reason=RevocationReason(4), revocation_date=T0, actor=OPERATOR
    )
    with register.crl_scan(ISSUER) as scan:
        rows = list(scan.listed_rows())
        listed = list(scan.listed())
    assert all(isinstance(r, tuple) and len(r) == 4 for r in rows)
    assert [tuple(r) for r in rows] == [
        CrlRow(
            serial_text(e.serial),
            generalized(e.revocation_date),  # type: ignore[arg-type]
            None if e.reason is None else int(e.reason),
            None if e.invalidity_date is None else generalized(e.invalidity_date),
        )
        for e in listed
    ]
    by_serial = {int(r[0], 16): r for r in rows}
    assert by_serial[0x10][1:] == (b"20491231235959Z", 1, b"20491228235959Z")
    assert by_serial[0x20][1:] == (b"20500101000000Z", 0, b"20491229000000Z")
    assert by_serial[0x30][1] == b"19491231235959Z"
    assert by_serial[0x40][1] == b"19500101000000Z"
    assert by_serial[0x50][1:3] == (b"20260228233005Z", 6)  # 02:30:05 in Moscow
    assert 0x60 not in by_serial


def test_a_crl_from_the_registers_rows_is_the_crl_of_its_typed_entries(
    register: SqlRegister,
) -> None:
    """The rows through the builder's bulk path give the same DER as the listed entries
    through RevokedEntry (the publisher's path before the bulk path)."""
    for serial, at in DATES.items():
        issue(register, serial)
        register.revoke(
            ISSUER,
            serial,
            reason=RevocationReason.SUPERSEDED,
            revocation_date=at,
            invalidity_date=at if serial == 0x20 else None,
            actor=OPERATOR,
        )
    with register.crl_scan(ISSUER) as scan:
        typed, raw = typed_and_raw_tbs(scan.listed(), scan.listed_rows())
    assert raw == typed


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1, 0x30, [0x10, 0x20]),
        (0x20, 0x41, [0x20, 0x30, 0x40]),
        (0x41, MAX_SERIAL + 1, [0x50, MAX_SERIAL]),
    ],
)
def test_a_serial_range_scans_one_stretch_of_serials(
    register: SqlRegister, low: int, high: int, expected: list[int]
) -> None:
    for serial in (0x10, 0x20, 0x30, 0x40, 0x50, MAX_SERIAL):
        issue(register, serial)
        register.revoke(
            ISSUER, serial, reason=RevocationReason(1), revocation_date=T0, actor=OPERATOR
        )
    with register.crl_scan(ISSUER) as scan:
        serials = SerialRange(low, high)
        assert [int(r[0], 16) for r in scan.listed_rows(serials)] == expected
        assert [e.serial for e in scan.listed(serials)] == expected
    with register.crl_scan(ISSUER) as scan:
        base_mark = scan.change_mark
    number = register.next_crl_number(ISSUER)
    register.record_crl(
        CrlRecord(ISSUER, number, T0, T0 + timedelta(days=1), base_mark), at=T0, actor=ACTOR
    )
    for serial in (0x11, 0x42):
        issue(register, serial)
        register.revoke(
            ISSUER, serial, reason=RevocationReason(1), revocation_date=T0, actor=OPERATOR
        )
    with register.crl_scan(ISSUER) as scan:
        changed = [e.serial for e in scan.changes_since(number, SerialRange(low, high))]
    assert changed == [s for s in (0x11, 0x42) if low <= s < high]


def test_a_serial_range_must_be_a_range_of_serials() -> None:
    for low, high in ((0, 5), (5, 5), (6, 5), (1, MAX_SERIAL + 2)):
        with pytest.raises(ValueError, match="not a range of serials"):
            SerialRange(low, high)

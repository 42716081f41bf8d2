"""The CRL entry each listed certificate carries as DER (``crl_entry``, migration
``*_crl_entries``): written with every status change, filled for older rows at the next CRL
scan, and read by ``CrlScan.listed_encoded`` — whose CRL is the typed path's byte for byte,
also when it has to encode rows on the way. SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atlas_ca.storage import RevocationReason
from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from atlas_ca.storage._sql import SqlRegister, _SqlCrlScan, migrations
from atlas_ca.storage.ports import MAX_SERIAL, SerialRange, serial_text
from atlas_ca.x509.crl import EncodedEntries, encode_entry
from support.crl_signer import THIS_UPDATE, typed_and_encoded_tbs
from support.registers import ACTOR, ISSUER, OPERATOR, OTHER_ISSUER, T0, Store, issued, new_intent

#: The schema version that adds the stored entries (numbered at merge: found by name).
CRL_ENTRIES = next(v for v, name, _ in migrations("sqlite") if name.endswith("_crl_entries"))


def issue(reg: SqlRegister, serial: int, **kw: object) -> None:
    intent = new_intent(serial, **kw)  # type: ignore[arg-type]
    reg.record_intent(intent, actor=ACTOR)
    reg.complete_intent(issued(intent), actor=ACTOR)


def stored(store: Store, serial: int, issuer: str = ISSUER.value) -> bytes | None:
    ((value,),) = store.raw(
        "SELECT crl_entry FROM certificates WHERE issuer = ? AND serial = ?",
        (issuer, serial_text(serial)),
    )
    return None if value is None else bytes(value)


def listed_der(reg: SqlRegister, this_update: datetime = THIS_UPDATE) -> tuple[bytes, bytes]:
    with reg.crl_scan(ISSUER) as scan:
        blocks = list(scan.listed_encoded(this_update))
        typed, encoded = typed_and_encoded_tbs(scan.listed(), blocks, this_update)
    assert all(isinstance(b, EncodedEntries) and b.entries > 0 for b in blocks)
    return typed, encoded


def test_every_status_change_stores_the_entry_a_full_crl_lists(store: Store) -> None:
    reg = store.open()
    at = datetime(2026, 3, 1, 2, 30, 5, 700_000, tzinfo=UTC)
    for serial in (0x10, 0x20, 0x30):
        issue(reg, serial)
    assert stored(store, 0x10) is None  # valid: not listed
    reg.revoke(
        ISSUER,
        0x10,
        reason=RevocationReason.KEY_COMPROMISE,
        revocation_date=at,
        invalidity_date=at - timedelta(days=2),
        actor=OPERATOR,
    )
    assert stored(store, 0x10) == encode_entry(
        0x10, at, RevocationReason.KEY_COMPROMISE, at - timedelta(days=2)
    )
    reg.suspend(ISSUER, 0x20, at=at, actor=OPERATOR)
    assert stored(store, 0x20) == encode_entry(0x20, at, RevocationReason.CERTIFICATE_HOLD)
    reg.resume(ISSUER, 0x20, at=at + timedelta(hours=1), actor=OPERATOR)
    assert stored(store, 0x20) is None  # valid again: the entry goes with the status
    reg.suspend(ISSUER, 0x30, at=at, actor=OPERATOR)
    reg.revoke(
        ISSUER, 0x30, reason=RevocationReason(0), revocation_date=at + timedelta(1), actor=OPERATOR
    )
    assert stored(store, 0x30) == encode_entry(0x30, at + timedelta(1))  # no reasonCode


# Both sides of RFC 5280's UTCTime years, fractions of a second, the largest serial.
DATES = {
    0x10: datetime(2049, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    0x20: datetime(2050, 1, 1, 0, 0, 0, tzinfo=UTC),
    0x30: datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),
    0x40: datetime(1950, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
    MAX_SERIAL: T0,
}


def revoke_all(reg: SqlRegister) -> None:
    for serial, at in DATES.items():
        issue(reg, serial)
        reg.revoke(
            ISSUER,
            serial,
            reason=RevocationReason.SUPERSEDED if serial != 0x40 else RevocationReason(0),
            revocation_date=at,
            invalidity_date=at if serial == 0x20 else None,
            actor=OPERATOR,
        )
    issue(reg, 0x10, issuer=OTHER_ISSUER)  # another issuer's entry is not listed
    reg.revoke(OTHER_ISSUER, 0x10, reason=RevocationReason(1), revocation_date=T0, actor=OPERATOR)


def test_a_crl_of_the_stored_entries_is_the_crl_of_the_typed_entries(register: SqlRegister) -> None:
    revoke_all(register)
    typed, encoded = listed_der(register)
    assert encoded == typed
    assert len(typed) > 5 * 20


def test_rows_without_a_stored_entry_are_encoded_on_the_way_then_filled(store: Store) -> None:
    reg = store.open()
    revoke_all(reg)
    for serial in (0x10, 0x40):
        store.raw(
            "UPDATE certificates SET crl_entry = NULL WHERE serial = ?", (serial_text(serial),)
        )
    # a snapshot that still has rows without one (the scan's own fill not run): encoded
    # on the way, the same CRL
    with reg._db.snapshot() as cur:
        scan = _SqlCrlScan(reg, cur, ISSUER, 10**6)
        blocks = list(scan.listed_encoded(THIS_UPDATE))
        typed, encoded = typed_and_encoded_tbs(scan.listed(), blocks)
    assert encoded == typed
    assert stored(store, 0x10) is None
    with reg.crl_scan(ISSUER):  # the scan fills the missing entries first
        pass
    assert stored(store, 0x10) == encode_entry(0x10, DATES[0x10], RevocationReason.SUPERSEDED)
    assert stored(store, 0x40) == encode_entry(0x40, DATES[0x40])
    typed, encoded = listed_der(reg)
    assert encoded == typed


def test_a_stored_row_that_cannot_be_encoded_is_reported_by_the_scan(store: Store) -> None:
    reg = store.open()
    revoke_all(reg)
    store.raw(
        "UPDATE certificates SET crl_entry = NULL, reason = 7 WHERE serial = ?",
        (serial_text(0x30),),
    )
    # the fill leaves it; the scan names it
    with (
        reg.crl_scan(ISSUER) as scan,
        pytest.raises(ValueError, match="7 is not a CRLReason code"),
    ):
        list(scan.listed_encoded(THIS_UPDATE))
    assert stored(store, 0x30) is None


def test_a_revocation_after_this_update_is_refused_as_the_builder_refuses_it(
    register: SqlRegister,
) -> None:
    revoke_all(register)
    # thisUpdate within the second of a revocation: allowed (DER keeps whole seconds)
    typed, encoded = listed_der(register, DATES[0x20])
    assert encoded == typed
    with (
        register.crl_scan(ISSUER) as scan,
        pytest.raises(ValueError, match=r"revoked at 2050-01-01T00:00:00\+00:00, after"),
    ):
        list(scan.listed_encoded(DATES[0x20] - timedelta(seconds=1)))


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1, 0x30, [0x10, 0x20]),
        (0x20, 0x41, [0x20, 0x30, 0x40]),
        (0x41, MAX_SERIAL + 1, [MAX_SERIAL]),
    ],
)
def test_a_partition_lists_the_stored_entries_of_its_serial_range(
    register: SqlRegister, low: int, high: int, expected: list[int]
) -> None:
    revoke_all(register)
    with register.crl_scan(ISSUER) as scan:
        blocks = list(scan.listed_encoded(THIS_UPDATE, SerialRange(low, high)))
    want = b"".join(
        encode_entry(
            s,
            DATES[s],
            RevocationReason.SUPERSEDED if s != 0x40 else None,
            DATES[s] if s == 0x20 else None,
        )
        for s in expected
    )
    assert b"".join(b.der for b in blocks) == want
    assert sum(b.entries for b in blocks) == len(expected)


def test_a_register_listed_before_the_stored_entries_gets_them_at_its_next_crl_scan(
    store: Store,
) -> None:
    if store.kind == "sqlite":
        sqlite_adapter.migrate(store.location, applied_at=T0, target=CRL_ENTRIES - 1)
    else:
        pg_adapter.migrate(store.location, applied_at=T0, target=CRL_ENTRIES - 1)
    # rows as an older atlas_ca wrote them (raw SQL, no crl_entry column yet)
    when = "2026-11-25T12:00:00.000000Z" if store.kind == "sqlite" else T0
    for serial, reason in ((0x42, 1), (0x43, None)):
        store.raw(
            "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, order_id,"
            " profile, state, created_at, resolved_at) VALUES (?, ?, ?, 'sub-1', NULL,"
            " 'qualified-person', 'completed', ?, ?)",
            (ISSUER.value, serial_text(serial), bytes(32), when, when),
        )
        store.raw(
            "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber, order_id,"
            " profile, not_before, not_after, issued_at, status, status_changed_at, reason,"
            " revocation_date, last_change) VALUES (?, ?, ?, ?, 'sub-1', NULL,"
            " 'qualified-person', ?, ?, ?, 'revoked', ?, ?, ?, 1)",
            (ISSUER.value, serial_text(serial), b"\x30\x00", bytes(20), *[when] * 4, reason, when),
        )
    store.raw("INSERT INTO issuer_changes (issuer, last_change) VALUES (?, 1)", (ISSUER.value,))
    reg = store.open()  # migrates: the column exists, empty
    assert reg.schema_version >= CRL_ENTRIES
    assert stored(store, 0x42) is None
    typed, encoded = listed_der(reg)
    assert encoded == typed
    assert stored(store, 0x42) == encode_entry(0x42, T0, RevocationReason.KEY_COMPROMISE)
    assert stored(store, 0x43) == encode_entry(0x43, T0)


def test_a_read_only_register_still_scans_rows_without_a_stored_entry(store: Store) -> None:
    reg = store.open()
    revoke_all(reg)
    store.raw("UPDATE certificates SET crl_entry = NULL WHERE serial = ?", (serial_text(0x20),))
    # the register's own connection turns read-only (a replica, a revoked grant)
    if store.kind == "sqlite":
        reg.db._conn.execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]
    else:
        reg.db.conn.execute("SET default_transaction_read_only = on")  # type: ignore[attr-defined]
    typed, encoded = listed_der(reg)  # the fill is skipped, the row encoded on the way
    assert encoded == typed
    assert stored(store, 0x20) is None

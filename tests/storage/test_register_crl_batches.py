"""The CRL scan's stored entries in fetch batches (``CrlScan.listed_encoded``): on PostgreSQL
with libpq 17+ the rows are streamed in chunks on the scan's transaction, otherwise read
through a server-side cursor — the same blocks either way; a scan stopped after its first
block leaves its connection answering. SQLite alike."""

from __future__ import annotations

import pytest

from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from support.crl_signer import THIS_UPDATE
from support.registers import ISSUER, Store, fill_revoked

ROWS, BATCH = 1000, 100


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "server-cursor"])
def test_stored_entries_come_in_the_same_batches_and_a_stopped_scan_leaves_the_connection_usable(
    store: Store, monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    monkeypatch.setattr(pg_adapter, "CHUNKED_ROWS", chunked and pg_adapter.CHUNKED_ROWS)
    monkeypatch.setattr(pg_adapter, "STREAM_BATCH", BATCH)
    monkeypatch.setattr(sqlite_adapter, "STREAM_BATCH", BATCH)
    reg = store.open()  # migrated
    fill_revoked(store, ROWS)
    with reg.crl_scan(ISSUER) as scan:  # the first scan stores the entries (raw rows had none)
        first = b"".join(b.der for b in scan.listed_encoded(THIS_UPDATE))
    with reg.crl_scan(ISSUER) as scan:
        blocks = list(scan.listed_encoded(THIS_UPDATE))
    assert [b.entries for b in blocks] == [BATCH] * (ROWS // BATCH)
    assert b"".join(b.der for b in blocks) == first
    with reg.crl_scan(ISSUER) as scan:
        stopped = scan.listed_encoded(THIS_UPDATE)
        assert next(stopped).entries == BATCH
        stopped.close()
        assert sum(b.entries for b in scan.listed_encoded(THIS_UPDATE)) == ROWS
    assert reg.latest_crl(ISSUER) is None  # and the register's connection answers after it

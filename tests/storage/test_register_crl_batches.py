"""The CRL scan's stored entries in fetch batches (``CrlScan.listed_encoded``): on PostgreSQL
with libpq 17+ the rows are streamed in chunks on the scan's transaction, otherwise read
through a server-side cursor — the same blocks either way; a scan stopped after its first
block leaves its connection answering. SQLite alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from atlas_ca.storage._sql import SqlRegister
from support.crl_signer import THIS_UPDATE
from support.registers import ISSUER, PgServer, Store, fill_revoked, make_store

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


@pytest.mark.postgres
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "server-cursor"])
def test_a_scan_stopped_while_the_server_still_sends_keeps_the_snapshot_usable(
    pg_server: PgServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    """Stopping a chunked stream makes psycopg cancel the query; a cancel that reaches a query
    still running aborts the whole transaction (every later statement of the scan failed with
    InFailedSqlTransaction — seen in CI under load). A result too large for the socket
    buffers keeps the server sending, so the cancel always lands here."""
    monkeypatch.setattr(pg_adapter, "CHUNKED_ROWS", chunked and pg_adapter.CHUNKED_ROWS)
    pg_store = make_store("postgres", pg_server, tmp_path)
    try:
        _stop_a_large_scan(pg_store.open())
    finally:
        pg_store.close_all()


def _stop_a_large_scan(reg: SqlRegister) -> None:
    with reg._db.snapshot() as cur:
        batches = cur.batches("SELECT g, repeat('x', 200) FROM generate_series(1, 2000000) g")
        assert len(next(batches)) == pg_adapter.STREAM_BATCH
        batches.close()
        assert cur.one("SELECT 41 + 1") == (42,)

"""The CRL scan reads from the covering index of schema version 3 (with the stored entries of
schema 7), not from the table rows; the checks before it are single index steps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atlas_ca.storage._sql import (
    _LISTED_DER_SQL,
    _LISTED_SQL,
    _PENDING_SQL,
    _REVOKED_SINCE_SQL,
    listed_rows_sql,
)
from atlas_ca.storage.sqlite import SQLITE_CRL_ROW_COLUMNS, SqliteRegister
from support.registers import ISSUER, T0, Store, fill_revoked


def test_sqlite_plans_the_listed_scan_on_the_covering_index(tmp_path: Path) -> None:
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path, opened_at=T0).close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {_LISTED_SQL}", (ISSUER.value, 10)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING COVERING INDEX certificates_crl" in details
    assert "TEMP B-TREE" not in details  # serial order comes from the index, no sort


def test_sqlite_plans_the_crl_row_scan_of_a_partition_on_the_covering_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path, opened_at=T0).close()
    for where, params in (
        ("", ()),
        (" AND serial >= ? AND serial < ?", ("0" * 40, "f" * 40)),
    ):
        sql = listed_rows_sql(SQLITE_CRL_ROW_COLUMNS, where)
        with sqlite3.connect(path) as conn:
            plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", (ISSUER.value, 10, *params))
            details = " ".join(str(row[-1]) for row in plan.fetchall())
        assert "USING COVERING INDEX certificates_crl" in details
        assert "TEMP B-TREE" not in details
        if params:
            # the partition's range is a search of the index, not a filter over the issuer
            assert "(issuer=? AND serial>? AND serial<?)" in details


def test_sqlite_plans_the_stored_entries_scan_and_its_checks_on_their_indexes(
    tmp_path: Path,
) -> None:
    """Also with statistics gathered while every row lacked its entry (a register migrated
    to schema 7): the planner must not scan the covering index for the pending check."""
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path, opened_at=T0).close()
    fill_revoked(Store("sqlite", str(path)), 2_000)
    for analyzed in (False, True):
        with sqlite3.connect(path) as conn:
            if analyzed:
                conn.execute("ANALYZE")

            def plan(sql: str, params: tuple[object, ...]) -> str:
                rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                return " ".join(str(row[-1]) for row in rows)

            scan = plan(_LISTED_DER_SQL, (ISSUER.value, 10))
            assert "USING COVERING INDEX certificates_crl " in scan + " "
            assert "TEMP B-TREE" not in scan
            ranged = _PENDING_SQL.replace(" LIMIT", " AND serial >= ? AND serial < ? LIMIT")
            for sql, params in (
                (_PENDING_SQL, (ISSUER.value,)),
                (ranged, (ISSUER.value, "0" * 40, "f" * 40)),
            ):
                assert "USING COVERING INDEX certificates_crl_pending" in plan(sql, params)
            since = plan(_REVOKED_SINCE_SQL, (ISSUER.value, "2026-01-01T00:00:00.000000Z"))
            assert "INDEX certificates_crl_latest (issuer=? AND revocation_date>?)" in since

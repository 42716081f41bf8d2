"""The CRL scan reads from the covering index of schema version 3, not from the table rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atlas_ca.storage._sql import _LISTED_SQL, listed_rows_sql
from atlas_ca.storage.sqlite import SQLITE_CRL_ROW_COLUMNS, SqliteRegister
from support.registers import ISSUER, T0


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

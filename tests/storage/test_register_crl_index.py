"""The CRL scan reads from the covering index of schema version 3, not from the table rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from registers import ISSUER, T0

from atlas_ca.storage._sql import _LISTED_SQL
from atlas_ca.storage.sqlite import SqliteRegister


def test_sqlite_plans_the_listed_scan_on_the_covering_index(tmp_path: Path) -> None:
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path, opened_at=T0).close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {_LISTED_SQL}", (ISSUER.value, 10)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING COVERING INDEX certificates_crl" in details
    assert "TEMP B-TREE" not in details  # serial order comes from the index, no sort

"""The :class:`~atlas_ca.services.state.RecordStore` in PostgreSQL (psycopg 3), for a CA whose
issuing nodes share one PostgreSQL register.

Same table and same semantics as :class:`~atlas_ca.services.state.SqliteRecordStore`: one row of
canonical JSON per (kind, key), written by atomic upserts (``put_all`` writes several records
in one transaction; the last writer wins, unless the writer names in ``unchanged`` the values
it read: then a record changed meanwhile refuses the write), decoded and re-validated by the
domain classes on every read. The document is ``TEXT``, not ``jsonb``: ``jsonb`` reorders keys
and would lose the canonical bytes.

The table is created on open, not by a register migration: it is not part of the register's
schema of certificates (no register statement reads it), and a schema version bump would make
every node still running the previous atlas_ca refuse the database (SchemaTooNew) only for a
table those nodes never use. Nodes opening together create it once: the creation runs under the
same transaction-level advisory lock as the register's migrations, after a ``to_regclass``
check, so a node without CREATE rights opens a database where the table already exists.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from atlas_ca.errors import StorageUnavailable
from atlas_ca.services.state import (
    RecordKind,
    decode,
    encode,
    expected_documents,
    require_same_document,
)
from atlas_ca.storage.postgres import DEFAULT_LOCK_TIMEOUT_MS, MIGRATION_LOCK

_SCHEMA = """
CREATE TABLE IF NOT EXISTS atlas_records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


class PostgresRecordStore:
    """:class:`~atlas_ca.services.state.RecordStore` in the register's PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        try:
            self._conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(dsn, autocommit=True)
            # as the register's connection: a checked write waits for another node's record
            # lock at most this long, then fails with StorageUnavailable instead of hanging
            self._conn.execute(f"SET lock_timeout = {int(DEFAULT_LOCK_TIMEOUT_MS)}")
            with self._conn.transaction():
                exists = self._conn.execute(
                    "SELECT to_regclass('atlas_records') IS NOT NULL"
                ).fetchone()
                if not (exists and exists[0]):
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    self._conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StorageUnavailable(
                f"the record store in PostgreSQL cannot be opened ({type(exc).__name__})"
            ) from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "PostgresRecordStore(...)"  # the DSN may carry a password

    def _failed(self, what: str, exc: psycopg.Error) -> StorageUnavailable:
        return StorageUnavailable(
            f"the record store in PostgreSQL {what} ({type(exc).__name__}: {str(exc).strip()})",
            sqlstate=getattr(exc, "sqlstate", None) or "",
        )

    def put(self, kind: RecordKind, key: str, value: object, *, at: dt.datetime) -> None:
        self.put_all([(kind, key, value)], at=at)

    def put_all(
        self,
        records: Sequence[tuple[RecordKind, str, object]],
        *,
        at: dt.datetime,
        unchanged: Sequence[tuple[RecordKind, str, object | None]] = (),
    ) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required")
        rows = [(kind.value, key, encode(value), at) for kind, key, value in records]
        expected = expected_documents(unchanged)
        try:
            with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
                for kind, key, document in expected:
                    # A transaction lock per record (it also covers a record not yet there),
                    # taken in (kind, key) order, then the row lock: concurrent checked writes
                    # of one record queue, and the later one sees what the first wrote.
                    cur.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"atlas_records:{kind.value}:{key}",),
                    )
                    row = cur.execute(
                        "SELECT document FROM atlas_records WHERE kind = %s AND key = %s"
                        " FOR UPDATE",
                        (kind.value, key),
                    ).fetchone()
                    require_same_document(kind, key, document, None if row is None else str(row[0]))
                cur.executemany(
                    "INSERT INTO atlas_records (kind, key, document, updated_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (kind, key) DO UPDATE SET"
                    " document = excluded.document, updated_at = excluded.updated_at",
                    rows,
                )
        except psycopg.Error as exc:
            raise self._failed("refused a write", exc) from exc

    def find(self, kind: RecordKind, key: str) -> object | None:
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT document FROM atlas_records WHERE kind = %s AND key = %s",
                    (kind.value, key),
                ).fetchone()
        except psycopg.Error as exc:
            raise self._failed("cannot be read", exc) from exc
        return None if row is None else decode(str(row[0]))

    def keys(self, kind: RecordKind) -> list[str]:
        try:
            with self._lock:
                rows = self._conn.execute(
                    'SELECT key FROM atlas_records WHERE kind = %s ORDER BY key COLLATE "C"',
                    (kind.value,),
                ).fetchall()
        except psycopg.Error as exc:
            raise self._failed("cannot be read", exc) from exc
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["PostgresRecordStore"]

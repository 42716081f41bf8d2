# ruff: noqa: S608 — f-strings here only splice the adapter's FOR UPDATE constant
"""The record store: durable identity and commercial records next to the register.

Subscribers, registrars, authorities, orders, personal accounts, one-time-code challenges and
refund decisions are frozen domain dataclasses. An operator's CLI runs one command per process,
so they must outlive the process: :class:`~atlas_ca.storage.ports.RecordStore` is the port,
:class:`SqlRecordStore` its one implementation over the register's
:class:`~atlas_ca.storage._sql.Database` abstraction, with two adapters —
:class:`~atlas_ca.storage.sqlite.SqliteRecordStore` and
:class:`~atlas_ca.storage.postgres.PostgresRecordStore` (chosen by :func:`open_record_store` from
the register's location). The rows live in the table ``atlas_records`` of the register's
database (one backup covers both), created by the versioned migration 0006 of each dialect: the
store migrates the database on open exactly as the register does, and creates no table itself.

Each row is one **canonical JSON** document (:mod:`atlas_ca.storage.record_codec`), decoded and
re-validated by the domain classes on every read. ``put_all`` writes several records in one
transaction; the last writer wins, unless the writer names in ``unchanged`` the values it read:
then a record changed meanwhile refuses the whole write (:class:`~atlas_ca.errors.RecordChanged`,
a compare-and-swap on the canonical bytes). SQLite serialises writers (``BEGIN IMMEDIATE``);
PostgreSQL takes, in (kind, key) order, a transaction-level lock per checked record (it also
covers a record not yet there) and then its row lock, so concurrent checked writes of one
record queue and the later one sees what the first wrote.

Personal data is in these documents (the register is the operator's protected store, 152-ФЗ);
nothing here prints or logs them. This module imports no database driver:
``sqlite3``/``psycopg`` are imported by the adapter modules only, psycopg only when a
PostgreSQL location is opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from atlas_ca.errors import RecordChanged, StorageUnavailable
from atlas_ca.storage._sql import MAX_ATTEMPTS, Cursor, Database, Retry
from atlas_ca.storage.ports import RecordKind, RecordStore
from atlas_ca.storage.record_codec import decode, encode

_UPSERT = (
    "INSERT INTO atlas_records (kind, key, document, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (kind, key) DO UPDATE SET"
    " document = excluded.document, updated_at = excluded.updated_at"
)


def _expected_documents(
    unchanged: Sequence[tuple[RecordKind, str, object | None]],
) -> list[tuple[RecordKind, str, str | None]]:
    """The documents ``put_all(unchanged=...)`` expects, in (kind, key) order (a fixed lock
    order: two writers checking the same records cannot wait for each other in a cycle)."""
    found = [(k, key, None if v is None else encode(v)) for k, key, v in unchanged]
    return sorted(found, key=lambda item: (item[0].value, item[1]))


def _require_same_document(
    kind: RecordKind, key: str, expected: str | None, stored: str | None
) -> None:
    if stored != expected:
        raise RecordChanged(
            f"the {kind.value} {key!r} changed after this command read it (another command or "
            "node wrote it first); nothing was written: run the command again",
            kind=kind.value,
            key=key,
        )


class SqlRecordStore:
    """:class:`~atlas_ca.storage.ports.RecordStore` over a :class:`Database` (the register's
    abstraction: its transactions, locking discipline, driver-error mapping and times)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"{type(self).__name__}(...)"

    def put(self, kind: RecordKind, key: str, value: object, *, at: dt.datetime) -> None:
        self.put_all([(kind, key, value)], at=at)

    def put_all(
        self,
        records: Sequence[tuple[RecordKind, str, object]],
        *,
        at: dt.datetime,
        unchanged: Sequence[tuple[RecordKind, str, object | None]] = (),
    ) -> None:
        db = self._db
        # encoded before the transaction: a value that cannot be stored writes nothing
        rows = [(kind.value, key, encode(value), db.ts(at)) for kind, key, value in records]
        expected = _expected_documents(unchanged)

        def tx(cur: Cursor) -> None:
            for kind, key, document in expected:
                db.lock_name(cur, f"atlas_records:{kind.value}:{key}")
                row = cur.one(
                    f"SELECT document FROM atlas_records WHERE kind = ? AND key = ?{db.for_update}",
                    (kind.value, key),
                )
                _require_same_document(kind, key, document, None if row is None else str(row[0]))
            for row_values in rows:
                cur.run(_UPSERT, row_values)

        for _ in range(MAX_ATTEMPTS):
            try:
                with db.write() as cur:
                    tx(cur)
                return
            except Retry:  # a deadlock or serialisation failure: nothing was written
                continue
        raise StorageUnavailable(
            "the record store kept reporting conflicts; nothing was written",
            operation="records.put_all",
        )

    def find(self, kind: RecordKind, key: str) -> object | None:
        with self._db.read() as cur:
            row = cur.one(
                "SELECT document FROM atlas_records WHERE kind = ? AND key = ?",
                (kind.value, key),
            )
        return None if row is None else decode(str(row[0]))

    def keys(self, kind: RecordKind) -> list[str]:
        # byte order on both dialects: SQLite's BINARY collation, the "C" collation of the
        # PostgreSQL column (migration 0006)
        with self._db.read() as cur:
            rows = cur.all(
                "SELECT key FROM atlas_records WHERE kind = ? ORDER BY key", (kind.value,)
            )
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqlRecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: What a PostgreSQL location says when psycopg is not installed (it is the [postgres] extra).
POSTGRES_MISSING = "a PostgreSQL register needs psycopg: pip install 'atlas-ca[postgres]'"


def open_record_store(location: str | Path, *, opened_at: dt.datetime) -> SqlRecordStore:
    """The record store next to the register at ``location``, chosen as
    :func:`atlas_ca.storage.open_register` chooses the register: ``postgresql://...`` /
    ``postgres://...`` is the PostgreSQL database, anything else (``sqlite:///path`` or a plain
    path) a SQLite file. The database is migrated on open; ``opened_at`` stamps the applied
    migrations."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from atlas_ca.storage.postgres import PostgresRecordStore
        except ImportError as exc:
            raise StorageUnavailable(POSTGRES_MISSING) from exc

        return PostgresRecordStore(text, opened_at=opened_at)
    from atlas_ca.storage.sqlite import SqliteRecordStore

    return SqliteRecordStore(text, opened_at=opened_at)


def _conforms(store: SqlRecordStore) -> RecordStore:
    """mypy checks here that both adapters (one SqlRecordStore) satisfy the RecordStore port."""
    return store


__all__ = ["SqlRecordStore", "open_record_store"]

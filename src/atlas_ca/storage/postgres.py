"""The register in PostgreSQL (psycopg 3), for several issuing nodes on one database.

Transactions run at READ COMMITTED with explicit row locks: every number the register hands out
(CRL numbers, per-issuer status-change numbers, audit sequence numbers) comes from
``UPDATE ... RETURNING`` or ``SELECT ... FOR UPDATE`` on one counter row, so concurrent nodes
queue on that row and the numbers are strictly increasing and commit in order. Serial
uniqueness is the primary key of ``issuance_intents``. The CRL publisher's scan runs on its own
connection in a REPEATABLE READ, READ ONLY transaction with a server-side cursor, so a million
entries stream in batches and never sit in a list.

Schema migrations run under a transaction-level advisory lock, so nodes starting together
migrate once.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
from psycopg import errors as pg_errors

from atlas_ca.errors import SchemaTooNew, StorageReadOnly, StorageUnavailable
from atlas_ca.storage._sql import (
    Cursor,
    Database,
    Retry,
    Row,
    SqlRegister,
    Statement,
    StepHook,
    migrations,
)
from atlas_ca.storage.records import SqlRecordStore

DIALECT = "postgres"
#: Key of the advisory lock that serialises schema migrations.
MIGRATION_LOCK = 0x41746C6173  # "Atlas"
STREAM_BATCH = 2000
#: libpq 17+ and psycopg 3.2+ stream a query's rows in chunks (``Cursor.stream(size=...)``):
#: the server sends rows while the client works on the previous ones, with no round trip per
#: batch as a server-side cursor's FETCH needs. A CRL scan of a million rows waited ≈ 1 s
#: less (docs/performance.md, "Partitioned CRLs, per partition").
CHUNKED_ROWS = psycopg.pq.version() >= 170000 and tuple(
    int(part) for part in psycopg.__version__.split(".")[:2] if part.isdigit()
) >= (3, 2)
_cursor_names = itertools.count(1)


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


def _map_error(exc: psycopg.Error, op: str) -> Exception:
    state = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
        return Retry()
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction | pg_errors.InsufficientPrivilege):
        return StorageReadOnly(
            f"{op}: PostgreSQL refused the write ({type(exc).__name__}); nothing was written",
            sqlstate=state,
        )
    if isinstance(exc, pg_errors.LockNotAvailable):
        return StorageUnavailable(
            f"{op}: a row stayed locked by another node beyond lock_timeout; nothing was written",
            sqlstate=state,
        )
    return StorageUnavailable(
        f"{op}: PostgreSQL failed ({type(exc).__name__}: {str(exc).strip()});"
        " the transaction was rolled back",
        sqlstate=state,
    )


class _Cur:
    def __init__(self, cur: psycopg.Cursor[Row], conn: psycopg.Connection[Row]) -> None:
        self._cur = cur
        self._conn = conn

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self._cur.execute(_pg(sql), params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._cur.execute(_pg(sql), params).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._cur.execute(_pg(sql), params).rowcount

    def send(self, statements: Sequence[Statement]) -> list[list[Row] | int]:
        """Pipelined (libpq pipeline mode): every statement goes out at once and the results
        come back together — one round trip, where a transaction holding rows other writers
        wait for would otherwise wait for each (issue 17)."""
        if len(statements) == 1:
            (only,) = statements
            cur = self._cur.execute(_pg(only.sql), only.params)
            return [cur.fetchall() if only.returning else cur.rowcount]
        cursors = []
        with self._conn.pipeline():
            for statement in statements:
                cur = self._conn.cursor()
                cur.execute(_pg(statement.sql), statement.params)
                cursors.append(cur)
        return [
            cur.fetchall() if statement.returning else cur.rowcount
            for cur, statement in zip(cursors, statements, strict=True)
        ]

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        name = f"atlas_stream_{next(_cursor_names)}"
        with self._conn.cursor(name=name) as server_side:
            server_side.itersize = STREAM_BATCH
            server_side.execute(_pg(sql), params)
            yield from server_side

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[Row]]:
        if CHUNKED_ROWS:
            # In the open (REPEATABLE READ) transaction: the same snapshot as a cursor's. A
            # stream stopped early is cancelled by psycopg, and a cancel that reaches the query
            # still running aborts the transaction: the stream runs under a savepoint to return
            # to (the snapshot is the transaction's, so it is kept).
            with self._conn.cursor() as cur:
                cur.execute("SAVEPOINT atlas_stream")
                rows = cast(
                    "Generator[Row, None, None]", cur.stream(_pg(sql), params, size=STREAM_BATCH)
                )
                finished = False
                try:
                    while batch := list(itertools.islice(rows, STREAM_BATCH)):
                        yield batch
                    finished = True
                finally:
                    rows.close()
                    if not self._conn.broken:
                        if not finished:
                            cur.execute("ROLLBACK TO SAVEPOINT atlas_stream")
                        cur.execute("RELEASE SAVEPOINT atlas_stream")
            return
        name = f"atlas_stream_{next(_cursor_names)}"
        with self._conn.cursor(name=name) as server_side:
            server_side.execute(_pg(sql), params)
            while batch := server_side.fetchmany(STREAM_BATCH):
                yield batch


DEFAULT_LOCK_TIMEOUT_MS = 30_000


def _connect(
    dsn: str, *, op: str, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
) -> psycopg.Connection[Row]:
    try:
        conn: psycopg.Connection[Row] = psycopg.connect(dsn, autocommit=True)
        conn.execute("SET TIME ZONE 'UTC'")
        # A writer waits for a row lock at most this long (the counterpart of SQLite's busy
        # timeout), then fails with StorageUnavailable instead of hanging behind a stuck node.
        conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        return conn
    except psycopg.Error as exc:
        raise _map_error(exc, op) from exc


def migrate(dsn: str, *, applied_at: datetime, target: int | None = None) -> int:
    """Bring the database at ``dsn`` to schema ``target`` (default: the latest); returns the
    version. A database newer than this code raises SchemaTooNew."""
    steps = migrations(DIALECT)
    target = len(steps) if target is None else target
    conn = _connect(dsn, op="open")
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            exists = conn.execute("SELECT to_regclass('atlas_schema') IS NOT NULL").fetchone()
            if not (exists and exists[0]):  # a node without CREATE rights skips this
                conn.execute(
                    "CREATE TABLE atlas_schema (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
                )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM atlas_schema").fetchone()
            current = int(row[0]) if row else 0
            if current > len(steps):
                raise SchemaTooNew(
                    f"the register's database has schema version {current}, newer than the"
                    f" {len(steps)} this atlas_ca knows: upgrade atlas_ca before opening it",
                    found=current,
                    supported=len(steps),
                )
            for version, name, sql in steps[current:target]:
                conn.execute(sql.encode())
                conn.execute(
                    "INSERT INTO atlas_schema (version, name, applied_at) VALUES (%s, %s, %s)",
                    (version, name, applied_at),
                )
        return max(current, target)
    except psycopg.Error as exc:
        raise _map_error(exc, "migrate") from exc
    finally:
        conn.close()


def _der_time(column: str) -> str:
    """SQL turning a timestamptz into GeneralizedTime content ``YYYYMMDDHHMMSSZ`` (bytea;
    fractions dropped, as DER drops them). The CRL encoder writes the years 1950–2049 as
    UTCTime."""
    return f"""convert_to(to_char({column} AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'UTF8')"""


#: CrlRow in SQL: the CRL encoder gets bytes it can append.
POSTGRES_CRL_ROW_COLUMNS = (
    f"serial, {_der_time('revocation_date')}, reason, {_der_time('invalidity_date')}"
)


class PostgresDatabase(Database):
    for_update = " FOR UPDATE"
    writable_ctes = True
    crl_row_columns = POSTGRES_CRL_ROW_COLUMNS

    def __init__(self, dsn: str, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS) -> None:
        self._dsn = dsn
        self._lock_timeout_ms = lock_timeout_ms
        self.conn = _connect(dsn, op="open", lock_timeout_ms=lock_timeout_ms)
        self._lock = threading.RLock()
        # Reads run on connections of their own, so a request's checks do not queue behind
        # another request's write transaction and its commit (group commit, issue 17).
        self._readers: queue.SimpleQueue[psycopg.Connection[Row]] = queue.SimpleQueue()
        self._all_readers: list[psycopg.Connection[Row]] = []

    @contextmanager
    def _tx(self, conn: psycopg.Connection[Row], op: str, first: str | None) -> Iterator[_Cur]:
        try:
            with conn.transaction(), conn.cursor() as cur:
                if first is not None:
                    cur.execute(first)
                yield _Cur(cur, conn)
        except psycopg.Error as exc:
            mapped = _map_error(exc, op)
            if isinstance(mapped, Retry) and op != "write":  # only writes are re-run
                mapped = StorageUnavailable(f"{op}: {type(exc).__name__}: {exc}")
            if conn is self.conn and (conn.closed or conn.broken):
                self._reconnect_later = True
            raise mapped from exc

    _reconnect_later = False

    def _live(self) -> psycopg.Connection[Row]:
        if self._reconnect_later or self.conn.closed:
            self._reconnect_later = False
            try:
                self.conn.close()
            finally:
                self.conn = _connect(
                    self._dsn, op="reconnect", lock_timeout_ms=self._lock_timeout_ms
                )
        return self.conn

    @contextmanager
    def _own_tx(self, op: str, first: str | None) -> Iterator[_Cur]:
        # One transaction at a time on the register's own connection (_live() under the lock).
        with self._lock, self._tx(self._live(), op, first) as cur:
            yield cur

    def write(self) -> Any:
        return self._own_tx("write", None)

    def read(self) -> Any:
        return self._pooled_read()

    @contextmanager
    def _reader(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled read-only connection (autocommit; its reads never queue behind a write)."""
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = _connect(self._dsn, op="read", lock_timeout_ms=self._lock_timeout_ms)
            try:  # read-only by default: no SET TRANSACTION round trip per read
                conn.execute("SET default_transaction_read_only = on")
            except psycopg.Error as exc:
                conn.close()
                raise _map_error(exc, "read") from exc
            with self._lock:
                self._all_readers.append(conn)
        try:
            yield conn
        finally:
            if conn.closed or conn.broken:
                with self._lock:
                    self._all_readers.remove(conn)
                conn.close()
            else:
                self._readers.put(conn)

    @contextmanager
    def _pooled_read(self) -> Iterator[_Cur]:
        with self._reader() as conn, self._tx(conn, "read", None) as cur:
            yield cur

    def read_together(self, statements: Sequence[Statement]) -> list[list[Row] | int]:
        """One pipeline on an autocommit connection: one round trip, no BEGIN and COMMIT
        around it (issue 17: two round trips of the three a request's checks cost)."""
        with self._reader() as conn:
            try:
                with conn.cursor() as cur:
                    return _Cur(cur, conn).send(statements)
            except psycopg.Error as exc:
                raise _map_error(exc, "read") from exc

    @contextmanager
    def snapshot(self) -> Iterator[_Cur]:
        conn = _connect(self._dsn, op="snapshot")
        try:
            with self._tx(
                conn, "snapshot", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            ) as cur:
                yield cur
        finally:
            conn.close()

    def ts(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required")
        return at

    def from_ts(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamp, got {type(value).__name__}")
        return value.astimezone(UTC)

    def close(self) -> None:
        with self._lock:
            for conn in self._all_readers:
                conn.close()
        self.conn.close()

    def lock_name(self, cur: Cursor, name: str) -> None:
        """A transaction-level advisory lock on a 64-bit hash of ``name``."""
        cur.one("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))


class PostgresRegister(SqlRegister):
    """The register in the PostgreSQL database named by ``dsn`` (migrated on open)."""

    def __init__(
        self,
        dsn: str,
        *,
        opened_at: datetime,
        lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
        on_step: StepHook | None = None,
    ) -> None:
        version = migrate(dsn, applied_at=opened_at)
        self.db = PostgresDatabase(dsn, lock_timeout_ms)
        super().__init__(self.db, version, on_step)

    def __repr__(self) -> str:
        return "PostgresRegister(...)"  # the DSN may carry a password


class PostgresRecordStore(SqlRecordStore):
    """The :class:`~atlas_ca.storage.ports.RecordStore` in the register's PostgreSQL database
    (table ``atlas_records``, created by migration 0006: the database is migrated on open, as
    by :class:`PostgresRegister`). A checked write waits for another node's lock on a record at
    most ``lock_timeout_ms``, then fails with StorageUnavailable instead of hanging."""

    def __init__(
        self, dsn: str, *, opened_at: datetime, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    ) -> None:
        migrate(dsn, applied_at=opened_at)
        self.db = PostgresDatabase(dsn, lock_timeout_ms)
        super().__init__(self.db)

    def __repr__(self) -> str:
        return "PostgresRecordStore(...)"  # the DSN may carry a password


__all__ = ["DIALECT", "PostgresRecordStore", "PostgresRegister", "migrate"]

"""The register in one SQLite file (the embedded default), with the standard library's sqlite3.

Durability and concurrency settings: WAL journal, ``synchronous=FULL`` (a commit survives a
power cut), ``foreign_keys=ON``, writers take the lock up front with ``BEGIN IMMEDIATE`` and
wait up to ``busy_timeout`` for it. Several processes may share one file on one machine; they
queue for writing on a file lock next to the database (``<db>-writer.lock``, :class:`WriterLock`)
before SQLite's own. For several machines use :mod:`atlas_ca.storage.postgres`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from atlas_ca.audit.events import parse_utc_text, utc_text
from atlas_ca.errors import SchemaTooNew, StorageReadOnly, StorageUnavailable
from atlas_ca.storage._sql import (
    Database,
    Row,
    SqlRegister,
    Statement,
    StepHook,
    latest_version,
    migrations,
)
from atlas_ca.storage.records import SqlRecordStore

DIALECT = "sqlite"
DEFAULT_BUSY_TIMEOUT_MS = 30_000
_READONLY = 8  # SQLITE_READONLY (primary result code)
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
#: Rows per fetch of the CRL scan's batches (a block of stored CRL entries each).
STREAM_BATCH = 2000


def _busy_error(op: str, path: Path, name: str) -> StorageUnavailable:
    """Another writer held the register beyond the busy timeout (SQLite's lock or ours)."""
    return StorageUnavailable(
        f"{op}: the SQLite register stayed locked by another writer ({name}); nothing was written",
        path=str(path),
        sqlite_error=name,
    )


def _map_error(exc: sqlite3.Error, op: str, path: Path) -> Exception:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    if code == _READONLY:
        return StorageReadOnly(
            f"{op}: the SQLite register is read-only ({name}); nothing was written",
            path=str(path),
            sqlite_error=name,
        )
    if code in _BUSY_CODES:
        return _busy_error(op, path, name)
    return StorageUnavailable(
        f"{op}: the SQLite register failed ({name}: {exc}); the transaction was rolled back",
        path=str(path),
        sqlite_error=name,
    )


class _Cur:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        cur = self._conn.execute(sql, params)
        try:
            while batch := cur.fetchmany(1000):
                yield from batch
        finally:
            cur.close()

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[Row]]:
        cur = self._conn.execute(sql, params)
        try:
            while batch := cur.fetchmany(STREAM_BATCH):
                yield batch
        finally:
            cur.close()

    def send(self, statements: Sequence[Statement]) -> list[list[Row] | int]:
        out: list[list[Row] | int] = []
        for statement in statements:
            cur = self._conn.execute(statement.sql, statement.params)
            out.append(cur.fetchall() if statement.returning else cur.rowcount)
        return out


#: The register holds personal data (152-ФЗ): its file is created 0600 whatever the umask, and
#: SQLite gives the -wal and -shm files the database file's mode.
PRIVATE_FILE = 0o600


def create_private(path: Path) -> None:
    """Create the database file empty with mode 0600 unless it exists (or its directory does
    not: then SQLite reports the error)."""
    if str(path) == ":memory:" or not path.parent.is_dir():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


#: The writer lock's file is the database's name with this suffix (as SQLite's -wal and -shm).
WRITER_LOCK_SUFFIX = "-writer.lock"


def writer_lock_path(path: Path) -> Path:
    """The file whose lock the writers of the SQLite register at ``path`` queue on."""
    return path.with_name(path.name + WRITER_LOCK_SUFFIX)


def _open_lock_file(path: Path) -> int | None:
    """The writer lock's file, opened (and created 0600, as the register's files are); None
    for ``:memory:`` or when it cannot be opened (a read-only directory or file: the writers
    then rely on SQLite's lock alone, which also tells them that the register is read-only)."""
    if str(path) == ":memory:":
        return None
    lock = writer_lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        for flags in (os.O_RDWR, os.O_RDONLY):  # flock needs no write access (local files)
            with contextlib.suppress(OSError):
                return os.open(lock, flags)
        return None
    except OSError:
        return None
    try:
        os.fchmod(fd, PRIVATE_FILE)  # whatever the umask
    except OSError:
        os.close(fd)
        return None
    return fd


class WriterLock:
    """The cross-process writer lock of one SQLite register object (issue 17): ``flock`` on
    ``<db>-writer.lock``, taken before ``BEGIN IMMEDIATE`` and released after COMMIT/ROLLBACK.

    Why: SQLite's busy handler waits for its write lock by sleeping 1, 2, 5, 10 … 100 ms
    between tries, so a waiting process sleeps far longer than the lock is held and the process
    that holds it commits again and again in between: with two processes issuing at full rate,
    one made 653 issuances in 3 s and the other 84. A process blocked in ``flock`` is woken by
    the kernel the moment the holder unlocks, and the kernel drops the lock of a process that
    dies, so a killed holder blocks no one. The lock belongs to the open file (``flock``
    semantics), which is opened once per register object: two objects on one file in one
    process exclude each other as two processes do; threads of one object are already
    serialised by the object's own lock. Readers take nothing (WAL readers never wait).
    Writers that do not know this lock (an older atlas_ca, the sqlite3 shell) stay correct:
    SQLite's lock and busy timeout still apply behind it.

    The wait keeps ``busy_timeout``'s meaning, but ``flock`` cannot time out and a thread
    blocked in it cannot be interrupted (Python retries it after EINTR). So a contended
    acquisition hands the blocking ``flock`` to a short-lived helper thread and waits on a
    condition variable for at most the timeout: the kernel grants the lock to the helper as soon
    as it is free (no polling, no CPU while waiting, the GIL released by both), and a helper
    whose caller gave up unlocks at once when it gets the lock. At most one helper is blocked
    per object; a later caller waits for that one instead of starting another (two helpers on
    one open file could unlock each other's lock). The uncontended case is one non-blocking
    ``flock`` and no thread.

    The descriptor is not for a forked child (like the SQLite connection itself); it is not
    inherited across ``exec``.
    """

    def __init__(self, path: Path) -> None:
        self._fd = _open_lock_file(path)
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._held = False  # locked for the transaction in progress
        self._pending = False  # a helper thread is blocked in flock
        self._wanted = False  # a caller waits for that helper's lock
        self._closed = False

    def acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; False if another holder kept it. True
        without locking when there is no lock file (or the filesystem refuses ``flock``)."""
        with self._changed:
            fd = self._fd
            if fd is None or self._closed:
                return True
            if not self._pending:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._pending = True
                    threading.Thread(
                        target=self._block, args=(fd,), name="atlas-ca-sqlite-writer-lock",
                        daemon=True,
                    ).start()  # fmt: skip
                except OSError:
                    self._disable(fd)  # no flock here (some network filesystems)
                    return True
                else:
                    self._held = True
                    return True
            self._wanted = True
            try:
                return self._changed.wait_for(
                    lambda: self._held or self._fd is None, timeout=max(timeout, 0.0)
                )
            finally:
                self._wanted = False

    def _block(self, fd: int) -> None:
        """The helper: wait in ``flock`` for the lock, then hand it to the waiting caller or,
        if it gave up (or the register was closed), unlock."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            failed = False
        except OSError:
            failed = True
        with self._changed:
            self._pending = False
            if failed:
                self._disable(fd)
            elif self._wanted and not self._closed:
                self._held = True
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                if self._closed:
                    os.close(fd)  # close() left the descriptor to this thread
            self._changed.notify_all()

    def _disable(self, fd: int) -> None:
        self._fd = None
        if not self._pending:
            os.close(fd)

    def release(self) -> None:
        with self._mutex:
            if self._held:
                self._held = False
                assert self._fd is not None
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextmanager
    def held(self, timeout: float, op: str, path: Path) -> Iterator[None]:
        """The lock for a ``with`` block; the busy error of ``op`` if it stays taken."""
        if not self.acquire(timeout):
            raise _busy_error(op, path, "SQLITE_BUSY")
        try:
            yield
        finally:
            self.release()

    def close(self) -> None:
        """Close the file (which unlocks it); a helper still blocked closes it when it wakes."""
        with self._mutex:
            if self._fd is None or self._closed:
                return
            self._closed = True
            if not self._pending:
                os.close(self._fd)
                self._held = False


def _connect(path: Path, busy_timeout_ms: int, *, op: str) -> sqlite3.Connection:
    try:
        create_private(path)
        conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        return conn
    except sqlite3.Error as exc:
        raise _map_error(exc, op, path) from exc
    except OSError as exc:
        raise StorageUnavailable(
            f"{op}: the SQLite register {path} cannot be created: {exc.strerror}", path=str(path)
        ) from exc


def _statements(script: str) -> Iterator[str]:
    buf: list[str] = []
    for line in script.splitlines(keepends=True):
        buf.append(line)
        text = "".join(buf)
        if sqlite3.complete_statement(text):
            stripped = "\n".join(
                ln for ln in text.splitlines() if not ln.lstrip().startswith("--")
            ).strip()
            if stripped:
                yield stripped
            buf = []
    if "".join(buf).strip(" \n;") and any(
        not ln.lstrip().startswith("--") and ln.strip() for ln in buf
    ):
        raise ValueError("a migration ends with an incomplete statement")


def _current_version(conn: sqlite3.Connection, *, create: bool) -> int:
    exists = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'atlas_schema'"
    ).fetchone()[0]
    if not exists:
        if not create:
            return 0
        conn.execute(
            "CREATE TABLE atlas_schema (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    row = conn.execute("SELECT coalesce(max(version), 0) FROM atlas_schema").fetchone()
    return int(row[0])


def _refuse_newer(current: int, supported: int, path: Path) -> None:
    if current > supported:
        raise SchemaTooNew(
            f"the register at {path} has schema version {current}, newer than the"
            f" {supported} this atlas_ca knows: upgrade atlas_ca before opening it",
            path=str(path),
            found=current,
            supported=supported,
        )


def migrate(
    path: str | Path,
    *,
    applied_at: datetime,
    target: int | None = None,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
) -> int:
    """Bring the SQLite file at ``path`` to schema ``target`` (default: the latest) in one
    transaction; returns the version. A database newer than this code raises SchemaTooNew.
    An up-to-date database is only read: opening it does not wait for the write lock. A
    migration takes the :class:`WriterLock` as the register's writers do."""
    path = Path(path)
    steps = migrations(DIALECT)
    target = len(steps) if target is None else target
    conn = _connect(path, busy_timeout_ms, op="open")
    try:
        try:
            if path.exists() and path.stat().st_size > 0:
                current = _current_version(conn, create=False)
                _refuse_newer(current, len(steps), path)
                if current >= target:
                    mode = conn.execute("PRAGMA journal_mode").fetchone()
                    if mode is not None and str(mode[0]).lower() == "wal":
                        return current
            writers = WriterLock(path)  # a migration queues with the writers (issue 17)
            try:
                with writers.held(busy_timeout_ms / 1000, "migrate", path):
                    return _migrate_locked(conn, path, steps, target, applied_at)
            finally:
                writers.close()
        except sqlite3.Error as exc:
            raise _map_error(exc, "migrate", path) from exc
    finally:
        conn.close()


def _migrate_locked(
    conn: sqlite3.Connection,
    path: Path,
    steps: Sequence[tuple[int, str, str]],
    target: int,
    applied_at: datetime,
) -> int:
    """:func:`migrate`'s writing part, under the writer lock."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        raise StorageUnavailable(
            "the SQLite register cannot use WAL mode", path=str(path), mode=str(mode)
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _current_version(conn, create=True)
        _refuse_newer(current, len(steps), path)
        for version, name, sql in steps[current:target]:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO atlas_schema (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, utc_text(applied_at)),
            )
        conn.execute("COMMIT")
        return max(current, target)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _der_time(column: str) -> str:
    """SQL turning a stored UTC time text into GeneralizedTime content ``YYYYMMDDHHMMSSZ``
    (a BLOB; fractions dropped, as DER drops them). The CRL encoder writes the years
    1950–2049 as UTCTime; ``strftime`` is the cheapest derivation SQLite measured here."""
    return f"CAST(strftime('%Y%m%d%H%M%SZ', {column}) AS BLOB)"


#: CrlRow in SQL: the CRL encoder gets bytes it can append.
SQLITE_CRL_ROW_COLUMNS = (
    f"serial, {_der_time('revocation_date')}, reason, {_der_time('invalidity_date')}"
)


class SqliteDatabase(Database):
    crl_row_columns = SQLITE_CRL_ROW_COLUMNS

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy = busy_timeout_ms
        self._conn = _connect(path, busy_timeout_ms, op="open")
        self._lock = threading.RLock()
        # Processes queue for writing on a file lock (issue 17); self._lock orders the threads.
        self._writers = WriterLock(path)
        # Reads run on connections of their own (WAL: readers never wait for the writer), so a
        # request's checks proceed while another request's commit waits for its fsync — what
        # lets concurrent issuances meet at the group commit (issue 17). A file is required.
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_readers: list[sqlite3.Connection] = []
        self._shared_reads = str(path) == ":memory:"

    @contextmanager
    def _tx(self, begin: str, op: str) -> Iterator[_Cur]:
        with self._lock:  # one transaction at a time on the shared connection
            conn = self._conn
            try:
                conn.execute(begin)
            except sqlite3.Error as exc:
                raise _map_error(exc, op, self.path) from exc
            try:
                yield _Cur(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _map_error(exc, op, self.path) from exc
                raise

    @contextmanager
    def _write_tx(self) -> Iterator[_Cur]:
        """A write transaction under the cross-process writer lock (issue 17), taken before
        ``BEGIN IMMEDIATE`` and released after COMMIT/ROLLBACK; waiting for it counts against
        the busy timeout (SQLite's own wait behind it, for writers that do not take it, has the
        same bound)."""
        with (
            self._lock,
            self._writers.held(self._busy / 1000, "write", self.path),
            self._tx("BEGIN IMMEDIATE", "write") as cur,
        ):
            yield cur

    def write(self) -> Any:
        return self._write_tx()

    def read(self) -> Any:
        if self._shared_reads:
            return self._tx("BEGIN DEFERRED", "read")
        return self._pooled_read()

    @contextmanager
    def _pooled_read(self) -> Iterator[_Cur]:
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = _connect(self.path, self._busy, op="read")
            conn.execute("PRAGMA query_only = ON")
            with self._lock:
                self._all_readers.append(conn)
        try:
            conn.execute("BEGIN DEFERRED")
            yield _Cur(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise _map_error(exc, "read", self.path) from exc
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise
        finally:
            self._readers.put(conn)

    @contextmanager
    def snapshot(self) -> Iterator[_Cur]:
        conn = _connect(self.path, self._busy, op="snapshot")
        try:
            try:
                conn.execute("PRAGMA query_only = ON")
                conn.execute("BEGIN DEFERRED")
            except sqlite3.Error as exc:
                raise _map_error(exc, "snapshot", self.path) from exc
            try:
                yield _Cur(conn)
            except sqlite3.Error as exc:
                raise _map_error(exc, "snapshot", self.path) from exc
        finally:
            conn.close()

    def ts(self, at: datetime) -> str:
        return utc_text(at)

    def from_ts(self, value: Any) -> datetime:
        return parse_utc_text(str(value))

    def close(self) -> None:
        with self._lock:
            for conn in self._all_readers:
                conn.close()
            self._writers.close()
        self._conn.close()

    def lock_name(self, cur: Any, name: str) -> None:
        """Nothing to take: ``BEGIN IMMEDIATE`` already serialises SQLite's writers."""


class SqliteRegister(SqlRegister):
    """The register in the SQLite file ``path`` (created and migrated on open)."""

    def __init__(
        self,
        path: str | Path,
        *,
        opened_at: datetime,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        on_step: StepHook | None = None,
    ) -> None:
        path = Path(path)
        version = migrate(path, applied_at=opened_at, busy_timeout_ms=busy_timeout_ms)
        self.path = path
        self.db = SqliteDatabase(path, busy_timeout_ms)
        super().__init__(self.db, version, on_step)

    def __repr__(self) -> str:
        return f"SqliteRegister({str(self.path)!r})"


class SqliteRecordStore(SqlRecordStore):
    """The :class:`~atlas_ca.storage.ports.RecordStore` in the register's SQLite file (table
    ``atlas_records``, created by migration 0006: the file is created 0600 and migrated on
    open, as by :class:`SqliteRegister`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        opened_at: datetime,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        path = Path(str(path).removeprefix("sqlite://"))
        migrate(path, applied_at=opened_at, busy_timeout_ms=busy_timeout_ms)
        self.path = path
        self.db = SqliteDatabase(path, busy_timeout_ms)
        super().__init__(self.db)

    def __repr__(self) -> str:
        return f"SqliteRecordStore({str(self.path)!r})"


__all__ = [
    "DIALECT",
    "SqliteRecordStore",
    "SqliteRegister",
    "WriterLock",
    "latest_version",
    "migrate",
    "writer_lock_path",
]

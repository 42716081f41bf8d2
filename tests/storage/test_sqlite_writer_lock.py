"""The SQLite register's writer lock across processes (issue 17): a file lock next to the
database (``<db>-writer.lock``) taken around every write transaction and migration, so that a
process waiting to write wakes as soon as the holder commits (SQLite's own busy handler sleeps
1, 2, 5 … 100 ms and let one process starve the other), is freed by the kernel when its holder
dies, and keeps ``busy_timeout``'s meaning."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_ca.errors import StorageUnavailable
from atlas_ca.storage.sqlite import SqliteDatabase, SqliteRegister, migrate
from support import register_workers
from support.registers import ACTOR, ISSUER, T0, new_intent

WRITERS = 2
SECONDS = 1.5


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path, opened_at=T0).close()  # created and migrated before the workers run
    return path


def lock_file(db: Path) -> Path:
    return db.with_name(db.name + "-writer.lock")


@contextlib.contextmanager
def held_elsewhere(db: Path) -> Iterator[None]:
    """The writer lock taken through an open file of its own, as another process holds it
    (flock locks belong to the open file, so this excludes the register's file too)."""
    fd = os.open(lock_file(db), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_two_writer_processes_both_make_progress(db: Path) -> None:
    """Each process commits one short transaction after another. Without the lock the one
    that first waits in SQLite's busy handler sleeps through the other's next commits and gets
    a small fraction of them (measured: 30–40 against 500–600)."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [
        ctx.Process(target=register_workers.write_while, args=(str(db), start, SECONDS, results))
        for _ in range(WRITERS)
    ]
    for p in procs:
        p.start()
    counts = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert counts[0] > 0
    assert counts[0] * 3 >= counts[-1], f"one writer starved the other: {counts}"


def test_a_waiting_writer_gets_the_lock_within_milliseconds_of_its_release(db: Path) -> None:
    """Another process holds a write transaction for 250 ms while this one waits to write; the
    time from the holder's commit to this writer being inside its own transaction (monotonic
    clock, written by both) is the wake-up latency. SQLite's busy handler alone would sleep
    until 328 ms (its sleeps: 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms): ≈ 78 ms."""
    rounds, hold = 5, 0.25
    ctx = multiprocessing.get_context("spawn")
    go, inside, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    holder = ctx.Process(
        target=register_workers.hold_in_rounds, args=(str(db), rounds, hold, go, inside, out)
    )
    holder.start()
    got: list[float] = []

    def hook(name: str) -> None:
        if name == "record_intent:inserted":
            got.append(time.monotonic())

    reg = SqliteRegister(db, opened_at=T0, on_step=hook)
    latencies = []
    try:
        for r in range(rounds):
            go.put(r)
            inside.get(timeout=120)
            reg.record_intent(new_intent(20_000 + r), actor=ACTOR)
            latencies.append(got[-1] - out.get(timeout=60))
        holder.join(timeout=60)
        assert holder.exitcode == 0
    finally:
        reg.close()
        if holder.is_alive():
            holder.kill()
    assert sorted(latencies)[rounds // 2] < 0.015, [f"{x * 1000:.1f} ms" for x in latencies]


def test_a_holder_killed_by_sigkill_frees_the_lock(db: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    inside = ctx.Event()
    holder = ctx.Process(target=register_workers.hold_write_transaction, args=(str(db), inside))
    holder.start()
    try:
        assert inside.wait(timeout=120), "the holder never opened its transaction"
        reg = SqliteRegister(db, opened_at=T0, busy_timeout_ms=200)
        with pytest.raises(StorageUnavailable, match="locked"):
            reg.next_crl_number(ISSUER)  # held: the holder is alive
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(timeout=60)
        assert holder.exitcode == -signal.SIGKILL
        began = time.monotonic()
        assert reg.next_crl_number(ISSUER) == 1
        assert time.monotonic() - began < 0.15  # freed by the kernel, no wait for a timeout
        assert reg.open_intents() == []  # the killed transaction left nothing
        reg.close()
    finally:
        if holder.is_alive():
            holder.kill()
        holder.join(timeout=60)


def test_a_writer_that_cannot_get_the_lock_within_its_timeout_is_unavailable(db: Path) -> None:
    reg = SqliteRegister(db, opened_at=T0, busy_timeout_ms=300)
    try:
        with held_elsewhere(db):
            began = time.monotonic()
            with pytest.raises(StorageUnavailable, match="locked by another writer") as caught:
                reg.record_intent(new_intent(900), actor=ACTOR)
            waited = time.monotonic() - began
            assert 0.29 <= waited < 1.0
            assert caught.value.exit_code == 3
            assert "nothing was written" in str(caught.value)
            assert caught.value.context["sqlite_error"] == "SQLITE_BUSY"
            assert reg.open_intents() == []  # reads do not take the lock
        reg.record_intent(new_intent(900), actor=ACTOR)  # free again: it works
        assert [i.serial for i in reg.open_intents()] == [900]
    finally:
        reg.close()


def test_a_migration_takes_the_writer_lock(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with held_elsewhere(path), pytest.raises(StorageUnavailable, match="locked"):
        migrate(path, applied_at=T0, busy_timeout_ms=200)
    assert migrate(path, applied_at=T0, busy_timeout_ms=200) > 0
    with held_elsewhere(path):  # an up-to-date register only reads: it opens under a writer
        SqliteRegister(path, opened_at=T0, busy_timeout_ms=200).close()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_the_lock_file_is_private(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        reg = SqliteRegister(tmp_path / "register.sqlite3", opened_at=T0)
    finally:
        os.umask(old)
    reg.next_crl_number(ISSUER)
    reg.close()
    mode = stat.S_IMODE(lock_file(tmp_path / "register.sqlite3").stat().st_mode)
    assert mode == 0o600


def test_opening_and_closing_registers_leaks_no_file_descriptor(db: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    SqliteRegister(db, opened_at=T0).close()  # lazy imports, caches
    before = open_fds()
    for _ in range(20):
        reg = SqliteRegister(db, opened_at=T0)
        reg.next_crl_number(ISSUER)
        reg.close()
    assert open_fds() == before


def test_an_in_memory_database_needs_no_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageUnavailable, match="WAL"):  # as before: a register needs a file
        migrate(":memory:", applied_at=T0)
    db = SqliteDatabase(Path(":memory:"), 1000)
    with db.write() as cur:
        cur.run("CREATE TABLE t (x INTEGER)")
        cur.run("INSERT INTO t VALUES (1)")
    with db.read() as cur:
        assert cur.one("SELECT x FROM t") == (1,)
    db.close()
    assert list(tmp_path.iterdir()) == []

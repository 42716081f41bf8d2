"""Faults: a writer killed by SIGKILL mid-transaction, a database that turns read-only or goes
away mid-operation. Each leaves the register consistent: nothing half-written, a clear error."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from atlas_ca.audit import verify_store
from atlas_ca.errors import (
    IntentNotOpen,
    RecordNotFound,
    SerialCollision,
    StorageReadOnly,
    StorageUnavailable,
    Unavailable,
)
from atlas_ca.storage import CertificateStatus, IntentState, RevocationReason
from atlas_ca.storage._sql import SqlRegister
from support import register_workers
from support.registers import (
    ACTOR,
    ISSUER,
    OPERATOR,
    T0,
    PgServer,
    Store,
    issued,
    make_store,
    new_intent,
)


def run_and_expect_sigkill(store: Store, operation: str, step: str, serial: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=register_workers.crash_during,
        args=(store.kind, store.location, operation, step, serial),
    )
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL, f"the writer was not killed at {step!r}"


def snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: store.raw(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("issuance_intents", "certificates", "status_history", "audit_events")
    }


# --- kill -9 -----------------------------------------------------------------------------------


def test_a_writer_killed_before_its_intent_commits_leaves_nothing(store: Store) -> None:
    reg = store.open()
    before = snapshot(store)
    run_and_expect_sigkill(store, "record_intent", "record_intent:before-commit", 500)
    reg2 = store.open()
    assert snapshot(store) == before
    with pytest.raises(RecordNotFound):
        reg2.get_intent(ISSUER, 500)
    assert verify_store(reg).ok


def test_a_writer_killed_while_storing_the_certificate_leaves_the_open_intent(
    store: Store,
) -> None:
    reg = store.open()
    intent = new_intent(501)
    reg.record_intent(intent, actor=ACTOR)
    before = snapshot(store)
    run_and_expect_sigkill(store, "complete_intent", "complete_intent:certificate-inserted", 501)

    after = store.open()  # "restart"
    assert snapshot(store) == before  # no half-written certificate, intent untouched
    with pytest.raises(RecordNotFound):
        after.get_certificate(ISSUER, 501)
    (pending,) = after.open_intents()
    assert (pending.serial, pending.state) == (501, IntentState.OPEN)
    assert verify_store(after).ok
    # The resolver can finish it (the signed certificate was kept) or void it; here: complete.
    after.complete_intent(issued(intent), actor=ACTOR)
    assert after.get_certificate(ISSUER, 501).status is CertificateStatus.VALID


def test_a_voided_intent_after_a_crash_keeps_its_serial_taken(store: Store) -> None:
    reg = store.open()
    reg.record_intent(new_intent(502), actor=ACTOR)
    run_and_expect_sigkill(store, "complete_intent", "complete_intent:before-commit", 502)
    after = store.open()
    (pending,) = after.open_intents()
    after.void_intent(pending.issuer, pending.serial, at=T0, actor=ACTOR)
    assert after.open_intents() == []
    with pytest.raises(SerialCollision):
        after.record_intent(new_intent(502), actor=ACTOR)
    with pytest.raises(IntentNotOpen):
        after.complete_intent(issued(new_intent(502)), actor=ACTOR)


def test_a_writer_killed_mid_revocation_leaves_status_and_history_unchanged(store: Store) -> None:
    reg = store.open()
    intent = new_intent(503)
    reg.record_intent(intent, actor=ACTOR)
    reg.complete_intent(issued(intent), actor=ACTOR)
    before = snapshot(store)
    run_and_expect_sigkill(store, "revoke", "status:history-written", 503)
    after = store.open()
    assert snapshot(store) == before
    assert after.get_certificate(ISSUER, 503).status is CertificateStatus.VALID
    assert after.status_history(ISSUER, 503) == []
    after.revoke(
        ISSUER, 503, reason=RevocationReason.KEY_COMPROMISE, revocation_date=T0, actor=OPERATOR
    )
    assert [c.change_no for c in after.status_history(ISSUER, 503)] == [1]


# --- read-only and unavailable mid-operation ---------------------------------------------------


def break_mid_transaction(
    store: Store, step: str, fault: Callable[[SqlRegister], None]
) -> tuple[SqlRegister, list[Exception]]:
    """A register whose step hook applies ``fault`` once, at ``step``."""
    holder: list[SqlRegister] = []
    fired: list[Exception] = []

    def hook(name: str) -> None:
        if name == step and not fired:
            fired.append(RuntimeError(step))
            fault(holder[0])

    reg = store.open(on_step=hook)
    holder.append(reg)
    return reg, fired


def make_read_only(store: Store, pg_role: str | None) -> Callable[[SqlRegister], None]:
    if store.kind == "sqlite":

        def sqlite_fault(reg: SqlRegister) -> None:
            # The connection turns read-only under the open transaction (as an fd whose
            # filesystem went read-only would); chmod cannot do this to an open file.
            reg.db._conn.execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]

        return sqlite_fault

    def pg_fault(_reg: SqlRegister) -> None:
        # An administrator revokes the writer's rights while its transaction is open.
        assert pg_role is not None
        with psycopg.connect(store_admin_dsn(store), autocommit=True) as admin:
            admin.execute("SET lock_timeout = '5s'")
            admin.execute(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} FROM {}").format(
                    sql.Identifier(schema_of(store)), sql.Identifier(pg_role)
                )
            )

    return pg_fault


def schema_of(store: Store) -> str:
    options = conninfo.conninfo_to_dict(store.location)["options"]
    return str(options).split("search_path=")[1].split()[0]


def store_admin_dsn(store: Store) -> str:
    return store.location


def writer_role(store: Store) -> tuple[Store, str]:
    """A non-superuser role with ordinary rights on the test schema, and a Store using it."""
    role = f"atlas_writer_{uuid.uuid4().hex[:8]}"
    schema = schema_of(store)
    with psycopg.connect(store.location, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(role)
            )
        )
        admin.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(role)
            )
        )
    return Store("postgres", conninfo.make_conninfo(store.location, user=role)), role


def drop_role(store: Store, role: str) -> None:
    with psycopg.connect(store.location, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.parametrize(
    ("operation", "step"),
    [
        ("complete", "complete_intent:certificate-inserted"),
        ("revoke", "status:history-written"),
    ],
)
def test_a_database_turning_read_only_mid_operation_is_a_clear_error_and_writes_nothing(
    store: Store, operation: str, step: str
) -> None:
    setup = store.open()  # migrated by the owner
    intent = new_intent(600)
    setup.record_intent(intent, actor=ACTOR)
    if operation == "revoke":
        setup.complete_intent(issued(intent), actor=ACTOR)
    role = None
    writer_store = store
    if store.kind == "postgres":
        writer_store, role = writer_role(store)
    try:
        before = snapshot(store)
        reg, fired = break_mid_transaction(writer_store, step, make_read_only(store, role))

        def act() -> object:
            if operation == "complete":
                return reg.complete_intent(issued(intent), actor=ACTOR)
            return reg.revoke(
                ISSUER, 600, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
            )

        with pytest.raises(StorageReadOnly) as caught:
            act()
        assert fired, "the fault was never injected"
        assert isinstance(caught.value, Unavailable)
        assert "nothing was written" in str(caught.value)
        assert snapshot(store) == before
        assert verify_store(setup).ok
        reg.close()
    finally:
        if role is not None:
            drop_role(store, role)


def test_a_postgres_connection_killed_mid_operation_is_unavailable_then_recovers(
    pg_server: PgServer | None, tmp_path: Path
) -> None:
    store = make_store("postgres", pg_server, tmp_path)
    setup = store.open()
    intent = new_intent(700)
    setup.record_intent(intent, actor=ACTOR)
    before = snapshot(store)

    def terminate(reg: SqlRegister) -> None:
        pid = reg.db.conn.info.backend_pid  # type: ignore[attr-defined]
        store.raw("SELECT pg_terminate_backend(?)", (pid,))

    reg, fired = break_mid_transaction(store, "complete_intent:certificate-inserted", terminate)
    with pytest.raises(StorageUnavailable) as caught:
        reg.complete_intent(issued(intent), actor=ACTOR)
    assert fired
    assert not isinstance(caught.value, StorageReadOnly)
    assert snapshot(store) == before
    # The next call reconnects; the intent is still open and can be completed.
    reg.complete_intent(issued(intent), actor=ACTOR)
    assert reg.get_certificate(ISSUER, 700).status is CertificateStatus.VALID


def test_an_unreachable_postgres_is_unavailable() -> None:
    from atlas_ca.storage.postgres import PostgresRegister

    with pytest.raises(StorageUnavailable) as caught:
        PostgresRegister("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", opened_at=T0)
    assert caught.value.exit_code == 3


def test_a_read_only_sqlite_file_refuses_writes_with_a_clear_error(tmp_path: Path) -> None:
    """chmod 0444 on the file and 0555 on its directory, then a writer opens it. Run in a child
    process that drops root (root ignores file modes)."""
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"atlas-ro-{uuid.uuid4().hex[:8]}"
    base.mkdir(mode=0o755)
    path = base / "register.sqlite3"
    try:
        store = Store("sqlite", str(path))
        reg = store.open()
        reg.record_intent(new_intent(800), actor=ACTOR)
        reg.close()
        # Checkpoint the WAL so the main file holds everything, then drop the side files.
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        before = snapshot(store)
        for p in base.iterdir():
            p.chmod(0o444)
        base.chmod(0o555)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            outcome = pool.apply(register_workers.write_as_unprivileged, (str(path),))
        kind, message = outcome
        assert kind in {"StorageReadOnly", "StorageUnavailable"}, outcome
        assert "read-only" in message or "unable to open" in message, message
        base.chmod(0o755)
        for p in base.iterdir():
            p.chmod(0o644)
        assert snapshot(store) == before
    finally:
        base.chmod(0o755)
        for p in base.iterdir():
            p.unlink()
        base.rmdir()


def test_a_writer_blocked_beyond_its_timeout_is_unavailable_and_writes_nothing(
    store: Store,
) -> None:
    from atlas_ca.storage.postgres import PostgresRegister
    from atlas_ca.storage.sqlite import SqliteRegister

    store.open().close()
    before = snapshot(store)
    if store.kind == "sqlite":
        holder = sqlite3.connect(store.location, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        reg: SqlRegister = SqliteRegister(store.location, opened_at=T0, busy_timeout_ms=300)
    else:
        holder_pg = psycopg.connect(store.location, autocommit=True)
        holder_pg.execute("BEGIN")
        holder_pg.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")  # a stuck node
        reg = PostgresRegister(store.location, opened_at=T0, lock_timeout_ms=300)
    try:
        with pytest.raises(StorageUnavailable, match="locked") as caught:
            reg.record_intent(new_intent(900), actor=ACTOR)
        assert caught.value.exit_code == 3
    finally:
        if store.kind == "sqlite":
            holder.execute("ROLLBACK")
            holder.close()
        else:
            holder_pg.execute("ROLLBACK")
            holder_pg.close()
    assert snapshot(store) == before
    reg.record_intent(new_intent(900), actor=ACTOR)  # once the lock is gone it works
    reg.close()

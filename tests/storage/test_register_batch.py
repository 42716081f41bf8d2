"""The register's group-commit writes (issue 17): ``record_intents`` and ``complete_intents``
write several members in one transaction, on SQLite and PostgreSQL (a refused member makes the
batch run again without it). A member the register refuses is that member's error alone; any
other failure writes nothing of the batch."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_register_faults import snapshot

from atlas_ca.audit import verify_store
from atlas_ca.domain.ids import OrderId
from atlas_ca.errors import (
    IntentNotOpen,
    KeyAlreadyCertified,
    SerialCollision,
    StorageReadOnly,
    StorageUnavailable,
)
from atlas_ca.storage import CertificateStatus, IntentState
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import IntentOutcome
from support import batch_register_workers
from support.registers import ACTOR, ISSUER, Store, issued, make_store, new_intent

KEY = bytes(range(32))


def _audit_actions(store: Store) -> list[str]:
    return [a for (a,) in store.raw("SELECT action FROM audit_events ORDER BY seq")]


def test_a_batch_of_intents_commits_in_one_transaction_with_an_audit_event_each(
    store: Store,
) -> None:
    steps: list[str] = []
    reg = store.open(on_step=steps.append)
    results = reg.record_intents([new_intent(s) for s in (11, 12, 13)], actor=ACTOR)

    assert [type(r) for r in results] == [IntentOutcome] * 3
    assert all(isinstance(r, IntentOutcome) and r.created for r in results)
    assert steps.count("record_intents:before-commit") == 1  # one transaction for the three
    assert [reg.get_intent(ISSUER, s).state for s in (11, 12, 13)] == [IntentState.OPEN] * 3
    assert _audit_actions(store) == ["issuance.intent"] * 3
    assert verify_store(reg).ok

    done = reg.complete_intents([issued(new_intent(s)) for s in (11, 12, 13)], actor=ACTOR)
    assert [getattr(r, "serial", None) for r in done] == [11, 12, 13]
    assert steps.count("complete_intents:before-commit") == 1
    assert all(reg.get_certificate(ISSUER, s).status is CertificateStatus.VALID for s in (11, 12))
    assert verify_store(reg).ok


def test_a_refused_member_is_its_own_error_and_the_others_commit(store: Store) -> None:
    reg = store.open()
    reg.record_intent(new_intent(20), actor=ACTOR)
    reg.record_intent(new_intent(21, key_hash=KEY), actor=ACTOR)
    before = _audit_actions(store)

    results = reg.record_intents(
        [new_intent(22), new_intent(20), new_intent(23, key_hash=KEY), new_intent(24)],
        actor=ACTOR,
    )

    assert isinstance(results[0], IntentOutcome)
    assert isinstance(results[1], SerialCollision)
    assert isinstance(results[2], KeyAlreadyCertified)
    assert isinstance(results[3], IntentOutcome)
    serials = sorted(int(s, 16) for (s,) in store.raw("SELECT serial FROM issuance_intents"))
    assert serials == [20, 21, 22, 24]
    # the refused members left nothing: no audit event, not even their order's counter row
    assert _audit_actions(store) == [*before, "issuance.intent", "issuance.intent"]
    assert store.raw("SELECT order_id FROM order_issuances WHERE order_id = 'ord-23'") == []
    assert verify_store(reg).ok

    done = reg.complete_intents(
        [issued(new_intent(22)), issued(new_intent(23)), issued(new_intent(24))], actor=ACTOR
    )
    assert getattr(done[0], "serial", None) == 22
    assert type(done[1]).__name__ == "RecordNotFound"  # 23 was never recorded
    assert getattr(done[2], "serial", None) == 24
    again = reg.complete_intents([issued(new_intent(22)), issued(new_intent(20))], actor=ACTOR)
    assert isinstance(again[0], IntentNotOpen)
    assert getattr(again[1], "serial", None) == 20
    assert verify_store(reg).ok


def _broken_at(step: str, nth: int) -> tuple[list[SqlRegister], Any]:
    """A step hook that breaks the register's connection under its open transaction the
    ``nth`` time ``step`` is reached: SQLite's turns read-only (as on a filesystem remounted
    read-only), PostgreSQL's backend is terminated."""
    holder: list[SqlRegister] = []
    seen = [0]

    def hook(name: str) -> None:
        if name != step:
            return
        seen[0] += 1
        if seen[0] != nth:
            return
        db: Any = holder[0]._db
        if hasattr(db, "_conn"):
            db._conn.execute("PRAGMA query_only = ON")
        else:
            with psycopg.connect(db._dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (db.conn.info.backend_pid,))

    return holder, hook


@pytest.mark.parametrize("operation", ["record", "complete"])
def test_a_failure_mid_batch_writes_nothing_of_it_and_raises(store: Store, operation: str) -> None:
    setup = store.open()
    if operation == "complete":
        setup.record_intents([new_intent(s) for s in (31, 32, 33)], actor=ACTOR)
    before = snapshot(store)
    step = {"record": "record_intent:inserted", "complete": "complete_intent:certificate-inserted"}
    holder, hook = _broken_at(step[operation], 2)
    reg = store.open(on_step=hook)
    holder.append(reg)

    def act() -> object:
        if operation == "record":
            return reg.record_intents([new_intent(s) for s in (31, 32, 33)], actor=ACTOR)
        return reg.complete_intents([issued(new_intent(s)) for s in (31, 32, 33)], actor=ACTOR)

    with pytest.raises(StorageUnavailable) as caught:
        act()
    if store.kind == "sqlite":
        assert isinstance(caught.value, StorageReadOnly)
    assert "nothing was written" in str(caught.value) or "rolled back" in str(caught.value)
    assert snapshot(store) == before  # the first member, written before the fault, is gone too
    assert verify_store(setup).ok


def test_a_writer_killed_before_the_batch_commits_leaves_nothing_of_it(store: Store) -> None:
    reg = store.open()
    before = snapshot(store)
    proc = multiprocessing.get_context("spawn").Process(
        target=batch_register_workers.record_batch_and_die_before_commit,
        args=(store.kind, store.location, [41, 42, 43]),
    )
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL
    assert snapshot(store) == before
    assert reg.open_intents() == []
    assert verify_store(reg).ok


def test_one_transaction_completes_certificates_and_records_intents_together(
    store: Store,
) -> None:
    steps: list[str] = []
    reg = store.open(on_step=steps.append)
    reg.record_intents([new_intent(s) for s in (51, 52)], actor=ACTOR)

    recorded, completed = reg.write_batch(
        [new_intent(53), new_intent(51)], [issued(new_intent(52)), issued(new_intent(54))],
        actor=ACTOR,
    )  # fmt: skip

    assert steps.count("write_batch:before-commit") == 1
    assert isinstance(recorded[0], IntentOutcome)
    assert isinstance(recorded[1], SerialCollision)
    assert getattr(completed[0], "serial", None) == 52
    assert type(completed[1]).__name__ == "RecordNotFound"
    states = {s: reg.get_intent(ISSUER, s).state for s in (51, 52, 53)}
    assert states == {51: IntentState.OPEN, 52: IntentState.COMPLETED, 53: IntentState.OPEN}
    assert verify_store(reg).ok


def test_a_member_refused_because_of_an_earlier_member_stays_refused(store: Store) -> None:
    reg = store.open()
    results = reg.record_intents(
        [new_intent(61, key_hash=KEY), new_intent(62, key_hash=KEY), new_intent(63)],
        actor=ACTOR,
    )
    assert isinstance(results[0], IntentOutcome)
    assert isinstance(results[1], KeyAlreadyCertified)  # the key of the batch's first member
    assert isinstance(results[2], IntentOutcome)
    serials = sorted(int(s, 16) for (s,) in store.raw("SELECT serial FROM issuance_intents"))
    assert serials == [61, 63]
    assert _audit_actions(store) == ["issuance.intent"] * 2
    assert verify_store(reg).ok


@pytest.mark.parametrize("batch", ["write_batch", "record_intents"])
def test_a_batch_locks_its_orders_before_the_audit_head(
    pg_server: Any, tmp_path: Path, batch: str
) -> None:
    """Lock order (issue 17, several worker processes): while a batch waits for an order's row
    that another transaction holds, it holds nothing of the audit head — so a transaction that
    holds the audit head and then wants that order row can never deadlock with it. Before,
    a batch completed its certificates first (taking the audit head) and then recorded its
    intents (wanting the order rows): PostgreSQL found the cycle after deadlock_timeout."""
    store = make_store("postgres", pg_server, tmp_path)  # SQLite has no row locks to order
    try:
        _batch_waits_for_an_order_without_the_audit_head(store, batch)
    finally:
        store.close_all()


def _batch_waits_for_an_order_without_the_audit_head(store: Store, batch: str) -> None:
    reg = store.open()
    reg.record_intents([new_intent(61)], actor=ACTOR)
    reg.record_intents([new_intent(62), new_intent(63)], actor=ACTOR)  # orders' rows exist
    intents = [new_intent(64, order=OrderId("ord-62")), new_intent(65, order=OrderId("ord-63"))]
    with psycopg.connect(store.location) as other:
        other.execute("SELECT 1 FROM order_issuances WHERE order_id = 'ord-63' FOR UPDATE")
        done: list[Any] = []
        if batch == "write_batch":
            call = partial(reg.write_batch, intents, [issued(new_intent(61))], actor=ACTOR)
        else:
            call = partial(lambda: (reg.record_intents(intents, actor=ACTOR), []))
        writer = threading.Thread(target=lambda: done.append(call()))
        writer.start()
        deadline = time.monotonic() + 30
        while not _waits_for_a_lock(store):  # the batch is blocked on ord-63's row
            assert time.monotonic() < deadline, "the batch never waited for the order's row"
            time.sleep(0.01)
        with psycopg.connect(store.location) as probe:
            # the audit head is free while the batch waits (NOWAIT: an error if it is held)
            probe.execute("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE NOWAIT")
            probe.rollback()
        other.rollback()
        writer.join(timeout=30)
    recorded, completed = done[0]
    assert [type(r) for r in recorded] == [IntentOutcome, IntentOutcome]
    if batch == "write_batch":
        assert getattr(completed[0], "serial", None) == 61
    assert verify_store(reg).ok


def _waits_for_a_lock(store: Store) -> bool:
    rows = store.raw(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND strpos(query, 'INSERT INTO order_issuances') = 1"
    )
    return bool(rows[0][0])

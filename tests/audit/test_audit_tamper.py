"""Tampering with the stored log, directly in SQLite and PostgreSQL: the verifier names the first
edited, removed or reordered event; signed checkpoints catch a rewrite with recomputed hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainedEvent,
    ChainHead,
    ProblemKind,
    verify_chain,
    verify_store,
    x509_signature_verifier,
)
from atlas_ca.audit.events import chain_next
from atlas_ca.errors import StorageUnavailable
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.storage import RevocationReason
from atlas_ca.storage._sql import SqlRegister
from support.registers import ACTOR, ISSUER, OPERATOR, T0, Store, issued, new_intent


def populate(reg: SqlRegister) -> None:
    """Six events: intent, issued (serial 1); intent, issued (serial 2); suspend; revoke."""
    for serial in (1, 2):
        intent = new_intent(serial)
        reg.record_intent(intent, actor=ACTOR)
        reg.complete_intent(issued(intent), actor=ACTOR)
    reg.suspend(ISSUER, 1, at=T0, actor=OPERATOR)
    reg.revoke(ISSUER, 2, reason=RevocationReason.SUPERSEDED, revocation_date=T0, actor=OPERATOR)
    assert reg.audit_head().seq == 6


def drop_append_only_guard(store: Store) -> None:
    """What an intruder with database rights does first."""
    if store.kind == "sqlite":
        store.raw("DROP TRIGGER audit_events_no_update")
        store.raw("DROP TRIGGER audit_events_no_delete")
    else:
        store.raw("DROP TRIGGER audit_events_no_change ON audit_events")


def first_problem(reg: SqlRegister, **kw: object) -> tuple[ProblemKind, int]:
    report = verify_store(reg, **kw)  # type: ignore[arg-type]
    assert report.first_problem is not None, "tampering went unnoticed"
    return report.first_problem.kind, report.first_problem.seq


def test_an_untouched_register_log_verifies(store: Store) -> None:
    reg = store.open()
    populate(reg)
    report = verify_store(reg)
    assert report.ok
    assert report.events_checked == 6


def test_the_log_refuses_update_and_delete_while_its_guard_stands(store: Store) -> None:
    reg = store.open()
    populate(reg)
    with pytest.raises(Exception, match="append-only"):
        store.raw("UPDATE audit_events SET action = 'x.y' WHERE seq = 2")
    with pytest.raises(Exception, match="append-only"):
        store.raw("DELETE FROM audit_events WHERE seq = 2")
    assert verify_store(reg).ok


def test_an_edited_row_is_reported_at_its_sequence_number(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("UPDATE audit_events SET action = 'certificate.resume' WHERE seq = 5")
    assert first_problem(reg) == (ProblemKind.EDITED, 5)


def test_an_edited_actor_or_object_is_reported(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("UPDATE audit_events SET actor = 'operator:someone-else' WHERE seq = 6")
    store.raw("UPDATE audit_events SET objects = '{\"serial\": 7}' WHERE seq = 3")
    assert first_problem(reg) == (ProblemKind.EDITED, 3)


def test_a_deleted_row_is_reported_as_removed(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("DELETE FROM audit_events WHERE seq = 3")
    assert first_problem(reg) == (ProblemKind.REMOVED, 3)


def test_a_deleted_row_with_the_rest_renumbered_is_still_removed(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("DELETE FROM audit_events WHERE seq = 3")
    for seq in (4, 5, 6):
        store.raw("UPDATE audit_events SET seq = ? WHERE seq = ?", (seq - 1, seq))
    store.raw("UPDATE audit_head SET seq = 5")
    assert first_problem(reg) == (ProblemKind.REMOVED, 3)


def test_swapped_rows_are_reported_as_reordered(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("UPDATE audit_events SET seq = 1000 WHERE seq = 2")
    store.raw("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    store.raw("UPDATE audit_events SET seq = 3 WHERE seq = 1000")
    assert first_problem(reg) == (ProblemKind.REORDERED, 2)


def test_the_last_rows_deleted_are_caught_by_the_head(store: Store) -> None:
    reg = store.open()
    populate(reg)
    drop_append_only_guard(store)
    store.raw("DELETE FROM audit_events WHERE seq >= 5")
    assert first_problem(reg) == (ProblemKind.REMOVED, 5)


@pytest.fixture(scope="module")
def checkpoint_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    path: Path = tmp_path_factory.mktemp("ckpt") / "audit-checkpoint.pem"
    uri = generate_software_key(path, KeyType.GOST3410_2012_256, password="pw", iterations=1000)
    return open_software_key(uri, password="pw")


def test_a_rewrite_with_recomputed_hashes_is_caught_by_a_signed_checkpoint(
    store: Store, checkpoint_key: SigningKey
) -> None:
    reg = store.open()
    populate(reg)
    cp = reg.checkpoint(checkpoint_key, at=T0, key_id="audit-ckpt-1")
    assert (cp.seq, cp.chain_hash) == (6, reg.audit_head().hash)
    assert reg.checkpoints() == [cp]
    trusted = [checkpoint_key.public_key_info]
    assert verify_store(reg, verify_signature=x509_signature_verifier, trusted_keys=trusted).ok

    # The intruder edits event 4 and recomputes every hash (and the head) after it.
    drop_append_only_guard(store)
    events = [e for e in reg.audit_events() if isinstance(e, ChainedEvent)]
    head = ChainHead(0, GENESIS_HASH)
    for e in events:
        ev = e.event
        if e.seq == 4:
            ev = AuditEvent(ev.at, ev.actor, "certificate.forged", ev.objects)
        new = chain_next(head, ev)
        store.raw(
            "UPDATE audit_events SET action = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (new.event.action, new.prev_hash, new.hash, e.seq),
        )
        head = ChainHead(new.seq, new.hash)
    store.raw("UPDATE audit_head SET hash = ?", (head.hash,))
    assert not verify_store(reg).ok  # the stored checkpoint still disagrees
    assert first_problem(reg, verify_signature=x509_signature_verifier) == (
        ProblemKind.REWRITTEN,
        6,
    )
    # Deleting the stored checkpoint too does not help against a copy kept outside the database.
    store.raw("DELETE FROM audit_checkpoints")
    assert verify_store(reg).ok
    outside = verify_chain(reg.audit_events(), [cp], verify_signature=x509_signature_verifier)
    assert outside.first_problem is not None
    assert (outside.first_problem.kind, outside.first_problem.seq) == (ProblemKind.REWRITTEN, 6)


def test_a_broken_audit_head_is_a_clear_error(store: Store) -> None:
    reg = store.open()
    store.raw("DELETE FROM audit_head")
    with pytest.raises(StorageUnavailable, match="audit head"):
        reg.append_audit(AuditEvent(T0, ACTOR, "system.note"))

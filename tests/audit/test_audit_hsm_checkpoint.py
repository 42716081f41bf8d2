"""Checkpoints signed by a key inside SoftHSM (GOST R 34.10-2012 through PKCS#11), and the
periodic checkpoint policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainHead,
    Checkpoint,
    ProblemKind,
    checkpoint_due,
    verify_store,
    x509_signature_verifier,
)
from atlas_ca.hsm.pkcs11 import Pkcs11Key, open_token
from support.registers import ACTOR, T0, Store


@pytest.fixture(scope="module")
def hsm_audit_key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(KeyType.GOST3410_2012_256, label="audit-ckpt", key_id=b"\xa0\x01")


@pytest.mark.softhsm
def test_a_checkpoint_signed_in_softhsm_verifies_and_pins_the_chain(
    store: Store, hsm_audit_key: Pkcs11Key
) -> None:
    reg = store.open()
    for i in range(3):
        reg.append_audit(AuditEvent(T0 + timedelta(seconds=i), ACTOR, "system.note", {"n": str(i)}))
    cp = reg.checkpoint(hsm_audit_key, at=T0 + timedelta(minutes=1), key_id="pkcs11:audit-ckpt")
    assert cp.signature_algorithm is SignatureAlgorithm.GOST3410_2012_256
    assert cp.public_key_info == hsm_audit_key.public_key_info
    (stored,) = reg.checkpoints()
    assert stored == cp
    trusted = [hsm_audit_key.public_key_info]
    report = verify_store(reg, verify_signature=x509_signature_verifier, trusted_keys=trusted)
    assert report.ok
    assert report.checkpoints_checked == 1
    # One flipped bit of the stored signature is reported.
    bad = bytes([cp.signature[0] ^ 1]) + cp.signature[1:]
    store.raw("UPDATE audit_checkpoints SET signature = ? WHERE seq = ?", (bad, cp.seq))
    report = verify_store(reg, verify_signature=x509_signature_verifier, trusted_keys=trusted)
    assert report.first_problem is not None
    assert report.first_problem.kind is ProblemKind.BAD_CHECKPOINT


def test_a_checkpoint_is_due_after_enough_events_or_enough_time(store: Store) -> None:
    reg = store.open()
    now = T0
    assert not checkpoint_due(ChainHead(0, GENESIS_HASH), None, now=now)  # nothing to sign
    reg.append_audit(AuditEvent(now, ACTOR, "system.note"))
    assert checkpoint_due(reg.audit_head(), None, now=now)  # never checkpointed

    first = reg.audit_head()
    last = Checkpoint(  # the policy reads only seq and at of the last checkpoint
        first.seq, first.hash, now, "k", b"", SignatureAlgorithm.GOST3410_2012_256, b""
    )
    assert not checkpoint_due(reg.audit_head(), last, now=now + timedelta(hours=5))  # no news
    reg.append_audit(AuditEvent(now, ACTOR, "system.note"))
    head = reg.audit_head()
    assert not checkpoint_due(head, last, now=now + timedelta(minutes=59), every_events=10)
    assert checkpoint_due(head, last, now=now + timedelta(hours=1), every_events=10)
    assert checkpoint_due(head, last, now=now, every_events=1)
    with pytest.raises(ValueError, match="every_events"):
        checkpoint_due(head, last, now=now, every_events=0)

"""Issue 17: what IssuanceService.prepare reads from the register (an earlier request's outcome
under the idempotency key, the order's live intents, the holder of the key), in one read
transaction — the same answers as find_idempotent, order_usage and key_holder, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import hashlib

import pytest
from test_register_plain_batch import counted_statements

from atlas_ca.domain.ids import OrderId
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import IdempotencyKey, IssuanceReads
from support.registers import ACTOR, ISSUER, OTHER_ISSUER, T0, Store, issued, new_intent

KEY = hashlib.sha256(b"the applicant's public key").digest()
OTHER_KEY = hashlib.sha256(b"another public key").digest()
ORDER = OrderId("ord-reads")
IDEM = IdempotencyKey("idem-reads-0001")


def _separately(
    register: SqlRegister, key_hash: bytes, idempotency_key: IdempotencyKey | None
) -> IssuanceReads:
    known = None if idempotency_key is None else register.find_idempotent(idempotency_key)
    if known is not None:
        return IssuanceReads(known, None, None)
    return IssuanceReads(None, register.order_usage(ORDER), register.key_holder(ISSUER, key_hash))


def _agree(register: SqlRegister) -> None:
    for key_hash in (KEY, OTHER_KEY):
        for idem in (None, IDEM, IdempotencyKey("idem-never-used")):
            assert register.issuance_reads(ISSUER, ORDER, key_hash, idem) == _separately(
                register, key_hash, idem
            )


def test_an_empty_register_has_nothing_to_say(register: SqlRegister) -> None:
    reads = register.issuance_reads(ISSUER, ORDER, KEY, IDEM)
    assert reads.known is None
    assert reads.key_holder is None
    assert reads.usage is not None
    assert reads.usage.live == 0
    _agree(register)


@pytest.mark.parametrize("end", ["open", "completed", "voided"])
def test_the_reads_follow_each_state_of_an_intent(register: SqlRegister, end: str) -> None:
    first = new_intent(0x500, order=ORDER, key_hash=KEY, idempotency_key=IDEM)
    register.record_intent(first, actor=ACTOR)
    if end == "completed":
        register.complete_intent(issued(first), actor=ACTOR)
    elif end == "voided":
        register.void_intent(ISSUER, 0x500, at=T0, actor=ACTOR)
    register.record_intent(new_intent(0x501, order=ORDER), actor=ACTOR)  # no key hash
    register.record_intent(  # the same key under another issuer does not hold it here
        new_intent(0x502, issuer=OTHER_ISSUER, order=OrderId("ord-other"), key_hash=OTHER_KEY),
        actor=ACTOR,
    )
    _agree(register)
    reads = register.issuance_reads(ISSUER, ORDER, KEY, None)
    assert reads.usage is not None
    assert reads.usage.live == (1 if end == "voided" else 2)
    assert reads.key_holder == (None if end == "voided" else 0x500)
    replay = register.issuance_reads(ISSUER, ORDER, KEY, IDEM)
    assert replay.known is not None
    assert replay.known.intent.serial == 0x500
    assert replay.usage is None  # a replay needs nothing else
    assert register.issuance_reads(ISSUER, ORDER, OTHER_KEY, None).key_holder is None


@pytest.mark.parametrize("idempotency_key", [None, IdempotencyKey("idem-never-used")])
def test_the_reads_go_out_together(store: Store, idempotency_key: IdempotencyKey | None) -> None:
    """One send (one libpq pipeline on PostgreSQL, one round trip) for the two or three reads."""
    reg = store.open()
    reg.record_intents([new_intent(1, order=ORDER, key_hash=KEY)], actor=ACTOR)
    with counted_statements(store.kind) as sent:
        reads = reg.issuance_reads(ISSUER, ORDER, KEY, idempotency_key)
    assert reads.key_holder == 1
    assert reads.usage is not None
    assert reads.usage.open == 1
    assert [len(group) for group in sent] == [2 if idempotency_key is None else 3]

"""One verification key, one certificate per issuer (63-ФЗ ст. 13; schema v5), and the CA's own
certificates kept in the register — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from atlas_ca.domain.ids import SubscriberId
from atlas_ca.errors import KeyAlreadyCertified, Refused, SerialCollision
from atlas_ca.storage import CaCertificate, IntentOutcome
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import serial_text
from support.registers import ACTOR, ISSUER, OTHER_ISSUER, T0, Store, issued, new_intent

KEY = hashlib.sha256(b"the applicant's public key").digest()
OTHER_KEY = hashlib.sha256(b"another public key").digest()


def _count_intents(store: Store) -> int:
    return int(store.raw("SELECT count(*) FROM issuance_intents")[0][0])


def test_a_key_certified_to_one_subscriber_is_refused_for_another(
    store: Store, register: SqlRegister
) -> None:
    first = new_intent(0x100, subscriber=SubscriberId("sub-0001"), key_hash=KEY)
    register.record_intent(first, actor=ACTOR)
    register.complete_intent(issued(first), actor=ACTOR)
    with pytest.raises(KeyAlreadyCertified, match="already certified") as info:
        register.record_intent(
            new_intent(0x101, subscriber=SubscriberId("sub-0002"), key_hash=KEY), actor=ACTOR
        )
    assert isinstance(info.value, Refused)
    assert info.value.context["serial"] == serial_text(0x100)
    assert "sub-0001" not in str(info.value)  # the serial names the holder, nothing personal
    assert _count_intents(store) == 1
    assert register.key_holder(ISSUER, KEY) == 0x100
    assert register.key_holder(ISSUER, OTHER_KEY) is None


def test_the_same_subscriber_cannot_certify_the_same_key_twice(register: SqlRegister) -> None:
    register.record_intent(new_intent(0x200, key_hash=KEY), actor=ACTOR)  # still open
    with pytest.raises(KeyAlreadyCertified):
        register.record_intent(new_intent(0x200 + 97, key_hash=KEY), actor=ACTOR)  # same sub


def test_a_voided_intent_frees_the_key_and_other_issuers_are_apart(
    register: SqlRegister,
) -> None:
    register.record_intent(new_intent(0x300, key_hash=KEY), actor=ACTOR)
    register.void_intent(ISSUER, 0x300, at=T0, actor=ACTOR)
    assert register.key_holder(ISSUER, KEY) is None
    assert register.record_intent(new_intent(0x301, key_hash=KEY), actor=ACTOR).created
    assert register.record_intent(
        new_intent(0x302, issuer=OTHER_ISSUER, key_hash=KEY), actor=ACTOR
    ).created
    # without a key hash (intents of schema v4 and earlier) nothing is compared
    assert register.record_intent(new_intent(0x303), actor=ACTOR).created
    assert register.record_intent(new_intent(0x304), actor=ACTOR).created


def test_a_serial_collision_is_still_a_serial_collision(register: SqlRegister) -> None:
    register.record_intent(new_intent(0x400, key_hash=KEY), actor=ACTOR)
    with pytest.raises(SerialCollision):
        register.record_intent(new_intent(0x400, key_hash=OTHER_KEY), actor=ACTOR)


def test_the_register_itself_refuses_a_second_live_row_for_a_key(store: Store) -> None:
    """The unique index, not only the check in record_intent: a raw insert is refused too."""
    reg = store.open()
    reg.record_intent(new_intent(0x500, key_hash=KEY), actor=ACTOR)
    ts = "2026-11-25T12:00:00.000000Z" if store.kind == "sqlite" else "2026-11-25 12:00:00+00"
    with pytest.raises(Exception, match=r"(?i)unique"):
        store.raw(
            "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, profile, state,"
            " created_at, key_hash) VALUES (?, ?, ?, 'sub-x', 'p', 'open', ?, ?)",
            (ISSUER.value, serial_text(0x501), bytes(32), ts, KEY),
        )


def test_concurrent_requests_for_one_key_record_one_intent(store: Store) -> None:
    requests = 6
    start = threading.Barrier(requests)

    def attempt(serial: int) -> IntentOutcome | KeyAlreadyCertified:
        reg = store.open()
        start.wait(60)
        try:
            return reg.record_intent(
                new_intent(serial, subscriber=SubscriberId(f"sub-{serial}"), key_hash=KEY),
                actor=ACTOR,
            )
        except KeyAlreadyCertified as exc:
            return exc

    with ThreadPoolExecutor(requests) as pool:
        outcomes = list(pool.map(attempt, range(0x600, 0x600 + requests)))
    created = [o for o in outcomes if isinstance(o, IntentOutcome)]
    refused = [o for o in outcomes if isinstance(o, KeyAlreadyCertified)]
    assert (len(created), len(refused)) == (1, requests - 1)
    holder = serial_text(created[0].intent.serial)
    assert {e.context["serial"] for e in refused} == {holder}
    assert _count_intents(store) == 1


def test_ca_certificates_are_kept_and_read_back(register: SqlRegister) -> None:
    old = CaCertificate(ISSUER, b"\x30\x03old", T0, T0 + timedelta(days=3650), T0)
    new = CaCertificate(
        ISSUER, b"\x30\x03new", T0 + timedelta(days=1), T0 + timedelta(days=3650), T0
    )
    other = CaCertificate(OTHER_ISSUER, b"\x30\x05other", T0, T0 + timedelta(days=365), T0)
    assert register.store_ca_certificate(old)
    assert register.store_ca_certificate(new)
    assert register.store_ca_certificate(other)
    assert not register.store_ca_certificate(old)  # kept once
    assert register.ca_certificates(ISSUER) == [new, old]  # latest first
    assert {c.issuer for c in register.ca_certificates()} == {ISSUER, OTHER_ISSUER}
    assert register.ca_certificates(ISSUER)[0].fingerprint == hashlib.sha256(new.der).digest()

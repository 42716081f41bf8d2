"""atlas_ca.services.state: domain objects as canonical JSON next to the register — round
trips, canonical bytes, validation on decode, only domain classes instantiated, SQLite adapter."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from pathlib import Path

import pytest

from atlas_ca.demo import BASIC, DEMO_CATALOGUE, KEP
from atlas_ca.domain.authorities import Authority, HeadPerEgrul
from atlas_ca.domain.fakes import sample_registrar, verified_subscriber
from atlas_ca.domain.identifiers import InnLegal
from atlas_ca.domain.ids import AuthorityId, ChallengeId, OrderId, RegistrarId
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    VerifiedSubscribers,
    draft_order,
    place_order,
)
from atlas_ca.domain.otp import Operation, bind, create_challenge
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import Subscriber, SubscriberKind
from atlas_ca.errors import DecodeError, InvalidIdentifier, RecordNotFound
from atlas_ca.services.state import (
    RecordChallengeStore,
    RecordKind,
    SqliteRecordStore,
    decode,
    encode,
    get_record,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _order(sub: Subscriber) -> Order:
    draft = draft_order(
        OrderId("ord-1"),
        sub.id,
        EntryPoint.DIGITAL_PROFILE,
        SellerCode.SERVER_CENTR,
        PaymentMethod.BANK_CARD,
        BASIC,
        [OrderItem(KEP, 2)],
        [sub.id],
        T0,
    )
    return place_order(draft, DEMO_CATALOGUE, T0, VerifiedSubscribers(frozenset({sub.id})))


def _authority(sub: Subscriber) -> Authority:
    return Authority(
        id=AuthorityId("auth-1"),
        person=sub.id,
        organisation=InnLegal("2536161885"),
        position="Генеральный директор",
        basis=HeadPerEgrul(dt.date(2026, 1, 10)),
        valid_from=T0,
        valid_until=None,
        verified_by=RegistrarId("reg-1"),
        verified_at=T0,
    )


@pytest.mark.parametrize("kind", list(SubscriberKind))
def test_domain_objects_round_trip_with_canonical_bytes(kind: SubscriberKind) -> None:
    sub = verified_subscriber("sub-7", kind, at=T0)
    for value in (sub, sample_registrar(), _order(sub), _authority(sub)):
        text = encode(value)
        back = decode(text)
        assert back == value
        assert encode(back) == text
        assert (
            json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            == text
        )


def test_a_tampered_record_fails_the_domain_validation() -> None:
    text = encode(verified_subscriber(at=T0))
    assert "500100732259" in text
    with pytest.raises(InvalidIdentifier):
        decode(text.replace("500100732259", "500100732258"))  # check digits no longer match


def test_only_domain_classes_are_decoded_or_encoded() -> None:
    evil = json.dumps({"$type": "subprocess:Popen", "fields": {"args": ["true"]}})
    with pytest.raises(DecodeError, match="unknown type"):
        decode(evil)
    with pytest.raises(DecodeError):
        decode("not json")
    with pytest.raises(DecodeError, match="unknown tag"):
        decode(json.dumps({"$pickle": "x"}))
    with pytest.raises(TypeError):
        encode(Path("/etc/passwd"))
    with pytest.raises(TypeError):
        encode(1.5)


def test_the_sqlite_store_keeps_records_across_connections(tmp_path: Path) -> None:
    db = tmp_path / "register.sqlite"
    sub = verified_subscriber("sub-9", at=T0)
    store = SqliteRecordStore(db)
    store.put(RecordKind.SUBSCRIBER, "sub-9", sub, at=T0)
    store.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=T0)
    store.close()
    again = SqliteRecordStore(f"sqlite://{db}")
    assert get_record(again, RecordKind.SUBSCRIBER, "sub-9", Subscriber) == sub
    assert again.keys(RecordKind.SUBSCRIBER) == ["sub-9"]
    assert again.find(RecordKind.ORDER, "sub-9") is None
    with pytest.raises(RecordNotFound, match="no order 'nope'"):
        get_record(again, RecordKind.ORDER, "nope", Order)
    with pytest.raises(DecodeError, match="is not a Order"):
        get_record(again, RecordKind.REGISTRAR, "reg-1", Order)
    again.close()
    raw = (
        sqlite3.connect(db).execute("SELECT kind, key FROM atlas_records ORDER BY kind").fetchall()
    )
    assert raw == [("registrar", "reg-1"), ("subscriber", "sub-9")]


def test_challenges_are_kept_for_the_next_command(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "r.sqlite")
    sub = verified_subscriber(at=T0)
    challenge, code = create_challenge(
        sub.id,
        bind(Operation.ISSUE_CERTIFICATE, {"x": "1"}),
        now=T0,
        random_bytes=random.Random(5).randbytes,
    )
    RecordChallengeStore(store, clock_now=T0).save(challenge)
    found = RecordChallengeStore(store, clock_now=T0).get(challenge.id)
    assert found == challenge
    assert len(code) == 6
    assert f'"{code}"' not in encode(found)  # only the salted hash of the code is stored
    with pytest.raises(RecordNotFound):
        RecordChallengeStore(store, clock_now=T0).get(ChallengeId("otp-none"))

"""atlas_ca.storage.records: domain objects as canonical JSON next to the register — round
trips, canonical bytes, validation on decode, only domain classes instantiated; one contract
suite run on both adapters (SQLite file, PostgreSQL schema per test); the table made by the
migration runner (0006), an older database with the table the store used to create itself
migrating cleanly."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any, cast

import pytest

from atlas_ca.cli.demo.fakes import sample_registrar, verified_subscriber
from atlas_ca.cli.demo.scenario import BASIC, DEMO_CATALOGUE, KEP
from atlas_ca.domain.authorities import Authority, HeadPerEgrul
from atlas_ca.domain.identifiers import InnLegal
from atlas_ca.domain.ids import AuthorityId, ChallengeId, OrderId, RegistrarId
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    RegisteredCustomers,
    draft_order,
    place_order,
)
from atlas_ca.domain.otp import (
    Operation,
    OtpChallenge,
    OtpOutcome,
    OtpVerification,
    bind,
    create_challenge,
    verify_code,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import Subscriber, SubscriberKind
from atlas_ca.errors import (
    DecodeError,
    InvalidIdentifier,
    RecordChanged,
    RecordNotFound,
    SchemaTooNew,
    StorageUnavailable,
)
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from atlas_ca.storage._sql import latest_version, migrations
from atlas_ca.storage.ports import RecordKind, RecordStore, get_record
from atlas_ca.storage.postgres import PostgresRecordStore, PostgresRegister
from atlas_ca.storage.record_codec import decode, encode
from atlas_ca.storage.records import open_record_store
from atlas_ca.storage.sqlite import SqliteRecordStore, SqliteRegister
from support import registers
from support.registers import pg_url

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class _FixedClock:
    def now(self) -> dt.datetime:
        return T0


_AT_T0 = _FixedClock()

pg_server = registers.pg_server


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, pg_server: Any, tmp_path: Path) -> Any:
    """A register location of each dialect (a SQLite URL, a PostgreSQL DSN with its own
    schema); the records go next to it."""
    store = registers.make_store(request.param, pg_server, tmp_path)
    store.location = (
        f"sqlite://{store.location}" if store.kind == "sqlite" else pg_url(store.location)
    )
    return store


def _raw(where: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if where.kind == "sqlite":
        return registers.Store("sqlite", where.location.removeprefix("sqlite://")).raw(sql, params)
    return where.raw(sql, params)


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
    return place_order(draft, DEMO_CATALOGUE, T0, RegisteredCustomers(frozenset({sub.id})))


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


def test_the_location_chooses_the_adapter_as_open_register_does(where: Any) -> None:
    store = open_record_store(where.location, opened_at=T0)
    try:
        expected = SqliteRecordStore if where.kind == "sqlite" else PostgresRecordStore
        assert isinstance(store, expected)
        assert "@" not in repr(store)  # no DSN (it may carry a password) in the repr
    finally:
        store.close()


def test_the_store_keeps_records_across_connections(where: Any) -> None:
    sub = verified_subscriber("sub-9", at=T0)
    store = open_record_store(where.location, opened_at=T0)
    store.put(RecordKind.SUBSCRIBER, "sub-9", sub, at=T0)
    store.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=T0)
    store.close()
    again = open_record_store(where.location, opened_at=T0)
    assert get_record(again, RecordKind.SUBSCRIBER, "sub-9", Subscriber) == sub
    assert again.keys(RecordKind.SUBSCRIBER) == ["sub-9"]
    assert again.find(RecordKind.ORDER, "sub-9") is None
    with pytest.raises(RecordNotFound, match="no order 'nope'"):
        get_record(again, RecordKind.ORDER, "nope", Order)
    with pytest.raises(DecodeError, match="is not a Order"):
        get_record(again, RecordKind.REGISTRAR, "reg-1", Order)
    again.close()
    raw = _raw(where, "SELECT kind, key, document FROM atlas_records ORDER BY kind")
    assert [(k, key) for k, key, _ in raw] == [("registrar", "reg-1"), ("subscriber", "sub-9")]
    assert raw[1][2] == encode(sub)  # the canonical bytes, not a re-serialised jsonb


def test_a_put_replaces_the_record_and_keys_are_in_byte_order(where: Any) -> None:
    store = open_record_store(where.location, opened_at=T0)
    try:
        for key in ("sub-b", "sub-a", "sub-B", "sub-1"):
            store.put(RecordKind.SUBSCRIBER, key, verified_subscriber(key, at=T0), at=T0)
        later = verified_subscriber("sub-a", SubscriberKind.ENTREPRENEUR, at=T0)
        store.put(RecordKind.SUBSCRIBER, "sub-a", later, at=T0 + dt.timedelta(minutes=1))
        assert store.find(RecordKind.SUBSCRIBER, "sub-a") == later
        assert store.keys(RecordKind.SUBSCRIBER) == ["sub-1", "sub-B", "sub-a", "sub-b"]
        assert store.keys(RecordKind.ORDER) == []
    finally:
        store.close()


def test_a_tampered_row_fails_on_read_in_either_database(where: Any) -> None:
    store = open_record_store(where.location, opened_at=T0)
    try:
        store.put(RecordKind.SUBSCRIBER, "sub-9", verified_subscriber("sub-9", at=T0), at=T0)
        _raw(
            where,
            "UPDATE atlas_records SET document = replace(document, '500100732259', '500100732258')",
        )
        with pytest.raises(InvalidIdentifier):
            store.find(RecordKind.SUBSCRIBER, "sub-9")
    finally:
        store.close()


def test_two_stores_opening_a_fresh_postgres_schema_create_the_table_once(
    pg_server: Any, tmp_path: Path
) -> None:
    where = registers.make_store("postgres", pg_server, tmp_path)
    first = PostgresRecordStore(where.location, opened_at=T0)
    second = PostgresRecordStore(where.location, opened_at=T0)
    try:
        first.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=T0)
        assert second.find(RecordKind.REGISTRAR, "reg-1") == sample_registrar()
        assert where.raw("SELECT pg_typeof(updated_at)::text FROM atlas_records") == [
            ("timestamp with time zone",)
        ]
    finally:
        first.close()
        second.close()


def _conforms(store: PostgresRecordStore) -> RecordStore:
    """mypy checks here that the PostgreSQL adapter satisfies the RecordStore port."""
    return store


def test_challenges_are_kept_for_the_next_command(where: Any) -> None:
    store = open_record_store(where.location, opened_at=T0)
    sub = verified_subscriber(at=T0)
    challenge, code = create_challenge(
        sub.id,
        bind(Operation.ISSUE_CERTIFICATE, {"x": "1"}),
        now=T0,
        random_bytes=random.Random(5).randbytes,
    )
    RecordChallengeStore(store, clock=_AT_T0).save(challenge)
    found = RecordChallengeStore(store, clock=_AT_T0).get(challenge.id)
    assert found == challenge
    assert len(code) == 6
    assert f'"{code}"' not in encode(found)  # only the salted hash of the code is stored
    with pytest.raises(RecordNotFound):
        RecordChallengeStore(store, clock=_AT_T0).get(ChallengeId("otp-none"))


def test_a_long_lived_challenge_store_stamps_each_write_with_the_clock_at_write_time(
    where: Any,
) -> None:
    """One store serves every request of a shared issuance service (issue 17): a write made
    later is stamped later, not with the time the store was created."""

    class Ticking:
        def __init__(self) -> None:
            self.current = T0

        def now(self) -> dt.datetime:
            return self.current

    store, clock = open_record_store(where.location, opened_at=T0), Ticking()
    challenges = RecordChallengeStore(store, clock=clock)
    sub = verified_subscriber(at=T0)
    binding = bind(Operation.ISSUE_CERTIFICATE, {"x": "1"})
    challenge, code = create_challenge(
        sub.id, binding, now=T0, random_bytes=random.Random(8).randbytes
    )

    def stamp() -> object:
        ((at,),) = _raw(
            where, "SELECT updated_at FROM atlas_records WHERE key = ?", (challenge.id.value,)
        )
        return at

    try:
        challenges.save(challenge)
        saved = stamp()
        clock.current = T0 + dt.timedelta(minutes=2)
        used = challenges.present(
            challenge.id, lambda c: verify_code(c, code, binding, subscriber=sub.id, now=T0)
        )
        assert used.accepted
        assert stamp() != saved
        assert "09:02" in str(stamp())  # T0 is 09:00; the write happened at 09:02
    finally:
        store.close()


def test_a_code_presented_while_another_node_counts_an_attempt_is_checked_again(
    where: Any,
) -> None:
    """present() is a compare-and-swap: node B's wrong attempt lands between node A's read and
    write; A's write is refused, A re-reads and checks its code against B's count."""
    node_a, node_b = (
        open_record_store(where.location, opened_at=T0),
        open_record_store(where.location, opened_at=T0),
    )
    sub = verified_subscriber(at=T0)
    binding = bind(Operation.ISSUE_CERTIFICATE, {"x": "1"})
    challenge, code = create_challenge(
        sub.id, binding, now=T0, random_bytes=random.Random(6).randbytes
    )
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    a, b = RecordChallengeStore(node_a, clock=_AT_T0), RecordChallengeStore(node_b, clock=_AT_T0)
    a.save(challenge)
    seen: list[int] = []

    def check_as_a(read: OtpChallenge) -> OtpVerification:
        seen.append(read.attempts)
        if len(seen) == 1:  # B presents a wrong code after A read the challenge
            b.present(
                challenge.id, lambda c: verify_code(c, wrong, binding, subscriber=sub.id, now=T0)
            )
        return verify_code(read, wrong, binding, subscriber=sub.id, now=T0)

    try:
        result = a.present(challenge.id, check_as_a)
        assert seen == [0, 1]  # A's first write lost to B's; A checked again
        assert result.outcome is OtpOutcome.WRONG_CODE
        assert b.get(challenge.id).attempts == 2  # both wrong attempts counted
        used = b.present(
            challenge.id, lambda c: verify_code(c, code, binding, subscriber=sub.id, now=T0)
        )
        assert used.accepted
        again = a.present(
            challenge.id, lambda c: verify_code(c, code, binding, subscriber=sub.id, now=T0)
        )
        assert again.outcome is OtpOutcome.ALREADY_USED
    finally:
        node_a.close()
        node_b.close()


def test_put_all_writes_every_record_or_none(where: Any) -> None:
    store = open_record_store(where.location, opened_at=T0)
    try:
        sub = verified_subscriber("sub-9", at=T0)
        store.put_all(
            [
                (RecordKind.SUBSCRIBER, "sub-9", sub),
                (RecordKind.REGISTRAR, "reg-1", sample_registrar()),
            ],
            at=T0,
        )
        assert store.find(RecordKind.SUBSCRIBER, "sub-9") == sub
        assert store.find(RecordKind.REGISTRAR, "reg-1") == sample_registrar()
        # the database refuses the second row (a NULL key) after inserting the first: the
        # transaction rolls back and the first is not there either
        no_key = cast(str, None)
        with pytest.raises(StorageUnavailable):
            store.put_all(
                [(RecordKind.ORDER, "ord-1", _order(sub)), (RecordKind.ORDER, no_key, sub)],
                at=T0,
            )
        assert store.keys(RecordKind.ORDER) == []
        with pytest.raises(TypeError):  # a value that cannot be stored: nothing is written
            store.put_all(
                [(RecordKind.ORDER, "ord-1", _order(sub)), (RecordKind.ORDER, "ord-2", 1.5)],
                at=T0,
            )
        assert store.keys(RecordKind.ORDER) == []
        store.put(RecordKind.ORDER, "ord-1", _order(sub), at=T0)  # the store is still usable
        assert store.keys(RecordKind.ORDER) == ["ord-1"]
    finally:
        store.close()


def test_a_checked_write_is_refused_when_another_node_wrote_the_record_first(
    where: Any,
) -> None:
    node_a, node_b = (
        open_record_store(where.location, opened_at=T0),
        open_record_store(where.location, opened_at=T0),
    )
    try:
        first = verified_subscriber("sub-9", at=T0)
        node_a.put_all(
            [(RecordKind.SUBSCRIBER, "sub-9", first)],
            at=T0,
            unchanged=[(RecordKind.SUBSCRIBER, "sub-9", None)],
        )
        with pytest.raises(RecordChanged, match="subscriber 'sub-9' changed"):
            node_b.put_all(  # B believed the record absent: A created it meanwhile
                [(RecordKind.SUBSCRIBER, "sub-9", first)],
                at=T0,
                unchanged=[(RecordKind.SUBSCRIBER, "sub-9", None)],
            )
        read_by_a = node_a.find(RecordKind.SUBSCRIBER, "sub-9")
        second = verified_subscriber("sub-9", SubscriberKind.ENTREPRENEUR, at=T0)
        node_b.put(RecordKind.SUBSCRIBER, "sub-9", second, at=T0)  # B writes after A read
        with pytest.raises(RecordChanged):
            node_a.put_all(
                [
                    (RecordKind.SUBSCRIBER, "sub-9", first),
                    (RecordKind.REGISTRAR, "reg-1", sample_registrar()),
                ],
                at=T0,
                unchanged=[(RecordKind.SUBSCRIBER, "sub-9", read_by_a)],
            )
        assert node_a.find(RecordKind.SUBSCRIBER, "sub-9") == second  # B's write stands
        assert node_a.find(RecordKind.REGISTRAR, "reg-1") is None  # nothing of A's was written
        node_a.put_all(  # read again, then the checked write goes through
            [(RecordKind.SUBSCRIBER, "sub-9", first)],
            at=T0,
            unchanged=[(RecordKind.SUBSCRIBER, "sub-9", second)],
        )
        assert node_b.find(RecordKind.SUBSCRIBER, "sub-9") == first
    finally:
        node_a.close()
        node_b.close()


def test_the_postgres_store_waits_for_a_locked_record_only_as_long_as_the_register(
    pg_server: Any, tmp_path: Path
) -> None:
    where = registers.make_store("postgres", pg_server, tmp_path)
    store = PostgresRecordStore(where.location, opened_at=T0)
    try:
        shown = store.db.conn.execute("SHOW lock_timeout").fetchone()
        assert shown is not None
        assert shown[0] == "30s"
    finally:
        store.close()


# --- one schema owner: the migration runner makes the table (issue 12) -------------------------

SRC = Path(__file__).resolve().parents[2] / "src" / "atlas_ca"
LATEST = latest_version("sqlite")

# What services/state.py and state_postgres.py ran on open before migration 0006 existed.
_OLD_DDL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS atlas_records (kind TEXT NOT NULL, key TEXT NOT NULL,"
    " document TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (kind, key))",
    "postgres": "CREATE TABLE IF NOT EXISTS atlas_records (kind TEXT NOT NULL, key TEXT NOT NULL,"
    " document TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key))",
}


def _records_version() -> int:
    """The version of the migration that brings the table (derived, never written down)."""
    (version,) = [v for v, name, _ in migrations("sqlite") if name.endswith("_records")]
    assert [v for v, name, _ in migrations("postgres") if name.endswith("_records")] == [version]
    return version


def _migrate(where: Any, target: int) -> int:
    if where.kind == "sqlite":
        path = where.location.removeprefix("sqlite://")
        return sqlite_adapter.migrate(path, applied_at=T0, target=target)
    return pg_adapter.migrate(where.location, applied_at=T0, target=target)


def test_the_table_is_made_by_the_migration_runner_and_by_nothing_else(where: Any) -> None:
    with open_record_store(where.location, opened_at=T0) as store:
        store.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=T0)
    versions = [r[0] for r in _raw(where, "SELECT version FROM atlas_schema ORDER BY version")]
    assert versions == list(range(1, LATEST + 1))  # the store migrated the database on open
    assert _raw(where, "SELECT kind, key FROM atlas_records") == [("registrar", "reg-1")]
    creates = re.compile(r"CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?atlas_records", re.I)
    makers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*")
        if path.suffix in (".py", ".sql") and creates.search(path.read_text(encoding="utf-8"))
    )
    assert makers == [
        f"storage/migrations/{dialect}/{name}.sql"
        for dialect in ("postgres", "sqlite")
        for v, name, _ in migrations(dialect)
        if v == _records_version()
    ]


def test_a_database_whose_store_made_the_table_itself_migrates_cleanly(where: Any) -> None:
    """A register at the version before 0006 with the table the old store created on open
    (same columns, ISO text times in SQLite, the database's default collation in PostgreSQL):
    opening the store migrates it, keeps every row and reads them back."""
    before = _records_version() - 1
    assert _migrate(where, before) == before
    _raw(where, _OLD_DDL[where.kind])
    old_at: object = T0.isoformat() if where.kind == "sqlite" else T0
    subs = {key: verified_subscriber(key, at=T0) for key in ("sub-b", "sub-B", "sub-a")}
    for key, sub in subs.items():
        _raw(
            where,
            "INSERT INTO atlas_records (kind, key, document, updated_at) VALUES (?, ?, ?, ?)",
            ("subscriber", key, encode(sub), old_at),
        )
    with open_record_store(where.location, opened_at=T0) as store:
        versions = [r[0] for r in _raw(where, "SELECT version FROM atlas_schema ORDER BY version")]
        assert versions == list(range(1, LATEST + 1))
        assert store.keys(RecordKind.SUBSCRIBER) == ["sub-B", "sub-a", "sub-b"]  # byte order
        for key, sub in subs.items():
            assert get_record(store, RecordKind.SUBSCRIBER, key, Subscriber) == sub
        changed = verified_subscriber("sub-a", SubscriberKind.ENTREPRENEUR, at=T0)
        store.put_all(  # a checked write over a row written before the migration
            [(RecordKind.SUBSCRIBER, "sub-a", changed)],
            at=T0,
            unchanged=[(RecordKind.SUBSCRIBER, "sub-a", subs["sub-a"])],
        )
        assert store.find(RecordKind.SUBSCRIBER, "sub-a") == changed
    if where.kind == "postgres":
        assert _raw(
            where,
            "SELECT collation_name FROM information_schema.columns WHERE table_name ="
            " 'atlas_records' AND column_name = 'key' AND table_schema = current_schema()",
        ) == [("C",)]
    # the register opens the same database at the same version, its data untouched
    if where.kind == "sqlite":
        reg = SqliteRegister(where.location.removeprefix("sqlite://"), opened_at=T0)
    else:
        reg = PostgresRegister(where.location, opened_at=T0)
    try:
        assert reg.schema_version == LATEST
    finally:
        reg.close()
    assert _raw(where, "SELECT count(*) FROM atlas_records") == [(3,)]


def test_the_store_refuses_a_database_newer_than_the_code(where: Any) -> None:
    open_record_store(where.location, opened_at=T0).close()
    _raw(
        where,
        "INSERT INTO atlas_schema (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)",
        (LATEST + 1, "from_the_future"),
    )
    with pytest.raises(SchemaTooNew):
        open_record_store(where.location, opened_at=T0)

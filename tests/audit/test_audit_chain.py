"""The audit chain in memory: canonical encoding, Streebog links, the first problem reported."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gostcrypto
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.algorithms import KeyType
from atlas_ca.audit import (
    GENESIS_HASH,
    Actor,
    AuditEvent,
    ChainedEvent,
    ChainHead,
    ProblemKind,
    UndecodableEvent,
    chain_hash,
    sign_checkpoint,
    verify_chain,
    x509_signature_verifier,
)
from atlas_ca.audit.events import chain_next
from atlas_ca.hsm.software import generate_software_key, open_software_key

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACTOR = Actor("system:issuance")


def event(i: int) -> AuditEvent:
    return AuditEvent(
        T0 + timedelta(seconds=i), ACTOR, "certificate.issued", {"serial": f"{i:040x}"}
    )


def build(n: int) -> list[ChainedEvent]:
    out: list[ChainedEvent] = []
    head = ChainHead(0, GENESIS_HASH)
    for i in range(1, n + 1):
        chained = chain_next(head, event(i))
        out.append(chained)
        head = ChainHead(chained.seq, chained.hash)
    return out


def renumber(events: list[ChainedEvent]) -> list[ChainedEvent]:
    return [dataclasses.replace(e, seq=i) for i, e in enumerate(events, 1)]


def test_the_canonical_encoding_is_sorted_compact_json_in_utc() -> None:
    e = AuditEvent(
        datetime(2026, 11, 25, 15, 30, tzinfo=UTC) + timedelta(microseconds=7),
        Actor("operator:ops-3"),
        "certificate.revoke",
        {"serial": "00ff", "issuer": "a1b2", "reason": "key_compromise"},
    )
    assert e.canonical() == (
        b'{"action":"certificate.revoke","actor":"operator:ops-3",'
        b'"at":"2026-11-25T15:30:00.000007Z",'
        b'"objects":{"issuer":"a1b2","reason":"key_compromise","serial":"00ff"},"v":1}'
    )


def test_the_link_is_streebog_256_of_domain_previous_hash_and_event() -> None:
    e = event(1)
    expected = gostcrypto.gosthash.new(
        "streebog256", data=b"atlas-ca/audit/v1\x00" + GENESIS_HASH + e.canonical()
    ).digest()
    assert chain_hash(GENESIS_HASH, e) == expected
    assert build(1)[0].hash == expected


identifier = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)


@settings(max_examples=50)
@given(
    seconds=st.integers(0, 10**9),
    action=st.from_regex(r"[a-z][a-z0-9_]{0,8}\.[a-z][a-z0-9_]{0,8}", fullmatch=True),
    objects=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), identifier),
)
def test_the_canonical_encoding_round_trips(
    seconds: int, action: str, objects: dict[str, str]
) -> None:
    e = AuditEvent(T0 + timedelta(microseconds=seconds), ACTOR, action, objects)
    assert AuditEvent.from_canonical(e.canonical()) == e


@pytest.mark.parametrize(
    "objects",
    [
        {"subscriber": "Иванов Иван Иванович"},
        {"snils": "112-233-445 95"},
        {"note": "free text here"},
        {"Bad-Key": "x"},
    ],
)
def test_free_text_and_personal_data_do_not_fit_an_event(objects: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="identifier"):
        AuditEvent(T0, ACTOR, "subscriber.changed", objects)


@pytest.mark.parametrize("actor", ["Ivanov", "operator:", "operator:Иванов", "a b:c"])
def test_an_actor_is_kind_colon_account_id(actor: str) -> None:
    with pytest.raises(ValueError, match="actor"):
        Actor(actor)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        AuditEvent(datetime(2026, 11, 25, 12, 0), ACTOR, "a.b")


def test_an_untouched_log_verifies() -> None:
    log = build(6)
    report = verify_chain(log, head=ChainHead(6, log[-1].hash))
    assert report.ok
    assert report.events_checked == 6


@settings(max_examples=25)
@given(n=st.integers(2, 12), data=st.data())
def test_an_edited_event_is_reported_at_its_own_sequence_number(
    n: int, data: st.DataObject
) -> None:
    log = build(n)
    i = data.draw(st.integers(0, n - 1))
    log[i] = dataclasses.replace(log[i], event=dataclasses.replace(log[i].event, action="x.y"))
    report = verify_chain(log)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.EDITED, i + 1)
    assert report.events_checked == i


@settings(max_examples=25)
@given(n=st.integers(3, 12), data=st.data())
def test_a_removed_event_is_reported_where_it_was(n: int, data: st.DataObject) -> None:
    log = build(n)
    i = data.draw(st.integers(0, n - 2))
    del log[i]
    for shown in (log, renumber(log)):  # with a gap, and renumbered to hide the gap
        report = verify_chain(shown)
        assert report.first_problem is not None
        assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.REMOVED, i + 1)


@settings(max_examples=25)
@given(n=st.integers(3, 12), data=st.data())
def test_swapped_events_are_reported_as_reordered_at_the_first(n: int, data: st.DataObject) -> None:
    log = build(n)
    i = data.draw(st.integers(0, n - 2))
    log[i], log[i + 1] = log[i + 1], log[i]
    report = verify_chain(renumber(log))
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (
        ProblemKind.REORDERED,
        i + 1,
    )


def test_a_truncated_log_is_caught_by_the_recorded_head() -> None:
    log = build(5)
    report = verify_chain(log[:3], head=ChainHead(5, log[-1].hash))
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.REMOVED, 4)


def test_an_undecodable_row_counts_as_edited() -> None:
    log: list[ChainedEvent | UndecodableEvent] = list(build(3))
    log[1] = UndecodableEvent(2, "objects is not a map")
    report = verify_chain(log)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.EDITED, 2)


@pytest.fixture(scope="module")
def gost_key(tmp_path_factory: pytest.TempPathFactory) -> object:
    path = tmp_path_factory.mktemp("audit-key") / "checkpoint-key.pem"
    uri = generate_software_key(
        path, KeyType.GOST3410_2012_256, password="audit-test", iterations=1000
    )
    return open_software_key(uri, password="audit-test")


def test_a_gost_signed_checkpoint_verifies_and_a_rewritten_log_does_not(gost_key: object) -> None:
    log = build(8)
    cp = sign_checkpoint(ChainHead(5, log[4].hash), gost_key, at=T0, key_id="audit-key-1")  # type: ignore[arg-type]
    trusted = [cp.public_key_info]
    ok = verify_chain(log, [cp], verify_signature=x509_signature_verifier, trusted_keys=trusted)
    assert ok.ok
    assert ok.checkpoints_checked == 1

    # Edit event 3 and recompute every hash after it: the chain alone looks fine ...
    forged: list[ChainedEvent] = []
    head = ChainHead(0, GENESIS_HASH)
    for i, e in enumerate(log, 1):
        ev = dataclasses.replace(e.event, action="certificate.forged") if i == 3 else e.event
        forged.append(chain_next(head, ev))
        head = ChainHead(i, forged[-1].hash)
    assert verify_chain(forged).ok
    # ... but not against the signed checkpoint.
    report = verify_chain(forged, [cp], verify_signature=x509_signature_verifier)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.REWRITTEN, 5)


def test_a_forged_or_untrusted_checkpoint_is_reported(gost_key: object, tmp_path: Path) -> None:
    log = build(4)
    cp = sign_checkpoint(ChainHead(4, log[3].hash), gost_key, at=T0, key_id="audit-key-1")  # type: ignore[arg-type]
    bad_sig = dataclasses.replace(cp, signature=bytes(len(cp.signature)))
    report = verify_chain(log, [bad_sig], verify_signature=x509_signature_verifier)
    assert report.first_problem is not None
    assert report.first_problem.kind is ProblemKind.BAD_CHECKPOINT
    moved = dataclasses.replace(cp, seq=3)  # the signature covers seq: moving it breaks it
    assert not verify_chain(log, [moved], verify_signature=x509_signature_verifier).ok
    report = verify_chain(log, [cp], trusted_keys=[b"some other key"])
    assert report.first_problem is not None
    assert report.first_problem.detail == "untrusted key"


def test_an_empty_log_cannot_be_checkpointed(gost_key: object) -> None:
    with pytest.raises(ValueError, match="empty"):
        sign_checkpoint(ChainHead(0, GENESIS_HASH), gost_key, at=T0, key_id="k")  # type: ignore[arg-type]

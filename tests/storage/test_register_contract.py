"""The register's contract, run against SQLite and PostgreSQL alike (the ``register`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.audit import verify_chain
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.errors import (
    CrlNumberConflict,
    DuplicateIdempotencyKey,
    IllegalStatusTransition,
    IntentNotOpen,
    RecordNotFound,
    Refused,
    SerialCollision,
)
from atlas_ca.storage import (
    CertificateStatus,
    CrlRecord,
    IdempotencyKey,
    IntentState,
    Register,
    RevocationReason,
)
from atlas_ca.storage._sql import SqlRegister, latest_version
from atlas_ca.storage.ports import MAX_SERIAL
from support.registers import (
    ACTOR,
    ISSUER,
    OPERATOR,
    OTHER_ISSUER,
    T0,
    Store,
    issued,
    new_intent,
)


def issue(reg: SqlRegister, serial: int, **kw: object) -> None:
    intent = new_intent(serial, **kw)  # type: ignore[arg-type]
    reg.record_intent(intent, actor=ACTOR)
    reg.complete_intent(issued(intent), actor=ACTOR)


def test_both_adapters_satisfy_the_register_protocol(register: SqlRegister) -> None:
    assert isinstance(register, Register)
    assert register.schema_version == latest_version("sqlite") == latest_version("postgres")


def test_an_intent_then_its_certificate_round_trip_exactly(register: SqlRegister) -> None:
    intent = new_intent(0x1234)
    outcome = register.record_intent(intent, actor=ACTOR)
    assert outcome.created
    assert outcome.certificate is None
    assert outcome.intent.state is IntentState.OPEN
    assert register.open_intents() == [outcome.intent]

    cert = issued(intent)
    stored = register.complete_intent(cert, actor=ACTOR)
    fetched = register.get_certificate(ISSUER, 0x1234)
    assert fetched == stored
    assert fetched.der == cert.der
    assert fetched.subject_key_id == cert.subject_key_id
    assert fetched.not_after == cert.not_after
    assert fetched.order == cert.order
    assert fetched.status is CertificateStatus.VALID
    assert fetched.revocation is None
    done = register.get_intent(ISSUER, 0x1234)
    assert done.state is IntentState.COMPLETED
    assert done.resolved_at == cert.issued_at
    assert register.open_intents() == []
    assert register.certificates_of(intent.subscriber) == [fetched]


def test_the_largest_serial_of_twenty_octets_is_stored_and_found(register: SqlRegister) -> None:
    issue(register, MAX_SERIAL)
    assert register.get_certificate(ISSUER, MAX_SERIAL).serial == MAX_SERIAL


@pytest.mark.parametrize("bad", [0, -1, MAX_SERIAL + 1])
def test_a_serial_outside_twenty_positive_octets_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="serial"):
        new_intent(bad)


def test_a_taken_serial_is_a_collision_and_nothing_is_written(register: SqlRegister) -> None:
    register.record_intent(new_intent(77), actor=ACTOR)
    head = register.audit_head()
    with pytest.raises(SerialCollision) as caught:
        register.record_intent(new_intent(77, subscriber=SubscriberId("someone-else")), actor=ACTOR)
    assert isinstance(caught.value, Refused)
    assert register.audit_head() == head
    assert register.get_intent(ISSUER, 77).subscriber == SubscriberId("sub-77")


def test_a_voided_serial_is_never_reused(register: SqlRegister) -> None:
    register.record_intent(new_intent(78), actor=ACTOR)
    voided = register.void_intent(ISSUER, 78, at=T0, actor=ACTOR)
    assert voided.state is IntentState.VOIDED
    with pytest.raises(SerialCollision):
        register.record_intent(new_intent(78), actor=ACTOR)
    with pytest.raises(IntentNotOpen):
        register.complete_intent(issued(new_intent(78)), actor=ACTOR)


def test_the_same_serial_under_another_issuer_is_a_different_certificate(
    register: SqlRegister,
) -> None:
    issue(register, 79)
    issue(register, 79, issuer=OTHER_ISSUER)
    assert register.get_certificate(OTHER_ISSUER, 79).issuer == OTHER_ISSUER


def test_a_certificate_without_an_open_intent_is_refused(register: SqlRegister) -> None:
    with pytest.raises(RecordNotFound):
        register.complete_intent(issued(new_intent(80)), actor=ACTOR)
    issue(register, 81)
    with pytest.raises(IntentNotOpen):
        register.complete_intent(issued(new_intent(81)), actor=ACTOR)


def test_a_certificate_for_another_subscriber_than_its_intent_is_refused(
    register: SqlRegister,
) -> None:
    intent = new_intent(82)
    register.record_intent(intent, actor=ACTOR)
    with pytest.raises(IntentNotOpen, match="differs"):
        register.complete_intent(issued(intent, subscriber=SubscriberId("intruder")), actor=ACTOR)
    assert register.get_intent(ISSUER, 82).state is IntentState.OPEN
    with pytest.raises(RecordNotFound):
        register.get_certificate(ISSUER, 82)


def test_a_retried_request_with_its_idempotency_key_finds_the_same_result(
    register: SqlRegister,
) -> None:
    key = IdempotencyKey("order-4711/attempt")
    first = new_intent(90, idempotency_key=key, request_digest=b"req-A")
    register.record_intent(first, actor=ACTOR)
    register.complete_intent(issued(first), actor=ACTOR)
    retry = new_intent(91, idempotency_key=key, request_digest=b"req-A")  # a fresh serial
    outcome = register.record_intent(retry, actor=ACTOR)
    assert not outcome.created
    assert outcome.intent.serial == 90
    assert outcome.certificate is not None
    assert outcome.certificate.serial == 90
    with pytest.raises(RecordNotFound):
        register.get_intent(ISSUER, 91)  # the retry took no serial
    found = register.find_idempotent(key)
    assert found is not None
    assert found.intent.serial == 90
    assert register.find_idempotent(IdempotencyKey("never-used-key")) is None


def test_an_idempotency_key_reused_for_another_request_is_refused(register: SqlRegister) -> None:
    key = IdempotencyKey("order-4712/attempt")
    register.record_intent(new_intent(92, idempotency_key=key, request_digest=b"A"), actor=ACTOR)
    with pytest.raises(DuplicateIdempotencyKey):
        register.record_intent(
            new_intent(93, idempotency_key=key, request_digest=b"B"), actor=ACTOR
        )


def test_revocation_keeps_reason_dates_and_history(register: SqlRegister) -> None:
    issue(register, 100)
    when = T0 + timedelta(days=3)
    invalid_since = T0 + timedelta(days=1)
    rec = register.revoke(
        ISSUER,
        100,
        reason=RevocationReason.KEY_COMPROMISE,
        revocation_date=when,
        invalidity_date=invalid_since,
        actor=OPERATOR,
    )
    assert rec.status is CertificateStatus.REVOKED
    got = register.get_certificate(ISSUER, 100)
    assert got.revocation is not None
    assert got.revocation.reason is RevocationReason.KEY_COMPROMISE
    assert (got.revocation.revocation_date, got.revocation.invalidity_date) == (when, invalid_since)
    (change,) = register.status_history(ISSUER, 100)
    assert (change.old_status, change.new_status) == (
        CertificateStatus.VALID,
        CertificateStatus.REVOKED,
    )
    assert change.actor == OPERATOR
    assert change.revocation == got.revocation


def test_suspend_then_resume_then_revoke_writes_three_history_rows(register: SqlRegister) -> None:
    issue(register, 101)
    s = register.suspend(ISSUER, 101, at=T0 + timedelta(hours=1), actor=OPERATOR)
    assert s.status is CertificateStatus.SUSPENDED
    assert s.revocation is not None
    assert s.revocation.reason is RevocationReason.CERTIFICATE_HOLD
    r = register.resume(ISSUER, 101, at=T0 + timedelta(hours=2), actor=OPERATOR)
    assert r.status is CertificateStatus.VALID
    assert r.revocation is None
    assert register.get_certificate(ISSUER, 101).revocation is None
    register.revoke(
        ISSUER,
        101,
        reason=RevocationReason.SUPERSEDED,
        revocation_date=T0 + timedelta(hours=3),
        actor=OPERATOR,
    )
    history = register.status_history(ISSUER, 101)
    assert [h.new_status for h in history] == [
        CertificateStatus.SUSPENDED,
        CertificateStatus.VALID,
        CertificateStatus.REVOKED,
    ]
    assert [h.change_no for h in history] == sorted(h.change_no for h in history)


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        (["revoke"], "revoke"),
        (["revoke"], "resume"),
        (["revoke"], "suspend"),
        ([], "resume"),
        (["suspend"], "suspend"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    register: SqlRegister, steps: list[str], illegal: str
) -> None:
    issue(register, 102)

    def do(action: str) -> None:
        if action == "revoke":
            register.revoke(
                ISSUER, 102, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
            )
        elif action == "suspend":
            register.suspend(ISSUER, 102, at=T0, actor=OPERATOR)
        else:
            register.resume(ISSUER, 102, at=T0, actor=OPERATOR)

    for step in steps:
        do(step)
    before = (register.get_certificate(ISSUER, 102), register.status_history(ISSUER, 102))
    head = register.audit_head()
    with pytest.raises(IllegalStatusTransition) as caught:
        do(illegal)
    assert isinstance(caught.value, Refused)
    assert caught.value.context["action"] == illegal
    assert (register.get_certificate(ISSUER, 102), register.status_history(ISSUER, 102)) == before
    assert register.audit_head() == head


@pytest.mark.parametrize(
    "reason", [RevocationReason.CERTIFICATE_HOLD, RevocationReason.REMOVE_FROM_CRL]
)
def test_hold_reasons_are_not_revocations(register: SqlRegister, reason: RevocationReason) -> None:
    issue(register, 103)
    with pytest.raises(IllegalStatusTransition, match="suspend/resume"):
        register.revoke(ISSUER, 103, reason=reason, revocation_date=T0, actor=OPERATOR)


def test_status_change_of_an_unknown_certificate_is_not_found(register: SqlRegister) -> None:
    with pytest.raises(RecordNotFound):
        register.suspend(ISSUER, 9999, at=T0, actor=OPERATOR)


def test_every_change_is_in_the_audit_chain_without_personal_data(register: SqlRegister) -> None:
    issue(register, 104)
    register.suspend(ISSUER, 104, at=T0, actor=OPERATOR)
    events = list(register.audit_events())
    assert [e.event.action for e in events] == [  # type: ignore[union-attr]
        "issuance.intent",
        "certificate.issued",
        "certificate.suspend",
    ]
    assert verify_chain(events, head=register.audit_head()).ok
    for e in events:
        assert set(e.event.objects) <= {"issuer", "serial", "subscriber", "order", "reason"}  # type: ignore[union-attr]


def test_crl_numbers_increase_per_issuer_independently(register: SqlRegister) -> None:
    a = [register.next_crl_number(ISSUER) for _ in range(3)]
    b = [register.next_crl_number(OTHER_ISSUER) for _ in range(2)]
    assert a == [1, 2, 3]
    assert b == [1, 2]


def test_a_crl_record_needs_an_allocated_unused_number(register: SqlRegister) -> None:
    n = register.next_crl_number(ISSUER)
    crl = CrlRecord(ISSUER, n, T0, T0 + timedelta(days=1), change_mark=0)
    register.record_crl(crl, at=T0, actor=ACTOR)
    assert register.get_crl(ISSUER, n) == crl
    assert register.latest_crl(ISSUER) == crl
    with pytest.raises(CrlNumberConflict, match="already"):
        register.record_crl(crl, at=T0, actor=ACTOR)
    with pytest.raises(CrlNumberConflict, match="allocated"):
        register.record_crl(
            CrlRecord(ISSUER, n + 5, T0, T0 + timedelta(days=1), 0), at=T0, actor=ACTOR
        )


def test_the_crl_scan_lists_revoked_and_suspended_in_serial_order(register: SqlRegister) -> None:
    for serial in (5, 3, 9, 7, 1):
        issue(register, serial)
    register.revoke(
        ISSUER, 9, reason=RevocationReason.KEY_COMPROMISE, revocation_date=T0, actor=OPERATOR
    )
    register.suspend(ISSUER, 3, at=T0, actor=OPERATOR)
    register.revoke(
        ISSUER, 7, reason=RevocationReason.SUPERSEDED, revocation_date=T0, actor=OPERATOR
    )
    issue(register, 3, issuer=OTHER_ISSUER)
    register.revoke(
        OTHER_ISSUER, 3, reason=RevocationReason.SUPERSEDED, revocation_date=T0, actor=OPERATOR
    )
    with register.crl_scan(ISSUER) as scan:
        entries = list(scan.listed())
        assert scan.change_mark == 3
    assert [(e.serial, e.status) for e in entries] == [
        (3, CertificateStatus.SUSPENDED),
        (7, CertificateStatus.REVOKED),
        (9, CertificateStatus.REVOKED),
    ]
    assert entries[2].reason is RevocationReason.KEY_COMPROMISE
    assert entries[2].revocation_date == T0
    assert entries[0].reason is RevocationReason.CERTIFICATE_HOLD


def test_delta_changes_since_a_base_crl_include_holds_released(register: SqlRegister) -> None:
    for serial in (11, 12, 13, 14):
        issue(register, serial)
    register.suspend(ISSUER, 11, at=T0, actor=OPERATOR)
    register.revoke(
        ISSUER, 12, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
    )
    with register.crl_scan(ISSUER) as scan:
        base = CrlRecord(
            ISSUER, register.next_crl_number(ISSUER), T0, T0 + timedelta(days=1), scan.change_mark
        )
        assert {e.serial for e in scan.listed()} == {11, 12}
    register.record_crl(base, at=T0, actor=ACTOR)

    register.resume(ISSUER, 11, at=T0, actor=OPERATOR)
    register.revoke(
        ISSUER, 13, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
    )
    with register.crl_scan(ISSUER) as scan:
        changes = {e.serial: e.status for e in scan.changes_since(base.number)}
        delta = CrlRecord(
            ISSUER,
            register.next_crl_number(ISSUER),
            T0,
            T0 + timedelta(hours=6),
            scan.change_mark,
            base_number=base.number,
        )
    assert changes == {11: CertificateStatus.VALID, 13: CertificateStatus.REVOKED}
    register.record_crl(delta, at=T0, actor=ACTOR)
    assert register.latest_crl(ISSUER) == delta
    assert register.latest_crl(ISSUER, full_only=True) == base
    with register.crl_scan(ISSUER) as scan, pytest.raises(RecordNotFound):
        list(scan.changes_since(99))


def test_the_scan_is_a_snapshot_unaffected_by_later_changes(register: SqlRegister) -> None:
    for serial in (21, 22, 23):
        issue(register, serial)
    register.revoke(
        ISSUER, 21, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
    )
    with register.crl_scan(ISSUER) as scan:
        stream = scan.listed()
        first = next(stream)
        register.revoke(
            ISSUER, 22, reason=RevocationReason.UNSPECIFIED, revocation_date=T0, actor=OPERATOR
        )
        rest = list(stream)
        mark = scan.change_mark
    assert (first.serial, rest, mark) == (21, [], 1)
    with register.crl_scan(ISSUER) as scan:
        assert [e.serial for e in scan.listed()] == [21, 22]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(actions=st.lists(st.sampled_from(["revoke", "suspend", "resume"]), min_size=1, max_size=6))
def test_any_action_sequence_matches_the_lifecycle_model(store: Store, actions: list[str]) -> None:
    reg = store.open()
    serial = reg.audit_head().seq + 1  # the head grows with every example: a fresh serial
    issue(reg, serial)
    model = CertificateStatus.VALID
    allowed = {
        (CertificateStatus.VALID, "suspend"): CertificateStatus.SUSPENDED,
        (CertificateStatus.VALID, "revoke"): CertificateStatus.REVOKED,
        (CertificateStatus.SUSPENDED, "resume"): CertificateStatus.VALID,
        (CertificateStatus.SUSPENDED, "revoke"): CertificateStatus.REVOKED,
    }
    changes = 0
    for action in actions:
        expected = allowed.get((model, action))
        try:
            if action == "revoke":
                reg.revoke(
                    ISSUER,
                    serial,
                    reason=RevocationReason.UNSPECIFIED,
                    revocation_date=T0,
                    actor=OPERATOR,
                )
            elif action == "suspend":
                reg.suspend(ISSUER, serial, at=T0, actor=OPERATOR)
            else:
                reg.resume(ISSUER, serial, at=T0, actor=OPERATOR)
        except IllegalStatusTransition:
            assert expected is None
        else:
            assert expected is not None
            model = expected
            changes += 1
        assert reg.get_certificate(ISSUER, serial).status is model
    assert len(reg.status_history(ISSUER, serial)) == changes


aware_times = st.datetimes(
    min_value=datetime(1950, 1, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=10)), timezone(timedelta(hours=-3))]),
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    serial=st.integers(1, MAX_SERIAL),
    der=st.binary(min_size=1, max_size=300),
    ski=st.binary(min_size=0, max_size=64),
    not_before=aware_times,
    days=st.integers(1, 3650),
    reason=st.sampled_from(
        [
            r
            for r in RevocationReason
            if r not in (RevocationReason.CERTIFICATE_HOLD, RevocationReason.REMOVE_FROM_CRL)
        ]
    ),
)
def test_any_certificate_and_revocation_round_trip_exactly(
    store: Store,
    serial: int,
    der: bytes,
    ski: bytes,
    not_before: datetime,
    days: int,
    reason: RevocationReason,
) -> None:
    reg = store.open()
    try:
        reg.get_intent(ISSUER, serial)
    except RecordNotFound:
        pass
    else:
        return  # hypothesis drew a serial an earlier example took
    intent = new_intent(serial, created_at=not_before)
    reg.record_intent(intent, actor=ACTOR)
    not_after = min(not_before + timedelta(days=days), datetime(9999, 12, 31, tzinfo=UTC))
    cert = issued(intent, der=der, subject_key_id=ski, not_before=not_before, not_after=not_after)
    reg.complete_intent(cert, actor=ACTOR)
    got = reg.get_certificate(ISSUER, serial)
    assert (got.serial, got.der, got.subject_key_id) == (serial, der, ski)
    assert (got.not_before, got.not_after, got.issued_at) == (not_before, not_after, cert.issued_at)
    assert got.not_before.utcoffset() == timedelta(0)  # read back in UTC
    revoked_at = not_before + timedelta(seconds=1, microseconds=7)
    reg.revoke(
        ISSUER,
        serial,
        reason=reason,
        revocation_date=revoked_at,
        invalidity_date=not_before,
        actor=OPERATOR,
    )
    with reg.crl_scan(ISSUER) as scan:
        entry = next(e for e in scan.listed() if e.serial == serial)
    assert (entry.reason, entry.revocation_date, entry.invalidity_date) == (
        reason,
        revoked_at,
        not_before,
    )


def test_the_change_mark_grows_with_every_status_change_of_its_issuer_only(
    register: SqlRegister,
) -> None:
    assert register.change_mark(ISSUER) == 0
    issue(register, 0x51)
    issue(register, 0x52, issuer=OTHER_ISSUER)
    assert register.change_mark(ISSUER) == 0  # issuing is not a status change
    register.suspend(ISSUER, 0x51, at=T0 + timedelta(hours=1), actor=ACTOR)
    register.resume(ISSUER, 0x51, at=T0 + timedelta(hours=2), actor=ACTOR)
    register.revoke(
        ISSUER, 0x51, reason=RevocationReason.SUPERSEDED,
        revocation_date=T0 + timedelta(hours=3), actor=ACTOR,
    )  # fmt: skip
    assert register.change_mark(ISSUER) == 3
    assert register.change_mark(OTHER_ISSUER) == 0

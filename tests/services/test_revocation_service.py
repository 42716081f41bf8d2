"""Revocation, suspension and resumption through the service, on SQLite and PostgreSQL:
operators act under their name, subscribers confirm with a bound one-time code (R7), and who
did it and why end up in the status history and the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.audit.events import Actor
from atlas_ca.cli.demo.fakes import FakeSmsGateway, verified_subscriber
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.otp import Operation, OtpRefused
from atlas_ca.errors import (
    CertificateNotOwned,
    IllegalStatusTransition,
    InvalidInput,
    ReasonNotAllowed,
    RecordNotFound,
)
from atlas_ca.services.issuance import OtpConfirmation
from atlas_ca.services.revocation import (
    ByOperator,
    BySubscriber,
    RevocationService,
    status_binding,
)
from atlas_ca.storage import CertificateStatus, RevocationReason
from atlas_ca.storage._sql import SqlRegister
from support.issuance_env import World, make_world, registers

pg_server = registers.pg_server
store = registers.store
OPERATOR = ByOperator(Actor("operator:ops-3"))


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


@pytest.fixture
def serial(world: World) -> int:
    return world.service().issue(world.request()).certificate.serial_number


def _service(w: World) -> RevocationService:
    return RevocationService(
        issuer=w.ca.issuer_id, register=w.register, challenges=w.challenges, clock=w.clock
    )


def _by_subscriber(
    w: World,
    operation: Operation,
    serial: int,
    reason: RevocationReason | None = None,
    *,
    code: str | None = None,
) -> BySubscriber:
    challenge, real = w.challenge(status_binding(operation, w.ca.issuer_id, serial, reason))
    return BySubscriber(w.subscriber.id, OtpConfirmation(challenge.id, code or real))


def _events(w: World) -> list[Any]:
    return [e.event for e in w.register.audit_events() if hasattr(e, "event")]


def test_an_operator_revokes_with_reason_and_invalidity_date(world: World, serial: int) -> None:
    world.clock.advance(days=2)
    compromised = world.clock.now() - dt.timedelta(days=1)
    record = _service(world).revoke(
        serial, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR, invalidity_date=compromised
    )
    assert record.status is CertificateStatus.REVOKED
    assert record.revocation is not None
    assert record.revocation.reason is RevocationReason.KEY_COMPROMISE
    assert record.revocation.invalidity_date == compromised
    [change] = world.register.status_history(world.ca.issuer_id, serial)
    assert change.actor == OPERATOR.actor
    last = _events(world)[-1]
    assert (last.action, last.actor, last.objects["reason"]) == (
        "certificate.revoke",
        OPERATOR.actor,
        "key_compromise",
    )


def test_a_subscriber_revokes_their_certificate_with_a_bound_code(
    world: World, serial: int
) -> None:
    by = _by_subscriber(world, Operation.REVOKE_CERTIFICATE, serial, RevocationReason.SUPERSEDED)
    record = _service(world).revoke(serial, reason=RevocationReason.SUPERSEDED, by=by)
    assert record.status is CertificateStatus.REVOKED
    events = _events(world)
    assert [e.action for e in events[-2:]] == ["otp.confirmed", "certificate.revoke"]
    assert events[-2].objects["challenge"] == by.confirmation.challenge.value
    assert events[-1].actor == Actor("subscriber:sub-1")


def test_a_wrong_code_leaves_the_certificate_valid(world: World, serial: int) -> None:
    by = _by_subscriber(
        world, Operation.REVOKE_CERTIFICATE, serial, RevocationReason.SUPERSEDED, code="999999"
    )
    with pytest.raises(OtpRefused, match="wrong code"):
        _service(world).revoke(serial, reason=RevocationReason.SUPERSEDED, by=by)
    assert world.register.get_certificate(world.ca.issuer_id, serial).status is (
        CertificateStatus.VALID
    )
    assert world.challenges.get(by.confirmation.challenge).attempts == 1


def test_a_code_for_one_reason_does_not_confirm_another(world: World, serial: int) -> None:
    by = _by_subscriber(world, Operation.REVOKE_CERTIFICATE, serial, RevocationReason.SUPERSEDED)
    with pytest.raises(OtpRefused, match="another operation or other parameters"):
        _service(world).revoke(serial, reason=RevocationReason.KEY_COMPROMISE, by=by)


def test_a_code_to_suspend_does_not_revoke(world: World, serial: int) -> None:
    by = _by_subscriber(world, Operation.SUSPEND_CERTIFICATE, serial)
    with pytest.raises(OtpRefused, match="another operation"):
        _service(world).revoke(serial, reason=RevocationReason.UNSPECIFIED, by=by)


def test_a_subscriber_cannot_touch_someone_elses_certificate(world: World, serial: int) -> None:
    challenge, code = world.challenge(
        status_binding(Operation.SUSPEND_CERTIFICATE, world.ca.issuer_id, serial),
        SubscriberId("sub-2"),
    )
    by = BySubscriber(SubscriberId("sub-2"), OtpConfirmation(challenge.id, code))
    with pytest.raises(CertificateNotOwned, match="not issued to this subscriber"):
        _service(world).suspend(serial, by=by)


def test_a_subscriber_may_not_claim_ca_compromise(world: World, serial: int) -> None:
    by = _by_subscriber(world, Operation.REVOKE_CERTIFICATE, serial, RevocationReason.CA_COMPROMISE)
    with pytest.raises(ReasonNotAllowed, match="CA_COMPROMISE"):
        _service(world).revoke(serial, reason=RevocationReason.CA_COMPROMISE, by=by)


def test_an_invalidity_date_in_the_future_is_refused(world: World, serial: int) -> None:
    with pytest.raises(InvalidInput, match="future"):
        _service(world).revoke(
            serial,
            reason=RevocationReason.KEY_COMPROMISE,
            by=OPERATOR,
            invalidity_date=world.clock.now() + dt.timedelta(hours=1),
        )


def test_suspend_and_resume_by_the_subscriber(world: World, serial: int) -> None:
    service = _service(world)
    held = service.suspend(serial, by=_by_subscriber(world, Operation.SUSPEND_CERTIFICATE, serial))
    assert held.status is CertificateStatus.SUSPENDED
    assert held.revocation is not None
    assert held.revocation.reason is RevocationReason.CERTIFICATE_HOLD
    world.clock.advance(hours=3)
    resumed = service.resume(serial, by=_by_subscriber(world, Operation.RESUME_CERTIFICATE, serial))
    assert resumed.status is CertificateStatus.VALID
    history = world.register.status_history(world.ca.issuer_id, serial)
    assert [(h.old_status, h.new_status) for h in history] == [
        (CertificateStatus.VALID, CertificateStatus.SUSPENDED),
        (CertificateStatus.SUSPENDED, CertificateStatus.VALID),
    ]


def test_a_revoked_certificate_stays_revoked(world: World, serial: int) -> None:
    service = _service(world)
    service.revoke(serial, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    with pytest.raises(IllegalStatusTransition, match="revoked"):
        service.suspend(serial, by=OPERATOR)
    with pytest.raises(IllegalStatusTransition):
        service.revoke(serial, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR)


def test_an_unknown_serial_is_reported(world: World) -> None:
    with pytest.raises(RecordNotFound):
        _service(world).revoke(424242, reason=RevocationReason.SUPERSEDED, by=OPERATOR)


def test_send_code_sends_a_bound_code_that_the_second_step_accepts(
    world: World, serial: int
) -> None:
    gateway = FakeSmsGateway()
    challenge = _service(world).send_code(
        "suspend", serial, world.subscriber, gateway=gateway, random_bytes=secrets.token_bytes
    )
    [sms] = gateway.sent
    assert sms.phone == world.subscriber.phone
    code = re.search(r"Код (\d{6})", sms.text)
    assert code is not None
    assert world.challenges.get(challenge.id) == challenge
    by = BySubscriber(world.subscriber.id, OtpConfirmation(challenge.id, code.group(1)))
    record = _service(world).suspend(serial, by=by)
    assert record.status is CertificateStatus.SUSPENDED


def test_send_code_refuses_before_sending_for_a_foreign_certificate_or_a_ca_reason(
    world: World, serial: int
) -> None:
    gateway = FakeSmsGateway()
    other = verified_subscriber("sub-2", at=world.clock.now())
    with pytest.raises(CertificateNotOwned):
        _service(world).send_code(
            "revoke", serial, other, gateway=gateway, random_bytes=secrets.token_bytes
        )
    with pytest.raises(ReasonNotAllowed):
        _service(world).send_code(
            "revoke",
            serial,
            world.subscriber,
            gateway=gateway,
            random_bytes=secrets.token_bytes,
            reason=RevocationReason.CA_COMPROMISE,
        )
    assert gateway.sent == []

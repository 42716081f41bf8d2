"""The certificate use cases of :mod:`atlas_ca.services.certificates` (issue 12), on SQLite and
PostgreSQL: issuance in two steps (code sent after the pipeline's own checks, then issued with
it), the pending challenge found from the same application, the records loaded by id, the order
life cycle, and the status changes by an operator or by the subscriber with a code (R7)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.audit import Actor
from atlas_ca.cli.demo.fakes import FakeSmsGateway, verified_subscriber
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import OtpChallenge
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.errors import (
    CertificateNotOwned,
    InvalidInput,
    NotVerified,
    OrderNotPaid,
    OtpRefused,
    ReasonNotAllowed,
    RecordNotFound,
)
from atlas_ca.services.billing import BillingService
from atlas_ca.services.certificates import (
    DEFAULT_SIGN_TOOL,
    CertificateApplication,
    CertificateService,
    CertificateStatusService,
    CodeSent,
    OrganisationRef,
    StatusAction,
    SubscriberCode,
    issuance_pending_key,
    status_pending_key,
)
from atlas_ca.services.issuance import issuance_binding
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import CertificateStatus, RevocationReason
from atlas_ca.storage.ports import RecordKind, RecordStore
from support.issuance_env import (
    CATALOGUE,
    SIGN_TOOL,
    T0,
    World,
    fresh_key,
    make_csr,
    make_world,
    paid_order,
    registers,
)
from support.otp_workers import record_store

pg_server = registers.pg_server
store = registers.store

OPERATOR = ByOperator(Actor("operator:ops-3"))


@dataclass
class Desk:
    """One CA's register and records, the two services over them, the SMS that went out."""

    world: World
    records: RecordStore
    sms: FakeSmsGateway
    certificates: CertificateService
    statuses: CertificateStatusService
    billing: BillingService

    def put(self, kind: RecordKind, value: Subscriber | Order) -> None:
        self.records.put(kind, value.id.value, value, at=T0)

    def last_code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.sms.sent[-1].text)
        assert found is not None
        return found.group(1)

    def application(self, **kw: Any) -> CertificateApplication:
        values: dict[str, Any] = {
            "csr": make_csr(fresh_key()),
            "subscriber": self.world.subscriber.id,
            "order": OrderId("ord-1"),
            "subject_sign_tool": SIGN_TOOL,
        }
        values.update(kw)
        return CertificateApplication(**values)


@pytest.fixture
def desk(store: Any, tmp_path: Path) -> Iterator[Desk]:
    world = make_world(store.open(), tmp_path)
    records = record_store(store.kind, store.location)  # PostgreSQL: a key=value DSN
    assert type(records).__name__ == (
        "SqliteRecordStore" if store.kind == "sqlite" else "PostgresRecordStore"
    )
    challenges = RecordChallengeStore(records, clock=world.clock)
    billing = BillingService(records, clock=world.clock, catalogue=CATALOGUE)
    sms = FakeSmsGateway()
    issuance = world.service(challenges=challenges, orders=billing)
    revocation = RevocationService(
        issuer=world.ca.issuer_id, register=world.register, challenges=challenges, clock=world.clock
    )
    common: dict[str, Any] = {
        "records": records,
        "challenges": challenges,
        "gateway": sms,
        "clock": world.clock,
        "random_bytes": secrets.token_bytes,
    }
    d = Desk(
        world,
        records,
        sms,
        CertificateService(issuance=issuance, **common),
        CertificateStatusService(revocation=revocation, **common),
        billing,
    )
    d.put(RecordKind.SUBSCRIBER, world.subscriber)
    d.put(RecordKind.ORDER, paid_order(world.subscriber.id, "ord-1", quantity=2))
    yield d
    records.close()


# --- issuance in two steps ------------------------------------------------------------------


def test_a_code_sent_for_an_application_issues_its_certificate(desk: Desk) -> None:
    application = desk.application()
    sent = desk.certificates.send_code(application)
    assert isinstance(sent, CodeSent)
    assert len(desk.sms.sent) == 1
    assert desk.sms.sent[0].phone == desk.world.subscriber.phone
    assert sent.expires_at > desk.world.clock.now()
    assert desk.world.register.order_usage(OrderId("ord-1")).live == 0  # nothing recorded yet

    result = desk.certificates.issue(application, desk.last_code())
    certificate = result.certificate
    certificate.verify_signed_by(desk.world.ca.certificate.public_key_info)
    assert result.record.subscriber == desk.world.subscriber.id
    assert result.record.order == OrderId("ord-1")
    assert desk.world.register.get_certificate(desk.world.ca.issuer_id, certificate.serial_number)
    # the order's life cycle is driven by the pipeline: the first of two starts fulfilment
    assert desk.billing.order("ord-1").state.value == "in_fulfilment"


def test_the_challenge_is_kept_under_its_id_and_under_the_application(desk: Desk) -> None:
    application = desk.application()
    sent = desk.certificates.send_code(application)
    by_id = desk.records.find(RecordKind.CHALLENGE, sent.challenge.value)
    binding = issuance_binding(application.csr, application.order, application.profile)
    pending = desk.records.find(RecordKind.CHALLENGE, issuance_pending_key(binding))
    assert isinstance(by_id, OtpChallenge)
    assert isinstance(pending, OtpChallenge)
    assert by_id.id == pending.id == sent.challenge
    assert by_id.binding_digest == binding.digest()
    assert by_id.created_at == T0  # the service's clock, not the wall clock
    assert desk.certificates.binding(application) == binding


def test_the_code_is_spent_by_the_issuance(desk: Desk) -> None:
    application = desk.application()
    sent = desk.certificates.send_code(application)
    desk.certificates.issue(application, desk.last_code())
    spent = desk.records.find(RecordKind.CHALLENGE, sent.challenge.value)
    assert isinstance(spent, OtpChallenge)
    assert spent.used_at == desk.world.clock.now()


def test_a_wrong_code_issues_nothing(desk: Desk) -> None:
    application = desk.application()
    desk.certificates.send_code(application)
    wrong = "000000" if desk.last_code() != "000000" else "111111"
    with pytest.raises(OtpRefused, match="wrong code"):
        desk.certificates.issue(application, wrong)
    assert desk.world.register.order_usage(OrderId("ord-1")).certificates == 0


def test_a_code_sent_for_one_application_does_not_issue_another(desk: Desk) -> None:
    """The pending challenge is found by what it confirms: another CSR, order or profile
    has none, and the code is not even tried."""
    application = desk.application()
    desk.certificates.send_code(application)
    code = desk.last_code()
    for other in (
        replace(application, csr=make_csr(fresh_key())),
        replace(application, profile="entrepreneur"),
    ):
        with pytest.raises(RecordNotFound, match="pending-"):
            desk.certificates.issue(other, code)
    assert desk.certificates.issue(application, code).record.order == OrderId("ord-1")


def test_issuing_without_a_code_sent_is_refused(desk: Desk) -> None:
    with pytest.raises(RecordNotFound):
        desk.certificates.issue(desk.application(), "123456")
    assert desk.sms.sent == []


# --- refused before any SMS ------------------------------------------------------------------


def test_an_unpaid_order_is_refused_before_any_sms(desk: Desk) -> None:
    desk.put(RecordKind.ORDER, paid_order(desk.world.subscriber.id, "ord-unpaid", paid=False))
    with pytest.raises(OrderNotPaid):
        desk.certificates.send_code(desk.application(order=OrderId("ord-unpaid")))
    assert desk.sms.sent == []
    assert desk.records.keys(RecordKind.CHALLENGE) == []


def test_an_unverified_subscriber_is_refused_before_any_sms(desk: Desk) -> None:
    from atlas_ca.domain.identifiers import MobilePhone
    from atlas_ca.domain.subscribers import SubscriberKind, register

    newcomer = register(
        SubscriberId("sub-new"), SubscriberKind.INDIVIDUAL, MobilePhone("+79161234500"), at=T0
    )
    desk.put(RecordKind.SUBSCRIBER, newcomer)
    desk.put(RecordKind.ORDER, paid_order(newcomer.id, "ord-new"))
    with pytest.raises(NotVerified):
        desk.certificates.send_code(
            desk.application(subscriber=newcomer.id, order=OrderId("ord-new"))
        )
    assert desk.sms.sent == []


def test_an_unknown_subscriber_or_order_names_the_missing_record(desk: Desk) -> None:
    with pytest.raises(RecordNotFound, match="no subscriber 'sub-nobody'"):
        desk.certificates.send_code(desk.application(subscriber=SubscriberId("sub-nobody")))
    with pytest.raises(RecordNotFound, match="no order 'ord-nothing'"):
        desk.certificates.send_code(desk.application(order=OrderId("ord-nothing")))
    assert desk.sms.sent == []


def test_an_organisation_must_be_a_verified_organisation(desk: Desk) -> None:
    other = verified_subscriber("sub-2", at=T0 - dt.timedelta(days=3))
    desk.put(RecordKind.SUBSCRIBER, other)
    application = desk.application(profile="legal-entity", organisation=OrganisationRef(other.id))
    with pytest.raises(InvalidInput, match="sub-2 is not an organisation"):
        desk.certificates.send_code(application)
    assert desk.sms.sent == []


def test_the_application_defaults_and_hides_the_csr() -> None:
    application = CertificateApplication(b"csr-bytes", SubscriberId("s-1"), OrderId("o-1"))
    assert application.profile == "individual"
    assert application.subject_sign_tool == DEFAULT_SIGN_TOOL
    assert "csr-bytes" not in repr(application)
    assert "654321" not in repr(SubscriberCode(SubscriberId("s-1"), "654321"))


# --- status changes -------------------------------------------------------------------------


def _issued(desk: Desk) -> int:
    application = desk.application()
    desk.certificates.send_code(application)
    return desk.certificates.issue(application, desk.last_code()).record.serial


def test_an_operator_revokes_at_once(desk: Desk) -> None:
    serial = _issued(desk)
    sms_before = len(desk.sms.sent)
    record = desk.statuses.revoke(serial, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR)
    assert record.status is CertificateStatus.REVOKED
    assert len(desk.sms.sent) == sms_before


def test_the_subscriber_suspends_and_resumes_with_a_code_each(desk: Desk) -> None:
    serial = _issued(desk)
    me = desk.world.subscriber.id
    desk.statuses.send_code(StatusAction.SUSPEND, serial, me)
    assert desk.records.find(
        RecordKind.CHALLENGE, status_pending_key(StatusAction.SUSPEND, serial, me)
    )
    suspended = desk.statuses.change(
        StatusAction.SUSPEND, serial, by=SubscriberCode(me, desk.last_code())
    )
    assert suspended.status is CertificateStatus.SUSPENDED
    with pytest.raises(RecordNotFound):  # no code was sent for a resumption
        desk.statuses.resume(serial, by=SubscriberCode(me, desk.last_code()))
    desk.statuses.send_code(StatusAction.RESUME, serial, me)
    resumed = desk.statuses.resume(serial, by=SubscriberCode(me, desk.last_code()))
    assert resumed.status is CertificateStatus.VALID


def test_a_subscriber_revocation_is_bound_to_its_reason(desk: Desk) -> None:
    serial = _issued(desk)
    me = desk.world.subscriber.id
    desk.statuses.send_code(StatusAction.REVOKE, serial, me, reason=RevocationReason.SUPERSEDED)
    code = desk.last_code()
    with pytest.raises(OtpRefused):
        desk.statuses.revoke(
            serial, reason=RevocationReason.KEY_COMPROMISE, by=SubscriberCode(me, code)
        )
    assert desk.world.register.get_certificate(desk.world.ca.issuer_id, serial).status is (
        CertificateStatus.VALID
    )


def test_another_subscriber_or_a_ca_reason_is_refused_before_any_sms(desk: Desk) -> None:
    serial = _issued(desk)
    other = verified_subscriber("sub-2", at=T0 - dt.timedelta(days=3))
    desk.put(RecordKind.SUBSCRIBER, other)
    sent = len(desk.sms.sent)
    with pytest.raises(CertificateNotOwned):
        desk.statuses.send_code(StatusAction.SUSPEND, serial, other.id)
    with pytest.raises(ReasonNotAllowed):
        desk.statuses.send_code(
            StatusAction.REVOKE,
            serial,
            desk.world.subscriber.id,
            reason=RevocationReason.CA_COMPROMISE,
        )
    assert len(desk.sms.sent) == sent

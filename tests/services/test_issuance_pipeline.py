"""The issuance pipeline on SQLite and PostgreSQL: the happy path, idempotency, every refusal,
serial collisions, an HSM failure, and the resolver after a crash at each step."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.domain.authorities import Authority, AuthorityRefused, HeadPerEgrul
from atlas_ca.domain.identifiers import InnLegal, Ogrn
from atlas_ca.domain.ids import AuthorityId, RegistrarId, SubscriberId
from atlas_ca.domain.otp import OtpRefused
from atlas_ca.domain.subscribers import NotVerified, SubscriberKind, register
from atlas_ca.errors import (
    CsrRejected,
    DuplicateIdempotencyKey,
    IssuanceFailed,
    LintFailed,
    OrderNotPaid,
    TokenUnavailable,
)
from atlas_ca.gost import streebog256
from atlas_ca.profiles.planning import Organisation, ProfileViolation
from atlas_ca.services.issuance import STEPS, IssuanceResult
from atlas_ca.services.ports import DirectoryOutbox
from atlas_ca.storage import CertificateStatus, IntentState
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.names import Name
from support.issuance_env import (
    CA_ORG,
    SIGN_TOOL,
    T0,
    FakeClock,
    World,
    make_csr,
    make_world,
    paid_order,
    registers,
    software_key,
)

pg_server = registers.pg_server
store = registers.store


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


def _all_intents(w: World) -> list[Any]:
    reg = w.register
    assert isinstance(reg, SqlRegister)
    with reg._db.read() as cur:
        return cur.all("SELECT serial, state FROM issuance_intents")


def _actions(w: World) -> list[str]:
    return [e.event.action for e in w.register.audit_events() if hasattr(e, "event")]


# --- the happy path ---------------------------------------------------------------------------


def test_an_issued_certificate_is_signed_by_the_ca_stored_and_audited(world: World) -> None:
    csr = make_csr(world.subscriber_key, common_name="Mallory")
    result = world.service().issue(world.request(csr=csr))
    cert = result.certificate
    cert.verify_signed_by(world.ca.certificate.public_key_info)
    assert cert.issuer == world.ca.certificate.subject
    assert cert.public_key_info == world.subscriber_key.public_key_info
    # The subject comes from the verified data, never from the CSR.
    assert "Иванов" in {a.value for a in cert.subject}
    assert all(a.value != "Mallory" for a in cert.subject)
    assert any("CSR" in w for w in result.warnings)
    record = world.register.get_certificate(world.ca.issuer_id, cert.serial_number)
    assert record.der == cert.der
    assert record.status is CertificateStatus.VALID
    assert record.order == world.order.id
    intent = world.register.get_intent(world.ca.issuer_id, cert.serial_number)
    assert intent.state is IntentState.COMPLETED
    assert intent.tbs_digest == streebog256(cert.tbs_der)
    assert world.steps == list(STEPS)
    assert list(world.outbox.entries()) == []
    assert _actions(world)[-2:] == ["issuance.intent", "certificate.issued"]
    assert not result.replayed


def test_the_one_time_code_is_spent_by_the_issuance(world: World) -> None:
    request = world.request()
    world.service().issue(request)
    challenge = world.challenges.get(request.confirmation.challenge)
    assert challenge.used_at == world.clock.now()


# --- idempotency -------------------------------------------------------------------------------


def test_a_retried_request_with_its_idempotency_key_returns_the_same_certificate(
    world: World,
) -> None:
    request = world.request(key="retry-key-0001")
    first = world.service().issue(request)
    world.clock.advance(minutes=1)
    again = world.service().issue(request)  # the same code: it is not checked again
    assert again.replayed
    assert again.certificate == first.certificate
    assert len(_all_intents(world)) == 1


def test_an_idempotency_key_reused_for_another_request_is_refused(
    world: World, tmp_path: Path
) -> None:
    world.service().issue(world.request(key="retry-key-0002"))
    other_key = software_key(tmp_path, "other-subscriber", "cryptopro-a")
    with pytest.raises(DuplicateIdempotencyKey, match="another public key"):
        world.service().issue(world.request(csr=make_csr(other_key), key="retry-key-0002"))
    other_order = paid_order(world.subscriber.id, "ord-2")
    with pytest.raises(DuplicateIdempotencyKey, match="different request"):
        world.service().issue(world.request(order=other_order, key="retry-key-0002"))


# --- refusals: each specific, nothing recorded ------------------------------------------------


def test_an_unverified_subscriber_is_refused_before_anything_is_recorded(world: World) -> None:
    newcomer = register(
        SubscriberId("sub-new"), SubscriberKind.INDIVIDUAL, world.subscriber.phone, at=T0
    )
    with pytest.raises(NotVerified, match="R3"):
        world.service().issue(world.request(subscriber=newcomer))
    assert _all_intents(world) == []


def test_an_unpaid_order_is_refused(world: World) -> None:
    unpaid = paid_order(world.subscriber.id, "ord-unpaid", paid=False)
    with pytest.raises(OrderNotPaid, match="R10") as info:
        world.service().issue(world.request(order=unpaid))
    assert info.value.context["state"] == "awaiting_payment"
    assert _all_intents(world) == []


def test_an_order_naming_someone_else_is_refused(world: World) -> None:
    theirs = paid_order(SubscriberId("sub-other"), "ord-other")
    with pytest.raises(OrderNotPaid, match="not named"):
        world.service().issue(world.request(order=theirs))


def test_a_wrong_code_is_refused_and_counted(world: World) -> None:
    request = world.request(code="000000")
    with pytest.raises(OtpRefused, match="wrong code") as info:
        world.service().issue(request)
    assert info.value.rule == "R7"
    assert world.challenges.get(request.confirmation.challenge).attempts == 1
    assert _all_intents(world) == []


def test_an_expired_code_is_refused(world: World) -> None:
    request = world.request()
    world.clock.advance(minutes=6)
    with pytest.raises(OtpRefused, match="expired"):
        world.service().issue(request)
    assert _all_intents(world) == []


def test_a_code_sent_for_another_csr_does_not_confirm_this_one(
    world: World, tmp_path: Path
) -> None:
    request = world.request()
    other = make_csr(software_key(tmp_path, "second", "cryptopro-a"))
    with pytest.raises(OtpRefused, match="another operation or other parameters"):
        world.service().issue(dataclasses.replace(request, csr=other))


def test_an_unreadable_csr_is_refused(world: World) -> None:
    with pytest.raises(CsrRejected, match="cannot be read"):
        world.service().issue(world.request(csr=make_csr(world.subscriber_key)[:-3]))


def test_a_csr_failing_proof_of_possession_is_refused(world: World) -> None:
    der = bytearray(make_csr(world.subscriber_key))
    der[-5] ^= 0x01  # inside the signature
    with pytest.raises(CsrRejected, match="proof of possession"):
        world.service().issue(world.request(csr=bytes(der)))


def test_a_profile_violation_is_refused_with_its_rule(world: World) -> None:
    # An individual's verified data has no ОГРНИП: the entrepreneur profile refuses.
    with pytest.raises(ProfileViolation) as info:
        world.service().issue(world.request(profile="entrepreneur"))
    assert info.value.rule
    assert _all_intents(world) == []


def test_an_expired_authority_refuses_a_certificate_naming_the_organisation(world: World) -> None:
    org = Organisation(
        'ООО "Ромашка"', Ogrn("1022502121476"), InnLegal("2539038819"), CA_ORG.address
    )
    authority = Authority(
        id=AuthorityId("auth-1"),
        person=world.subscriber.id,
        organisation=org.inn,
        position="Директор",
        basis=HeadPerEgrul(dt.date(2024, 1, 10)),
        valid_from=T0 - dt.timedelta(days=400),
        valid_until=T0 - dt.timedelta(days=1),
        verified_by=RegistrarId("reg-1"),
        verified_at=T0 - dt.timedelta(days=400),
    )
    with pytest.raises(AuthorityRefused, match="expired") as info:
        world.service().issue(
            world.request(
                profile="legal-entity", organisation=org, authorities=(authority,), title="Директор"
            )
        )
    assert info.value.rule == "R4"
    assert _all_intents(world) == []


def test_a_lint_error_refuses_with_the_findings(world: World) -> None:
    service = world.service()
    prepared = service.prepare(world.request(), at=world.clock.now())
    assert not isinstance(prepared, IssuanceResult)
    broken = dataclasses.replace(
        prepared,
        plan=dataclasses.replace(prepared.plan, subject=Name.build([]), extensions=()),
    )
    with pytest.raises(LintFailed) as info:
        service.lint(broken, 12345678901234567890)
    findings = info.value.context["findings"]
    assert findings
    assert all(f.code in str(info.value) for f in findings)


# --- serials -----------------------------------------------------------------------------------


def test_a_serial_collision_draws_a_new_serial(world: World) -> None:
    fixed = bytes.fromhex("8f" * 16)
    draws: list[int] = []

    def repeating(n: int) -> bytes:
        draws.append(n)
        if len(draws) <= 2:  # first issuance's serial, then the second's first draw: the same
            return fixed[:n]
        return bytes.fromhex("9a" * 16)[:n]

    first = world.service(random_bytes=repeating).issue(world.request())
    second = world.service(random_bytes=repeating).issue(world.request())
    assert first.certificate.serial_number == int.from_bytes(fixed, "big") & ((1 << 127) - 1)
    assert second.certificate.serial_number != first.certificate.serial_number
    assert len(draws) == 3


# --- failures while signing, and recovery -------------------------------------------------------


class _BrokenKey:
    """The CA key whose token disappears before the signature."""

    def __init__(self, key: Any) -> None:
        self._key = key

    key_type = KeyType.GOST3410_2012_256
    signature_algorithm = SignatureAlgorithm.GOST3410_2012_256

    @property
    def public_key_info(self) -> bytes:
        return bytes(self._key.public_key_info)

    @property
    def qualified_use_allowed(self) -> bool:
        return True

    def sign(self, data: bytes) -> bytes:
        raise TokenUnavailable("C_Sign on slot 0 (token 'ca'): CKR_DEVICE_REMOVED", call="C_Sign")


def test_a_failing_hsm_voids_the_intent_and_issues_nothing(world: World) -> None:
    broken_ca = dataclasses.replace(world.ca, key=_BrokenKey(world.ca.key))
    with pytest.raises(IssuanceFailed, match="intent was voided") as info:
        world.service(ca=broken_ca).issue(world.request())
    assert info.value.context["step"] == "sign"
    rows = _all_intents(world)
    assert [r[1] for r in rows] == ["voided"]
    assert world.register.certificates_of(world.subscriber.id) == []
    assert "issuance.voided" in _actions(world)


class Crash(BaseException):
    """Stands for the process dying at a step (kill -9 is in test_issuance_faults.py)."""


def _crash_at(step: str) -> Any:
    def hook(name: str) -> None:
        if name == step:
            raise Crash(name)

    return hook


@pytest.mark.parametrize(
    ("step", "expected"),
    [("record", "voided"), ("sign", "voided"), ("verify", "voided"), ("outbox", "completed")],
)
def test_the_resolver_completes_or_voids_an_intent_left_by_a_crash(
    world: World, step: str, expected: str
) -> None:
    with pytest.raises(Crash):
        world.service(on_step=_crash_at(step)).issue(world.request())
    [intent] = world.register.open_intents(world.ca.issuer_id)
    assert (len(list(world.outbox.entries())) == 1) == (expected == "completed")
    world.clock.advance(minutes=10)
    resolution = world.service().resolve_open_intents(older_than=dt.timedelta(minutes=5))
    assert world.register.open_intents() == []
    assert list(world.outbox.entries()) == []
    state = world.register.get_intent(world.ca.issuer_id, intent.serial).state
    assert state.value == expected
    if expected == "completed":
        assert resolution.completed == (intent.serial,)
        record = world.register.get_certificate(world.ca.issuer_id, intent.serial)
        Certificate.from_der(record.der).verify_signed_by(world.ca.certificate.public_key_info)
    else:
        assert resolution.voided == (intent.serial,)
        assert world.register.certificates_of(world.subscriber.id) == []


def test_the_resolver_leaves_young_intents_alone(world: World) -> None:
    with pytest.raises(Crash):
        world.service(on_step=_crash_at("sign")).issue(world.request())
    resolution = world.service().resolve_open_intents(older_than=dt.timedelta(minutes=5))
    assert len(resolution.skipped) == 1
    assert len(world.register.open_intents()) == 1


def test_an_outbox_file_left_after_the_commit_is_cleaned(world: World) -> None:
    result = world.service().issue(world.request())
    cert = result.certificate
    world.outbox.put(world.ca.issuer_id, cert.serial_number, cert.der)  # crash before removal
    resolution = world.service().resolve_open_intents()
    assert resolution.cleaned == (cert.serial_number,)
    assert list(world.outbox.entries()) == []


def test_the_resolver_voids_an_intent_whose_outbox_file_is_not_its_certificate(
    world: World,
) -> None:
    with pytest.raises(Crash):
        world.service(on_step=_crash_at("sign")).issue(world.request())
    [intent] = world.register.open_intents()
    other = world.service().issue(world.request()).certificate
    world.outbox.put(world.ca.issuer_id, intent.serial, other.der)  # wrong serial and digest
    resolution = world.service().resolve_open_intents()
    assert resolution.voided == (intent.serial,)


def test_the_clock_must_be_timezone_aware(world: World) -> None:
    naive = FakeClock(dt.datetime(2026, 11, 25, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        world.service(clock=naive).issue(world.request())


def test_sign_tool_is_what_the_request_names(world: World) -> None:
    cert = world.service().issue(world.request()).certificate
    assert SIGN_TOOL.encode() in cert.der


def test_a_durable_outbox_issues_the_same_way_and_leaves_no_files(
    world: World, tmp_path: Path
) -> None:
    durable = DirectoryOutbox(tmp_path / "durable-outbox", durable=True)
    with pytest.raises(Crash):
        world.service(outbox=durable, on_step=_crash_at("outbox")).issue(world.request())
    assert len(list(durable.entries())) == 1
    assert world.service(outbox=durable).resolve_open_intents().completed
    assert list((tmp_path / "durable-outbox").iterdir()) == []

"""The seed's customer journeys as acceptance tests through the facade, ``atlas_ca.open``, on
SQLite and on PostgreSQL: register → verify by a registrar (with the registrar's signature)
→ order on each entry point (R8) → pay (full, partial, over, from the balance, cash at each
seller) → issue → refund request before and after delivery → claim decision. Each asserts
what a person would see: the documents (certificate, signed record) and the balances."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import atlas_ca
from atlas_ca.algorithms import KeyType
from atlas_ca.app import AtlasCA
from atlas_ca.cli.demo.scenario import DEMO_CA, DEMO_CONFIG
from atlas_ca.domain.authorities import AuthorityRefused, HeadPerEgrul
from atlas_ca.domain.orders import ActivationKind, ActivationTarget
from atlas_ca.domain.registrars import RegistrarRefused
from atlas_ca.errors import AtlasCaError, InvalidInput, OrderNotPaid, Refused
from atlas_ca.services.attestation import AttestationRefused, decode_record
from atlas_ca.services.billing import (
    Claim,
    ClaimStatus,
    EntryPoint,
    PaymentMethod,
    RefundDecision,
    RequestChannel,
    SellerCode,
)
from atlas_ca.services.certificates import StatusAction
from atlas_ca.services.identity import new_registrar
from atlas_ca.storage.ports import CertificateStatus, RevocationReason
from support.app_env import (
    ANSWERS,
    PERSON,
    REGISTRAR,
    REGISTRAR_PERSON,
    Desk,
    Pki,
    new_csr,
    verified,
    write_config,
)
from support.atlas_testing import OpenSSL


def _wrong(code: str) -> str:
    return "111111" if code != "111111" else "222222"


def test_open_reads_the_operators_toml_and_opens_nothing_until_used(
    pki: Pki, tmp_path: Path
) -> None:
    config = write_config(pki, str(tmp_path / "r.sqlite"), tmp_path)
    with atlas_ca.open(config, environ={}) as ca:
        assert isinstance(ca, AtlasCA)
        assert ca.config.register == str(tmp_path / "r.sqlite")
        assert not (tmp_path / "r.sqlite").exists()  # lazily opened
        assert ca.now().tzinfo is not None  # the default clock is the real, aware one
    assert not (tmp_path / "r.sqlite").exists()


def test_one_issuance_service_per_instance_shared_by_threads(desk: Desk) -> None:
    """Issue 17: requests issuing through one AtlasCA share one service, so they share its
    group commit; created once even when threads ask for it together."""
    start = threading.Barrier(8)

    def get(_: int) -> object:
        start.wait(30)
        return desk.ca.issuance()

    with ThreadPoolExecutor(8) as pool:
        services = list(pool.map(get, range(8)))
    assert len({id(s) for s in services}) == 1
    assert desk.ca.issuance() is services[0]


def test_a_person_from_registration_to_a_certificate(
    desk: Desk, pki: Pki, tmp_path: Path, openssl_gost: OpenSSL
) -> None:
    ca = desk.ca
    sub = ca.add_subscriber("sub-1", phone="+79241112233", data=PERSON)
    assert sub.stage.value == "data_entered"
    assert "Кузнецов" not in repr(sub.data)  # R21: masked wherever it is shown
    # R5: a registrar verifies only after every registry confirmed the data
    with pytest.raises(Refused, match=r"\(R2, R5\)"):
        ca.verify_subscriber(
            "sub-1", registrar=REGISTRAR, key=pki.registrar_key, require_qualified=False
        )
    assert ca.record_checks("sub-1", ANSWERS).stage.value == "checks_passed"
    # R5: a key the registrar's certificate does not certify signs nothing: not verified
    with pytest.raises(AttestationRefused, match="R5"):
        ca.verify_subscriber(
            "sub-1", registrar=REGISTRAR, key=pki.other_key, require_qualified=False
        )
    assert ca.subscriber("sub-1").identification is None
    # ... and a software key is no qualified signature (R5) unless the caller says so (tests)
    with pytest.raises(AttestationRefused, match="certified HSM"):
        ca.verify_subscriber("sub-1", registrar=REGISTRAR, key=pki.registrar_key)
    assert ca.subscriber("sub-1").identification is None
    done = ca.verify_subscriber(
        "sub-1", registrar=REGISTRAR, key=pki.registrar_key, require_qualified=False
    )
    assert done.subscriber.identification is not None
    assert done.subscriber.identification.registrar.value == REGISTRAR
    # the signed record: what was verified, by whom; the GOST signature checks
    assert decode_record(done.attestation.record_der).subscriber.value == "sub-1"
    (tmp_path / "record.der").write_bytes(done.attestation.record_der)
    (tmp_path / "record.p7s").write_bytes(done.attestation.signature_der)
    cms = openssl_gost.run(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            tmp_path / "record.p7s",
            "-content",
            tmp_path / "record.der",
            "-CAfile",
            pki.ca_cert,
            "-out",
            tmp_path / "out",
        ],
        check=False,
    )
    assert cms.returncode == 0, cms.stderr

    order = ca.create_order("ord-1", "sub-1", ["kep-issue"])
    assert (order.state.value, str(order.total)) == ("awaiting_payment", "3600.00 ₽")
    csr = new_csr(tmp_path, "sub-1")
    with pytest.raises(OrderNotPaid, match="R10"):
        ca.send_issuance_code(csr, subscriber="sub-1", order="ord-1")
    assert desk.inbox.sent == []  # refused before any code was sent
    paid = ca.pay("ord-1", "sber-1", "3600.00", PaymentMethod.SBERBANK)
    assert paid.outcome.status.value == "paid_in_full"
    assert ca.pay("ord-1", "sber-1", "3600.00", PaymentMethod.SBERBANK).outcome.status.value == (
        "duplicate"
    )

    ca.send_issuance_code(csr, subscriber="sub-1", order="ord-1")
    assert str(desk.inbox.sent[-1][0]) == str(ca.subscriber("sub-1").phone)  # their phone (R7)
    result = ca.issue(csr, subscriber="sub-1", order="ord-1", code=desk.inbox.code())
    cert_path = tmp_path / "sub-1.pem"
    cert_path.write_bytes(result.certificate.pem())
    check = openssl_gost.run(["verify", "-CAfile", pki.ca_cert, cert_path], check=False)
    assert check.returncode == 0, check.stderr
    assert [r.status for r in ca.certificates_of("sub-1")] == [CertificateStatus.VALID]
    # the one certificate bought was delivered: the order is completed, nothing more issues
    assert ca.order("ord-1").state.value == "completed"
    with pytest.raises(AtlasCaError, match="R10"):
        ca.send_issuance_code(new_csr(tmp_path, "again"), subscriber="sub-1", order="ord-1")

    # revocation is published in the next CRL; the audit chain holds every step
    before = ca.publish_crl(operator="ops-3")  # (a PostgreSQL register is shared by tests)
    ca.revoke(result.record.serial, reason=RevocationReason.KEY_COMPROMISE, operator="ops-3")
    crl = ca.publish_crl(operator="ops-3")
    assert (crl.entries, crl.number) == (before.entries + 1, before.number + 1)
    assert crl.path.exists()
    assert ca.verify_audit().ok


def test_r4_a_registrar_never_verifies_an_authority_in_which_they_are_the_person(
    desk: Desk, pki: Pki
) -> None:
    """R4 (like R5 for identity): the check of an authority needs a second person."""
    verified(desk, pki, "sub-2")
    # R5: the registrar's own identity is verified by another registrar
    with pytest.raises(RegistrarRefused, match="R5"):
        verified(desk, pki, REGISTRAR_PERSON, phone="+79241112200")
    desk.ca.add_registrar(
        new_registrar(
            "reg-2",
            surname="Иванова",
            given_name="Ольга",
            office_id="office-vl",
            office_name="Владивосток, офис",
            certificate=pki.registrar_cert.der,
        )
    )
    desk.ca.verify_subscriber(
        REGISTRAR_PERSON, registrar="reg-2", key=pki.registrar_key, require_qualified=False
    )
    basis = HeadPerEgrul(dt.date(2026, 1, 10))
    start = desk.clock.now() - dt.timedelta(days=1)
    with pytest.raises(AuthorityRefused, match="R4") as refused:
        desk.ca.add_authority(
            "auth-own",
            person=REGISTRAR_PERSON,
            organisation="2536161885",
            position="Генеральный директор",
            basis=basis,
            valid_from=start,
            registrar=REGISTRAR,
        )
    assert refused.value.context["registrar"] == REGISTRAR
    found = desk.ca.add_authority(
        "auth-2",
        person="sub-2",
        organisation="2536161885",
        position="Генеральный директор",
        basis=basis,
        valid_from=start,
        registrar=REGISTRAR,
    )
    assert found.person.value == "sub-2"
    assert desk.ca.revoke_authority("auth-2", "полномочия прекращены").revoked_at is not None


@pytest.mark.parametrize(
    ("entry", "item"),
    [
        (EntryPoint.DIGITAL_PROFILE, "kep-issue"),
        (EntryPoint.SELF_SERVICE_SITE, "kep-issue"),
        (EntryPoint.IN_PROGRAM_QUICK_PURCHASE, "kep-issue"),
        (EntryPoint.IN_PROGRAM_BUY, "kavista-licence"),
    ],
)
def test_an_order_on_each_entry_point(desk: Desk, entry: EntryPoint, item: str) -> None:
    """R8: every entry point places the same kind of order; a registered, not yet verified
    person may order (R3: verification is needed for fulfilment)."""
    desk.ca.add_subscriber("sub-new", phone="+79241112234", data=PERSON)
    activation = (
        ActivationTarget(ActivationKind.ACCOUNT)
        if entry is EntryPoint.IN_PROGRAM_QUICK_PURCHASE
        else None
    )
    placed = desk.ca.create_order(
        "ord-e", "sub-new", [item], entry_point=entry, activation=activation
    )
    assert placed.entry_point is entry
    assert placed.state.value == "awaiting_payment"
    assert placed.total.is_positive
    assert [str(line.product) for line in placed.lines] == [item]
    with pytest.raises(Refused, match="R1"):
        desk.ca.create_order("ord-x", "nobody", [item], entry_point=entry, activation=activation)


def test_payments_full_partial_over_from_the_balance_and_cash_at_each_seller(
    desk: Desk, pki: Pki
) -> None:
    ca = desk.ca
    verified(desk, pki, "sub-3")
    # partial, then the rest
    ca.create_order("ord-p", "sub-3", ["kep-issue"])
    first = ca.pay("ord-p", "p-1", "1000.00")
    assert first.outcome.status.value == "partial"
    assert str(first.outcome.remainder) == "2600.00 ₽"
    assert ca.pay("ord-p", "p-2", "2600.00").outcome.status.value == "paid_in_full"
    assert ca.order("ord-p").state.value == "paid"
    # over: the surplus reaches the personal account, held by the seller (R12, R14)
    ca.create_order("ord-o", "sub-3", ["kep-issue"])
    over = ca.pay("ord-o", "p-3", "4000.00")
    assert str(over.outcome.surplus) == "400.00 ₽"
    account = ca.account("sub-3")
    assert str(account.balance) == "400.00 ₽"
    held = {k.value: str(v) for k, v in account.balances().items()}
    assert held == {"server-centr": "400.00 ₽", "atlas-2": "0.00 ₽"}
    # cash: only АО "Сервер-Центр" takes it (R13), on an order and on the account
    ca.create_order("ord-c", "sub-3", ["kep-issue"], method=PaymentMethod.CASH)
    assert ca.pay("ord-c", "kassa-1", "3600.00", PaymentMethod.CASH).outcome.status.value == (
        "paid_in_full"
    )
    with pytest.raises(AtlasCaError, match="R13"):
        ca.create_order(
            "ord-c2", "sub-3", ["kep-issue"], seller=SellerCode.ATLAS_2, method=PaymentMethod.CASH
        )
    with pytest.raises(AtlasCaError, match="R13"):
        ca.top_up(
            "sub-3", "kassa-2", "5000.00", seller=SellerCode.ATLAS_2, method=PaymentMethod.CASH
        )
    ca.top_up("sub-3", "kassa-3", "3200.00", method=PaymentMethod.CASH)
    assert str(ca.account("sub-3").balance) == "3600.00 ₽"
    # from the balance: what the order's seller holds pays it (R9, R12, R14)
    ca.create_order("ord-b", "sub-3", ["kep-issue"], method=PaymentMethod.ACCOUNT_BALANCE)
    paid = ca.pay_from_balance("ord-b")
    assert str(paid.amount) == "3600.00 ₽"
    assert paid.order.state.value == "paid"
    assert str(ca.account("sub-3").balance) == "0.00 ₽"
    # cash money never pays an order of АО "Атлас-2" through the balance (R13)
    ca.top_up("sub-3", "kassa-4", "3600.00", method=PaymentMethod.CASH)
    ca.create_order(
        "ord-a2",
        "sub-3",
        ["kep-issue"],
        seller=SellerCode.ATLAS_2,
        method=PaymentMethod.ACCOUNT_BALANCE,
    )
    with pytest.raises(AtlasCaError):
        ca.pay_from_balance("ord-a2")
    assert str(ca.account("sub-3").balance) == "3600.00 ₽"
    totals = ca.money_totals()
    assert totals.balanced
    assert str(totals.received) == "18000.00 ₽"


def test_refund_before_delivery_is_granted_and_ends_the_entitlement(
    desk: Desk, pki: Pki, tmp_path: Path
) -> None:
    ca = desk.ca
    verified(desk, pki, "sub-4")
    ca.create_order("ord-r", "sub-4", ["kep-issue:2"])
    ca.pay("ord-r", "p-r", "7200.00")
    outcome = ca.request_refund(
        "ЗВ-1", channel=RequestChannel.POST, order="ord-r", amount="1000.00"
    )
    assert isinstance(outcome.result, RefundDecision)
    assert (outcome.result.rule, str(outcome.result.amount)) == ("R16", "1000.00 ₽")
    assert outcome.order is not None
    assert outcome.order.state.value == "cancelled"
    # the rest of the order went to the account, where it stays refundable (R16)
    assert str(ca.account("sub-4").balance) == "6200.00 ₽"
    # the refund ended the entitlement: no code is sent, nothing is issued (R10, R16)
    with pytest.raises(AtlasCaError, match="R10"):
        ca.send_issuance_code(new_csr(tmp_path, "r"), subscriber="sub-4", order="ord-r")
    balance = ca.request_refund("ЗВ-2", channel=RequestChannel.POST, subscriber="sub-4")
    assert str(balance.result.amount) == "6200.00 ₽"  # type: ignore[union-attr]
    assert str(ca.account("sub-4").balance) == "0.00 ₽"
    with pytest.raises(InvalidInput, match="already assessed"):
        ca.request_refund("ЗВ-2", channel=RequestChannel.POST, subscriber="sub-4")
    assert ca.money_totals().balanced


def test_refund_after_delivery_is_a_claim_a_person_decides(
    desk: Desk, pki: Pki, tmp_path: Path
) -> None:
    ca = desk.ca
    verified(desk, pki, "sub-5")
    ca.create_order("ord-d", "sub-5", ["kep-issue:2"])
    ca.pay("ord-d", "p-d", "7200.00")
    csr = new_csr(tmp_path, "d")
    ca.send_issuance_code(csr, subscriber="sub-5", order="ord-d")
    ca.issue(csr, subscriber="sub-5", order="ord-d", code=desk.inbox.code())
    assert ca.order("ord-d").state.value == "in_fulfilment"  # one of two delivered
    # a request received before the delivery day is still assessed as of that day (R15, R16)
    desk.clock.advance(days=3)
    outcome = ca.request_refund("ЗВ-3", channel=RequestChannel.POST, order="ord-d")
    assert isinstance(outcome.result, Claim)
    assert outcome.result.status is ClaimStatus.PENDING
    assert outcome.result.rule == "R17"
    assert str(ca.account("sub-5").balance) == "0.00 ₽"  # nothing moves before the decision
    decided = ca.decide_claim(
        "ЗВ-3", approved="3600.00", reason="второй не выпущен", decided_by="ops-3"
    )
    assert isinstance(decided.result, Claim)
    assert decided.result.status is ClaimStatus.APPROVED
    assert decided.result.deadline is not None  # R18: 30 working days from the decision
    assert decided.order is not None
    assert str(decided.order.refunded) == "3600.00 ₽"
    # the approval ended the entitlement: the second certificate is not issued
    with pytest.raises(AtlasCaError, match="R10"):
        ca.send_issuance_code(new_csr(tmp_path, "d2"), subscriber="sub-5", order="ord-d")
    totals = ca.money_totals()
    assert totals.balanced
    assert str(totals.refunded) == "3600.00 ₽"
    # a denied claim changes no money
    ca.create_order("ord-d3", "sub-5", ["kep-issue"])
    ca.pay("ord-d3", "p-d3", "3600.00")
    csr3 = new_csr(tmp_path, "d3")
    ca.send_issuance_code(csr3, subscriber="sub-5", order="ord-d3")
    ca.issue(csr3, subscriber="sub-5", order="ord-d3", code=desk.inbox.code())
    ca.request_refund("ЗВ-4", channel=RequestChannel.SIGNED_EMAIL, order="ord-d3")
    before = ca.money_totals()
    denied = ca.decide_claim("ЗВ-4", approved=None, reason="услуга оказана", decided_by="ops-3")
    assert denied.result.status is ClaimStatus.DENIED  # type: ignore[union-attr]
    assert ca.money_totals() == before


def test_a_subscriber_suspends_and_revokes_their_own_certificate_with_a_code(
    desk: Desk, pki: Pki, tmp_path: Path
) -> None:
    """63-ФЗ art. 14 through the facade: the subscriber's own request is confirmed by a code
    bound to the action and the serial (R7); an operator needs none."""
    ca = desk.ca
    verified(desk, pki, "sub-6")
    ca.create_order("ord-s", "sub-6", ["kep-issue"])
    ca.pay("ord-s", "p-s", "3600.00")
    csr = new_csr(tmp_path, "s")
    ca.send_issuance_code(csr, subscriber="sub-6", order="ord-s")
    serial = ca.issue(csr, subscriber="sub-6", order="ord-s", code=desk.inbox.code()).record.serial
    ca.send_status_code(StatusAction.SUSPEND, serial, subscriber="sub-6")
    with pytest.raises(AtlasCaError, match="R7"):
        ca.suspend(serial, subscriber="sub-6", code=_wrong(desk.inbox.code()))
    held = ca.suspend(serial, subscriber="sub-6", code=desk.inbox.code())
    assert held.status is CertificateStatus.SUSPENDED
    assert ca.resume(serial, operator="ops-3").status is CertificateStatus.VALID
    with pytest.raises(InvalidInput, match="operator or by the subscriber"):
        ca.revoke(serial, operator="ops-3", subscriber="sub-6", code="1")
    before = ca.publish_crl(operator="ops-3")
    ca.send_status_code(
        StatusAction.REVOKE, serial, subscriber="sub-6", reason=RevocationReason.SUPERSEDED
    )
    gone = ca.revoke(
        serial, reason=RevocationReason.SUPERSEDED, subscriber="sub-6", code=desk.inbox.code()
    )
    assert gone.status is CertificateStatus.REVOKED
    assert ca.publish_crl(operator="ops-3").entries == before.entries + 1


def test_the_facade_self_signs_a_new_root(pki: Pki, tmp_path: Path) -> None:
    """CA setup through the facade: the configured key is generated, the root self-signed,
    written once, kept in the register, and the CA opens on it."""
    uri = f"file:{tmp_path / 'new-ca.key'}?pin-source=file:{tmp_path / 'new.pw'}"
    (tmp_path / "new.pw").write_text("pw")
    config = dataclasses.replace(
        atlas_ca.load_config(None, environ={}),
        register=str(tmp_path / "r.sqlite"),
        key_uri=uri,
        certificate=tmp_path / "new-ca.pem",
        ca_profile=dataclasses.replace(DEMO_CONFIG, allow_unqualified_keys=True),
    )
    with atlas_ca.open(config) as ca:
        root = ca.create_root(DEMO_CA, generate=KeyType.GOST3410_2012_256)
        assert (tmp_path / "new-ca.pem").read_bytes() == root.certificate.pem()
        assert [c.der for c in ca.register.ca_certificates(root.issuer_id)] == [
            root.certificate.der
        ]
        assert ca.ca.issuer_id == root.issuer_id
        with pytest.raises(InvalidInput, match="never overwritten"):
            ca.create_root(DEMO_CA)


def test_the_facade_never_shows_the_registers_password() -> None:
    """A PostgreSQL DSN may hold a password: neither the config's repr nor the facade's shows
    it (nor the CA key's URI, which may name a PIN file)."""
    config = atlas_ca.AtlasConfig(
        register="postgresql://atlas:s3cret@db.example/atlas", key_uri="pkcs11:pin-value=1234"
    )
    for shown in (repr(config), repr(atlas_ca.AtlasCA(config))):
        assert "s3cret" not in shown
        assert "1234" not in shown
    assert repr(atlas_ca.AtlasCA(config)) == "AtlasCA(register=postgresql:…)"

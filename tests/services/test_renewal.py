"""Remote renewal (R20): a CSR in a GOST CAdES-BES SignedData signed with the current key."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.domain.subscribers import PersonName
from atlas_ca.errors import (
    RenewalAnotherPerson,
    RenewalDataChanged,
    RenewalNotBought,
    RenewalRefused,
    RenewalSignerExpired,
    RenewalSignerRevoked,
    RenewalSignerUntrusted,
)
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.trust import PathValidator
from atlas_ca.x509.certificate import Certificate
from support.issuance_env import World, make_csr, make_world, registers
from support.renewal_env import Renewal, ca_crl, make_renewal

pg_server = registers.pg_server
store = registers.store


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


@pytest.fixture
def renewal(world: World, tmp_path: Path) -> Renewal:
    return make_renewal(world, tmp_path)


def _usage(r: Renewal) -> int:
    return r.world.register.order_usage(r.order.id).live


def test_a_valid_subscriber_renews_remotely_through_the_normal_pipeline(renewal: Renewal) -> None:
    steps_before = len(renewal.world.steps)
    result = renewal.service().renew(renewal.request())
    new = result.certificate
    assert result.record.subscriber == renewal.world.subscriber.id
    assert result.record.order == renewal.order.id
    assert new.public_key_info == renewal.new_key.public_key_info
    assert new.subject == renewal.current.subject  # unchanged verified data (R6)
    assert new.serial_number != renewal.current.serial_number
    assert renewal.world.steps[steps_before:] == [
        "prepare", "lint", "confirm", "record", "sign", "verify", "outbox", "store",
    ]  # fmt: skip
    # the new certificate validates up to the CA like the old one
    PathValidator([renewal.world.ca.certificate.der], crls=[ca_crl(renewal.world)]).validate(
        new, at=renewal.world.clock.now()
    )


def test_a_revoked_signer_is_refused_and_nothing_is_recorded_nor_the_code_spent(
    renewal: Renewal,
) -> None:
    request = renewal.request()
    with pytest.raises(RenewalSignerRevoked) as info:
        renewal.service(renewal.current).renew(request)
    assert info.value.context["reason"] == "revoked"
    assert _usage(renewal) == 0
    renewal.service().renew(request)  # the same code still confirms once the CRL says good
    assert _usage(renewal) == 1


def test_an_expired_signer_is_refused(renewal: Renewal) -> None:
    renewal.world.clock.current = renewal.current.not_after + dt.timedelta(days=1)
    with pytest.raises(RenewalSignerExpired) as info:
        renewal.service().renew(renewal.request())
    assert info.value.context["reason"] == "expired"


def test_without_the_cas_crl_the_signers_revocation_is_unknown_and_refused(
    renewal: Renewal,
) -> None:
    stale = ca_crl(renewal.world, at=renewal.world.clock.now() - dt.timedelta(days=30))
    with pytest.raises(RenewalSignerUntrusted) as info:
        renewal.service(crl=stale).renew(renewal.request())
    assert info.value.context["check"] == "revocation-info"


def test_a_certificate_of_another_subscriber_is_another_person(renewal: Renewal) -> None:
    other = verified_subscriber("sub-2", at=renewal.world.clock.now() - dt.timedelta(days=3))
    from support.renewal_env import renewal_order

    with pytest.raises(RenewalAnotherPerson) as info:
        renewal.service().renew(
            renewal.request(subscriber=other, order=renewal_order(other.id, "ord-2"))
        )
    assert info.value.context["reason"] == "another-person"


def test_changed_verified_data_sends_the_person_back_to_verification(renewal: Renewal) -> None:
    sub = renewal.world.subscriber
    assert sub.data is not None
    married = dataclasses.replace(
        sub,
        data=dataclasses.replace(
            sub.data,  # type: ignore[type-var]
            name=PersonName("Петрова", "Мария", "Ивановна"),
        ),
    )
    with pytest.raises(RenewalDataChanged) as info:
        renewal.service().renew(renewal.request(subscriber=married))
    assert "R2" in str(info.value)
    assert "surname" in info.value.context["fields"]
    assert _usage(renewal) == 0


def test_an_order_without_a_renewal_line_is_refused(renewal: Renewal) -> None:
    with pytest.raises(RenewalNotBought):
        renewal.service().renew(renewal.request(order=renewal.world.order))


def test_a_tampered_request_fails_its_signature(renewal: Renewal) -> None:
    request = renewal.request()
    tampered = bytearray(request.signed_request)
    tampered[-10] ^= 0x01  # inside the signature value (the SignerInfo's last element)
    with pytest.raises(RenewalRefused) as info:
        renewal.service().renew(dataclasses.replace(request, signed_request=bytes(tampered)))
    assert info.value.context["reason"] == "signature"
    assert _usage(renewal) == 0


def test_a_request_for_the_same_key_is_refused(renewal: Renewal) -> None:
    same = renewal.signed(csr=make_csr(renewal.world.subscriber_key))
    with pytest.raises(RenewalRefused) as info:
        renewal.service().renew(renewal.request(same))
    assert info.value.context["reason"] == "same-key"


def test_a_certificate_not_issued_by_the_trusted_ca_is_untrusted(
    renewal: Renewal, tmp_path: Path
) -> None:
    from support.issuance_env import make_ca, software_key

    rogue = make_ca(software_key(tmp_path, "rogue"))
    forged: Certificate = rogue.certificate
    signed = renewal.signed(key=rogue.key, certificate=forged)
    with pytest.raises(RenewalSignerUntrusted):
        renewal.service().renew(renewal.request(signed))

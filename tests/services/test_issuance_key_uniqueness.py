"""A public key is certified once by a CA (63-ФЗ ст. 13; docs/register.md): the CSR of one
subscriber cannot get another subscriber a certificate, nor the same subscriber a second one;
the refusal comes at *prepare*, before the code is spent; the key's fingerprint does not depend
on how its SubjectPublicKeyInfo is encoded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.errors import KeyAlreadyCertified
from atlas_ca.gost import GostPublicKey
from atlas_ca.gost.params import CRYPTOPRO_A, TC26_256_B
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import serial_text
from atlas_ca.x509.key_identity import public_key_fingerprint
from atlas_ca.x509.keys import PublicKeyInfo
from support.issuance_env import (
    T0,
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


def test_a_csr_of_one_subscriber_cannot_certify_its_key_to_another(world: World) -> None:
    csr = make_csr(world.subscriber_key)
    first = world.service().issue(world.request(csr=csr))
    bob = verified_subscriber("sub-0002", at=T0 - dt.timedelta(days=3))
    bobs_order = paid_order(bob.id, "ord-bob")
    request = world.request(csr=csr, subscriber=bob, order=bobs_order)
    world.steps.clear()
    with pytest.raises(KeyAlreadyCertified) as info:
        world.service().issue(request)
    assert info.value.context["serial"] == serial_text(first.record.serial)
    assert world.steps == []  # refused at prepare: nothing linted, recorded or signed
    assert world.challenges.get(request.confirmation.challenge).used_at is None  # code kept
    assert world.register.certificates_of(bob.id) == []
    assert world.register.order_usage(bobs_order.id).live == 0


def test_the_same_subscriber_needs_a_new_key_for_a_new_certificate(world: World) -> None:
    csr = make_csr(world.subscriber_key)
    world.service().issue(world.request(csr=csr))
    with pytest.raises(KeyAlreadyCertified, match="new key pair"):
        world.service().issue(world.request(csr=make_csr(world.subscriber_key, "Другое Имя")))
    other_key = software_key(world.outbox.directory.parent, "renewal", "cryptopro-a")
    renewed = world.service().issue(world.request(csr=make_csr(other_key)))
    assert len(world.register.certificates_of(world.subscriber.id)) == 2
    assert renewed.record.serial != 0


def test_one_key_has_one_fingerprint_whatever_its_encoding(tmp_path: Path) -> None:
    key = GostPublicKey.from_spki_der(software_key(tmp_path, "k", "cryptopro-a").public_key_info)
    assert key.param_set is CRYPTOPRO_A
    canonical = key.spki_der()  # CryptoPro-A with its digestParamSet
    alias = GostPublicKey(TC26_256_B, key.x, key.y).spki_der()  # the same curve's TC26 name
    bare = asn1_gost.encode_spki(  # the digestParamSet left out
        CRYPTOPRO_A.algorithm_oid.dotted, CRYPTOPRO_A.oid.dotted, None, key.to_bytes()
    )
    assert len({canonical, alias, bare}) == 3
    prints = {public_key_fingerprint(PublicKeyInfo.from_der(d)) for d in (canonical, alias, bare)}
    assert len(prints) == 1
    other = software_key(tmp_path, "other", "cryptopro-a").public_key_info
    assert public_key_fingerprint(PublicKeyInfo.from_der(other)) not in prints

"""The signature of a new certificate is verified once, in the pipeline's *verify* step, against
the CA certificate's key (issue 17: the signing call no longer verifies it a second time). A
key that returns a wrong signature is caught there: the intent is voided, nothing is issued."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.errors import IssuanceFailed
from atlas_ca.hsm.base import SigningKey
from support.issuance_env import World, fresh_key, make_world, registers

store = registers.store
pg_server = registers.pg_server


class _WrongSigner:
    """The CA's public half, but signatures made by another (real) key."""

    key_type = KeyType.GOST3410_2012_256
    signature_algorithm = SignatureAlgorithm.GOST3410_2012_256

    def __init__(self, ca_key: SigningKey) -> None:
        self._public = ca_key.public_key_info
        self._other = fresh_key()
        self.signed = 0

    @property
    def public_key_info(self) -> bytes:
        return self._public

    @property
    def qualified_use_allowed(self) -> bool:
        return True

    def sign(self, data: bytes) -> bytes:
        self.signed += 1
        return self._other.sign(data)


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    return make_world(store.open(), tmp_path)


def test_a_signature_that_does_not_verify_is_refused_at_verify_and_voids_the_intent(
    world: World,
) -> None:
    key = _WrongSigner(world.ca.key)
    steps: list[str] = []
    service = world.service(ca=dataclasses.replace(world.ca, key=key), on_step=steps.append)
    with pytest.raises(IssuanceFailed, match="does not verify") as info:
        service.issue(world.request())
    assert key.signed == 1  # the token did sign: the check that refused it is the verify step
    assert info.value.context["step"] == "verify"
    assert steps == ["prepare", "lint", "confirm", "record", "sign"]
    assert world.register.open_intents() == []
    assert world.register.certificates_of(world.subscriber.id) == []
    assert list(world.outbox.entries()) == []
    usage = world.register.order_usage(world.order.id)
    assert (usage.voided, usage.completed, usage.open) == (1, 0, 0)

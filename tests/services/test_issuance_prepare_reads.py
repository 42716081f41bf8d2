"""Issue 17: *prepare* reads the register once per request (Register.issuance_reads: the
earlier request under the idempotency key, the order's live intents, the holder of the key) —
and still refuses as before: R10 before the key's uniqueness, a replay before either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas_ca.errors import KeyAlreadyCertified
from atlas_ca.services.issuance import PreparedIssuance
from support.issuance_env import World, make_world, registers

store = registers.store
pg_server = registers.pg_server

_SEPARATE_READS = ("find_idempotent", "order_usage", "key_holder")


class _CountingRegister:
    """The register, counting its read transactions by method."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name in (*_SEPARATE_READS, "issuance_reads") and callable(value):

            def counted(*args: Any, **kw: Any) -> Any:
                self.calls.append(name)
                return value(*args, **kw)

            return counted
        return value


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    return make_world(store.open(), tmp_path)


@pytest.mark.parametrize("idempotent", [False, True])
def test_prepare_reads_the_register_once(world: World, idempotent: bool) -> None:
    counting = _CountingRegister(world.register)
    service = world.service(register=counting)
    request = world.request(key="idem-prepare-reads" if idempotent else None)
    prepared = service.prepare(request, at=world.clock.now())
    assert isinstance(prepared, PreparedIssuance)
    assert counting.calls == ["issuance_reads"]  # one read transaction, not two or three
    if idempotent:  # the replay is found in the same single read
        service.issue(request)
        counting.calls.clear()
        replay = world.service(register=counting).issue(
            world.request(csr=request.csr, key="idem-prepare-reads")
        )
        assert replay.replayed
        assert counting.calls == ["issuance_reads"]


def test_a_certified_key_is_still_refused_before_the_code_is_spent(world: World) -> None:
    service = world.service()
    request = world.request()
    service.issue(request)
    again = world.request(csr=request.csr)
    with pytest.raises(KeyAlreadyCertified):
        service.prepare(again, at=world.clock.now())

"""R10 in the issuance pipeline, on SQLite and PostgreSQL: an order gives exactly the certificates
it bought (issued and in-progress issuances count), to the persons it names; a refusal comes
before anything is recorded, signed or any code spent; a retry of an issued request under its
idempotency key still returns its certificate; concurrent requests on the last unit give one
certificate."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.domain.entitlements import certificates_fulfilled
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.orders import Order, complete_order, start_fulfilment
from atlas_ca.errors import DomainError, IssuanceFailed, OrderExhausted, OrderNotPaid
from atlas_ca.services.billing import BillingService, RefundDecision, RequestChannel
from atlas_ca.services.issuance import IssuanceRequest, IssuanceResult
from atlas_ca.services.ports import DirectoryOutbox
from atlas_ca.storage import IntentState, OrderUsage
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import RecordKind
from atlas_ca.storage.sqlite import SqliteRecordStore
from support import issuance_workers
from support.issuance_env import T0, World, fresh_key, make_csr, make_world, paid_order, registers

pg_server = registers.pg_server
store = registers.store


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


def _intents(w: World) -> list[tuple[str, str]]:
    reg = w.register
    assert isinstance(reg, SqlRegister)
    with reg._db.read() as cur:
        return [(r[0], r[1]) for r in cur.all("SELECT serial, state FROM issuance_intents")]


def test_an_order_for_one_issuance_gives_exactly_one_certificate(world: World) -> None:
    order = paid_order(world.subscriber.id, "ord-one")
    first = world.service().issue(world.request(order=order))
    assert first.record.order == order.id

    world.steps.clear()
    second = world.request(order=order)
    with pytest.raises(OrderExhausted, match="R10") as info:
        world.service().issue(second)
    error = info.value
    assert isinstance(error, DomainError)
    assert error.rule == "R10"
    assert (error.context["bought"], error.context["used"]) == (1, 1)
    assert "bought 1 certificate(s) and 1 are issued" in str(error)
    # refused at *prepare*: nothing recorded or signed, the second code not spent
    assert world.steps == []
    assert len(_intents(world)) == 1
    assert world.challenges.get(second.confirmation.challenge).used_at is None
    usage = world.register.order_usage(order.id)
    assert usage == OrderUsage(order.id, open=0, completed=1, voided=0, certificates=1)
    assert certificates_fulfilled(order, issued=usage.certificates)


def test_an_order_for_two_issuances_gives_two(world: World) -> None:
    order = paid_order(world.subscriber.id, "ord-two", quantity=2)
    serials = {world.service().issue(world.request(order=order)).record.serial for _ in range(2)}
    assert len(serials) == 2
    with pytest.raises(OrderExhausted):
        world.service().issue(world.request(order=order))
    assert len(_intents(world)) == 2


def test_two_named_people_share_the_units_the_order_bought(world: World) -> None:
    bob = verified_subscriber("sub-bob", at=T0 - dt.timedelta(days=3))
    people = (world.subscriber.id, bob.id)
    order = paid_order(world.subscriber.id, "ord-pair", quantity=2, recipients=people)
    mine = world.service().issue(world.request(order=order))
    bob_request = world.request(order=order, subscriber=bob)
    bob_request = _confirmed_for(world, bob_request, bob.id)
    theirs = world.service().issue(bob_request)
    assert (mine.record.subscriber, theirs.record.subscriber) == people
    with pytest.raises(OrderExhausted):
        world.service().issue(world.request(order=order))

    # one issuance bought for two people: one certificate, to whoever asks first
    single = paid_order(world.subscriber.id, "ord-pair-1", recipients=people)
    world.service().issue(
        _confirmed_for(world, world.request(order=single, subscriber=bob), bob.id)
    )
    with pytest.raises(OrderExhausted):
        world.service().issue(world.request(order=single))


def _confirmed_for(world: World, request: IssuanceRequest, subscriber: Any) -> IssuanceRequest:
    """``request`` with a one-time code sent to ``subscriber`` (not the world's subscriber)."""
    from dataclasses import replace

    from atlas_ca.services.issuance import OtpConfirmation, issuance_binding

    binding = issuance_binding(request.csr, request.order, request.profile)
    challenge, code = world.challenge(binding, subscriber)
    return replace(request, confirmation=OtpConfirmation(challenge.id, code))


def test_a_person_not_named_in_the_order_is_refused(world: World) -> None:
    stranger = verified_subscriber("sub-stranger", at=T0 - dt.timedelta(days=3))
    order = paid_order(world.subscriber.id, "ord-mine", quantity=5)
    request = _confirmed_for(world, world.request(order=order, subscriber=stranger), stranger.id)
    with pytest.raises(OrderNotPaid, match="not named"):
        world.service().issue(request)
    assert _intents(world) == []


def test_a_completed_order_issues_nothing_more(world: World) -> None:
    order = paid_order(world.subscriber.id, "ord-closed", quantity=3)
    world.service().issue(world.request(order=order))
    closed = complete_order(start_fulfilment(order, T0), T0)
    with pytest.raises(OrderExhausted, match="completed") as info:
        world.service().issue(world.request(order=closed))
    assert info.value.context["state"] == "completed"
    assert len(_intents(world)) == 1


def test_a_retry_of_an_issued_request_returns_its_certificate_not_a_refusal(world: World) -> None:
    order = paid_order(world.subscriber.id, "ord-retry")
    request = world.request(order=order, key="entitlement-retry-01")
    first = world.service().issue(request)
    world.clock.advance(minutes=1)
    again = world.service().issue(request)
    assert again.replayed
    assert again.certificate == first.certificate
    with pytest.raises(OrderExhausted):  # a new request (new key) is refused
        world.service().issue(world.request(order=order, key="entitlement-retry-02"))
    assert len(_intents(world)) == 1


class _FullOutbox(DirectoryOutbox):
    """An outbox whose disk is full: the signed certificate cannot be kept."""

    def put(self, issuer: Any, serial: int, der: bytes) -> None:
        raise OSError(28, "No space left on device")


def test_an_issuance_that_failed_gives_its_unit_back(world: World, tmp_path: Path) -> None:
    order = paid_order(world.subscriber.id, "ord-void")
    broken = world.service(outbox=_FullOutbox(tmp_path / "full"))
    with pytest.raises(IssuanceFailed, match="intent was voided"):
        broken.issue(world.request(order=order))
    assert [s for _, s in _intents(world)] == [IntentState.VOIDED.value]
    issued = world.service().issue(world.request(order=order))
    assert issued.record.order == order.id
    assert world.register.order_usage(order.id).live == 1


@pytest.mark.parametrize("requests", [2, 6])
def test_concurrent_requests_on_the_last_unit_give_exactly_one_certificate(
    store: Any, world: World, requests: int
) -> None:
    """Every request passes *prepare* (the count says one unit is left) and spends its code
    before any records: the register's count in the recording transaction decides."""
    order = paid_order(world.subscriber.id, "ord-race")
    prepared = [world.request(order=order, csr=make_csr(fresh_key())) for _ in range(requests)]
    all_confirmed = threading.Barrier(requests)

    def wait_for_the_others(step: str) -> None:
        if step == "confirm":
            all_confirmed.wait(60)

    def attempt(request: IssuanceRequest) -> IssuanceResult | OrderExhausted:
        service = world.service(register=store.open(), on_step=wait_for_the_others)
        try:
            return service.issue(request)
        except OrderExhausted as exc:
            return exc

    with ThreadPoolExecutor(requests) as pool:
        outcomes = list(pool.map(attempt, prepared))
    issued = [o for o in outcomes if isinstance(o, IssuanceResult)]
    refused = [o for o in outcomes if isinstance(o, OrderExhausted)]
    assert (len(issued), len(refused)) == (1, requests - 1)
    assert all(e.rule == "R10" and e.context["bought"] == 1 for e in refused)
    assert [s for _, s in _intents(world)] == [IntentState.COMPLETED.value]
    certificates = world.register.certificates_of(world.subscriber.id)
    assert [c.serial for c in certificates] == [issued[0].record.serial]
    assert list(world.outbox.entries()) == []


@pytest.mark.slow
def test_processes_racing_for_the_last_unit_give_exactly_one_certificate(
    store: Any, world: World, tmp_path: Path
) -> None:
    processes = 3
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        barrier = manager.Barrier(processes)
        args = (store.kind, store.location, str(tmp_path), "ord-race-proc", barrier)
        outcomes = pool.starmap_async(issuance_workers.issue_on_order, [args] * processes).get(
            timeout=300
        )
    issued = [o["serial"] for o in outcomes if "serial" in o]
    refused = [o for o in outcomes if "refused" in o]
    assert len(issued) == 1
    assert refused == [{"refused": "R10", "bought": 1}] * (processes - 1)
    usage = world.register.order_usage(OrderId("ord-race-proc"))
    assert (usage.open, usage.completed, usage.certificates) == (0, 1, 1)
    assert [c.serial for c in world.register.certificates_of(world.subscriber.id)] == issued


# --- the order life cycle driven by the pipeline (issue 12) -------------------------------------


def _billing(world: World, tmp_path: Path, order: Order) -> BillingService:
    records = SqliteRecordStore(tmp_path / "records.sqlite", opened_at=T0)
    records.put(RecordKind.SUBSCRIBER, world.subscriber.id.value, world.subscriber, at=T0)
    records.put(RecordKind.ORDER, order.id.value, order, at=T0)
    return BillingService(records, clock=world.clock)


def test_the_first_certificate_starts_fulfilment_and_the_last_completes_the_order(
    world: World, tmp_path: Path
) -> None:
    order = paid_order(world.subscriber.id, "ord-two", quantity=2)
    billing = _billing(world, tmp_path, order)
    service = world.service(orders=billing)
    first = service.issue(world.request(order=order))
    assert first.warnings == () or all("not updated" not in w for w in first.warnings)
    assert billing.order("ord-two").state.value == "in_fulfilment"
    service.issue(world.request(order=order))
    completed = billing.order("ord-two")
    assert completed.state.value == "completed"
    assert completed.completed_at == world.clock.now()
    with pytest.raises(OrderExhausted, match="completed"):
        service.issue(world.request(order=order))


def test_a_refund_written_after_the_caller_read_the_order_ends_the_entitlement(
    world: World, tmp_path: Path
) -> None:
    """Issue 12: the request carries the order as the caller read it (paid); the refund granted
    since then is seen at *prepare*, before any code is spent or anything recorded."""
    order = paid_order(world.subscriber.id, "ord-refund")
    billing = _billing(world, tmp_path, order)
    granted = billing.request_refund("zv-1", channel=RequestChannel.POST, order_id="ord-refund")
    assert isinstance(granted.result, RefundDecision)
    request = world.request(order=order)  # the stale, paid order
    with pytest.raises(OrderNotPaid, match="cancelled"):
        world.service(orders=billing).issue(request)
    assert world.steps == []
    assert world.register.order_usage(OrderId("ord-refund")).live == 0

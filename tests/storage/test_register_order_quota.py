"""The register's side of an order's certificate entitlement (R10), on SQLite and PostgreSQL:
``order_usage`` counts an order's intents and certificates, and ``record_intent`` with an
``order_quota`` refuses an intent beyond it — counted in the recording transaction, under the
order's lock, so concurrent requests never both take the order's last unit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from atlas_ca.domain.ids import OrderId
from atlas_ca.errors import OrderQuotaReached, Refused, StorageError
from atlas_ca.storage import IdempotencyKey, IntentState, NewIntent, OrderUsage
from atlas_ca.storage._sql import SqlRegister
from support.registers import ACTOR, ISSUER, OTHER_ISSUER, Store, issued, new_intent

ORDER = OrderId("ord-quota-1")


def intent(serial: int, **kw: object) -> NewIntent:
    values: dict[str, object] = {"order": ORDER}
    values.update(kw)
    return new_intent(serial, **values)  # type: ignore[arg-type]


def test_order_usage_counts_intents_by_state_and_certificates_across_issuers(
    register: SqlRegister,
) -> None:
    assert register.order_usage(ORDER) == OrderUsage(ORDER, 0, 0, 0, 0)
    done = intent(1)
    register.record_intent(done, actor=ACTOR)
    register.complete_intent(issued(done), actor=ACTOR)
    register.record_intent(intent(2, issuer=OTHER_ISSUER), actor=ACTOR)  # open, another CA key
    register.record_intent(intent(3), actor=ACTOR)
    register.void_intent(ISSUER, 3, at=done.created_at, actor=ACTOR)
    register.record_intent(new_intent(4), actor=ACTOR)  # another order
    usage = register.order_usage(ORDER)
    assert usage == OrderUsage(ORDER, open=1, completed=1, voided=1, certificates=1)
    assert usage.live == 2


def test_an_intent_beyond_the_quota_is_refused_and_nothing_is_recorded(
    register: SqlRegister,
) -> None:
    for serial in (1, 2):
        assert register.record_intent(intent(serial, order_quota=2), actor=ACTOR).created
    head = register.audit_head()
    with pytest.raises(OrderQuotaReached) as info:
        register.record_intent(intent(3, order_quota=2), actor=ACTOR)
    error = info.value
    assert isinstance(error, StorageError)
    assert isinstance(error, Refused)
    assert (error.context["order"], error.context["live"], error.context["quota"]) == (
        ORDER.value,
        2,
        2,
    )
    assert register.audit_head() == head
    assert [i.serial for i in register.open_intents()] == [1, 2]
    assert register.order_usage(ORDER).live == 2


def test_a_voided_intent_gives_its_unit_back(register: SqlRegister) -> None:
    first = intent(1, order_quota=1)
    register.record_intent(first, actor=ACTOR)
    with pytest.raises(OrderQuotaReached):
        register.record_intent(intent(2, order_quota=1), actor=ACTOR)
    register.void_intent(ISSUER, 1, at=first.created_at, actor=ACTOR)
    assert register.record_intent(intent(3, order_quota=1), actor=ACTOR).created


def test_the_quota_counts_the_order_under_every_issuer(register: SqlRegister) -> None:
    register.record_intent(intent(1, order_quota=1), actor=ACTOR)
    with pytest.raises(OrderQuotaReached):
        register.record_intent(intent(2, issuer=OTHER_ISSUER, order_quota=1), actor=ACTOR)


def test_a_retry_under_its_idempotency_key_finds_its_intent_even_at_the_quota(
    register: SqlRegister,
) -> None:
    key = IdempotencyKey("quota-retry-0001")
    first = intent(1, order_quota=1, idempotency_key=key, request_digest=b"r" * 32)
    done = register.record_intent(first, actor=ACTOR)
    register.complete_intent(issued(first), actor=ACTOR)
    again = register.record_intent(
        intent(2, order_quota=1, idempotency_key=key, request_digest=b"r" * 32), actor=ACTOR
    )
    assert not again.created
    assert again.intent.serial == done.intent.serial == 1
    assert again.certificate is not None


def test_a_quota_needs_an_order_and_is_not_negative() -> None:
    with pytest.raises(ValueError, match="needs the intent's order"):
        new_intent(1, order=None, order_quota=1)
    with pytest.raises(ValueError, match="non-negative"):
        intent(1, order_quota=-1)


def test_eight_concurrent_writers_on_the_last_units_record_exactly_the_quota(
    store: Store,
) -> None:
    writers, quota = 8, 3
    registers = [store.open() for _ in range(writers)]
    start = threading.Barrier(writers)

    def attempt(n: int) -> bool:
        start.wait()
        try:
            registers[n].record_intent(intent(100 + n, order_quota=quota), actor=ACTOR)
        except OrderQuotaReached:
            return False
        return True

    with ThreadPoolExecutor(writers) as pool:
        created = list(pool.map(attempt, range(writers)))
    assert created.count(True) == quota
    usage = registers[0].order_usage(ORDER)
    assert (usage.open, usage.live) == (quota, quota)


def test_a_writer_counting_while_the_last_unit_is_taken_but_uncommitted_waits_then_is_refused(
    store: Store,
) -> None:
    inside, release = threading.Event(), threading.Event()

    def hold(step: str) -> None:
        if step == "record_intent:inserted":
            inside.set()
            release.wait(30)

    first, second = store.open(on_step=hold), store.open()
    earlier = intent(9)  # the order's row exists already: an earlier issuance, voided
    second.record_intent(earlier, actor=ACTOR)
    second.void_intent(ISSUER, 9, at=earlier.created_at, actor=ACTOR)
    with ThreadPoolExecutor(2) as pool:
        taking = pool.submit(first.record_intent, intent(1, order_quota=1), actor=ACTOR)
        assert inside.wait(30)  # the first holds the order's last unit, not yet committed
        counting = pool.submit(second.record_intent, intent(2, order_quota=1), actor=ACTOR)
        time.sleep(0.5)
        assert not counting.done()  # it waits for the order's lock instead of counting now
        release.set()
        assert taking.result(30).created
        with pytest.raises(OrderQuotaReached):
            counting.result(30)
    assert [i.serial for i in first.open_intents()] == [1]
    assert first.get_intent(ISSUER, 1).state is IntentState.OPEN

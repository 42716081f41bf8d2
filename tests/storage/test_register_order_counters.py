"""The order's counters on ``order_issuances`` (schema v8, issue 17), on SQLite and PostgreSQL:
``record_intent``'s quota and ``order_usage`` read them instead of counting the order's
intents, so they must equal those counts after anything — concurrent writers, refused
members, batches that failed and wrote nothing, completions and voids — and a version-7
register's counters are filled from its intents when it is migrated."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_register_migrations import migrate_to, ts

from atlas_ca.domain.ids import OrderId
from atlas_ca.errors import OrderQuotaReached, SerialCollision
from atlas_ca.storage import NewIntent, OrderUsage
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import IntentOutcome, serial_text
from support.registers import ACTOR, ISSUER, Store, issued, new_intent

ORDERS = [OrderId("ord-count-a"), OrderId("ord-count-b"), OrderId("ord-count-c")]


def counted(store: Store) -> dict[str, tuple[int, int, int, int]]:
    """Per order: (open, completed, voided, certificates), counted over the rows."""
    rows = store.raw(
        "SELECT o.order_id,"
        " (SELECT count(*) FROM issuance_intents i WHERE i.order_id = o.order_id"
        "  AND i.state = 'open'),"
        " (SELECT count(*) FROM issuance_intents i WHERE i.order_id = o.order_id"
        "  AND i.state = 'completed'),"
        " (SELECT count(*) FROM issuance_intents i WHERE i.order_id = o.order_id"
        "  AND i.state = 'voided'),"
        " (SELECT count(*) FROM certificates c WHERE c.order_id = o.order_id)"
        " FROM (SELECT DISTINCT order_id FROM issuance_intents WHERE order_id IS NOT NULL) o"
    )
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def kept(store: Store) -> dict[str, tuple[int, int, int, int]]:
    rows = store.raw(
        "SELECT order_id, open_intents, completed_intents, voided_intents, completed_intents"
        " FROM order_issuances"
    )
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows if any(r[1:4])}


def assert_counters_true(store: Store, reg: SqlRegister) -> None:
    truth = counted(store)
    assert kept(store) == {k: v for k, v in truth.items() if any(v)}
    for order, (opened, completed, voided, certificates) in truth.items():
        assert reg.order_usage(OrderId(order)) == OrderUsage(
            OrderId(order), opened, completed, voided, certificates
        )


class Boom(Exception):
    pass


def test_the_counters_equal_the_counts_after_concurrent_writes_refusals_and_failed_batches(
    store: Store,
) -> None:
    writers, per_writer, quota = 6, 12, 40
    registers = [store.open() for _ in range(writers)]
    fail_next = threading.local()

    def failing(step: str) -> None:
        if step.endswith("before-commit") and getattr(fail_next, "on", False):
            raise Boom  # the whole transaction (a batch too) rolls back

    failers = [store.open(on_step=failing) for _ in range(writers)]
    start = threading.Barrier(writers)

    def work(n: int) -> None:
        reg, failer = registers[n], failers[n]
        start.wait()
        recorded: list[NewIntent] = []
        for k in range(per_writer):
            serial = 1000 * (n + 1) + k
            batch = [
                new_intent(serial, order=ORDERS[k % 3], order_quota=quota),
                new_intent(serial + 500, order=ORDERS[(k + 1) % 3], order_quota=quota),
                new_intent(1, order=ORDERS[0]),  # serial 1 exists: refused in every batch
            ]
            results = reg.record_intents(batch, actor=ACTOR)
            assert isinstance(results[2], SerialCollision)
            for member, result in zip(batch, results, strict=True):
                if isinstance(result, IntentOutcome):
                    recorded.append(member)
                else:
                    assert isinstance(result, SerialCollision | OrderQuotaReached)
            # a failed batch of both kinds: nothing of it may stay counted
            fail_next.on = True
            with pytest.raises(Boom):
                failer.write_batch(
                    [new_intent(serial + 700, order=ORDERS[2])],
                    [issued(i) for i in recorded[-2:]],
                    actor=ACTOR,
                )
            fail_next.on = False
            if len(recorded) >= 3:
                done, voided = recorded.pop(0), recorded.pop(0)
                reg.write_batch(
                    [new_intent(serial + 800, order=ORDERS[1], order_quota=quota)],
                    [issued(done)],
                    actor=ACTOR,
                )
                reg.void_intent(ISSUER, voided.serial, at=voided.created_at, actor=ACTOR)

    first = store.open()
    first.record_intent(new_intent(1, order=ORDERS[0]), actor=ACTOR)
    with ThreadPoolExecutor(writers) as pool:
        for done in pool.map(work, range(writers)):
            assert done is None
    truth = counted(store)
    assert all(sum(v[:3]) > 0 for v in truth.values())
    assert sum(v[1] for v in truth.values()) > 0
    assert sum(v[2] for v in truth.values()) > 0
    assert all(v[0] + v[1] <= quota for o, v in truth.items() if o != ORDERS[2].value)
    assert_counters_true(store, first)


def test_an_intent_refused_at_completion_changes_no_counter(store: Store) -> None:
    reg = store.open()
    a = new_intent(5, order=ORDERS[0])
    reg.record_intent(a, actor=ACTOR)
    reg.void_intent(ISSUER, 5, at=a.created_at, actor=ACTOR)
    (result,) = reg.complete_intents([issued(a)], actor=ACTOR)
    assert not hasattr(result, "serial")  # IntentNotOpen: the intent was voided
    b = new_intent(6, order=ORDERS[0])
    reg.record_intent(b, actor=ACTOR)
    (mismatch,) = reg.complete_intents([issued(b, order=ORDERS[1])], actor=ACTOR)
    assert not hasattr(mismatch, "serial")  # the certificate names another order
    assert reg.order_usage(ORDERS[0]) == OrderUsage(ORDERS[0], 1, 0, 1, 0)
    assert_counters_true(store, reg)


def test_a_version_7_register_gets_its_counters_from_its_intents(store: Store) -> None:
    assert migrate_to(store, 7) == 7
    when = "2026-11-25T12:00:00.000000Z"
    rows = [  # (serial, order, state)
        (1, "ord-old-a", "completed"),
        (2, "ord-old-a", "open"),
        (3, "ord-old-a", "voided"),
        (4, "ord-old-a", "open"),
        (5, "ord-old-b", "completed"),  # recorded before v4: no order_issuances row
        (6, None, "open"),
    ]
    for serial, order, state in rows:
        store.raw(
            "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, order_id,"
            " profile, state, created_at) VALUES (?, ?, ?, ?, ?, 'qualified-person', ?, ?)",
            (
                ISSUER.value,
                serial_text(serial),
                bytes(32),
                f"sub-{serial}",
                order,
                state,
                ts(store, when),
            ),
        )
        if state == "completed":
            store.raw(
                "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber,"
                " order_id, profile, not_before, not_after, issued_at, status,"
                " status_changed_at) VALUES (?, ?, ?, ?, 'sub-1', ?, 'qualified-person',"
                " ?, ?, ?, 'valid', ?)",
                (ISSUER.value, serial_text(serial), b"\x30\x00", b"\x01", order)
                + (ts(store, when),) * 4,
            )
    # version 4-7 kept `recorded` only, and only for intents recorded since version 4
    store.raw("INSERT INTO order_issuances (order_id, recorded) VALUES ('ord-old-a', 2)")

    reg = store.open()
    assert reg.schema_version == 8
    a, b = OrderId("ord-old-a"), OrderId("ord-old-b")
    assert reg.order_usage(a) == OrderUsage(a, open=2, completed=1, voided=1, certificates=1)
    assert reg.order_usage(b) == OrderUsage(b, open=0, completed=1, voided=0, certificates=1)
    assert sorted(store.raw("SELECT order_id, recorded FROM order_issuances")) == [
        ("ord-old-a", 4),
        ("ord-old-b", 1),
    ]
    assert_counters_true(store, reg)
    # the quota now reads the filled counters: three live of four
    assert reg.record_intent(new_intent(7, order=a, order_quota=4), actor=ACTOR).created
    with pytest.raises(OrderQuotaReached):
        reg.record_intent(new_intent(8, order=a, order_quota=4), actor=ACTOR)
    reg.complete_intent(issued(new_intent(2, order=a)), actor=ACTOR)
    assert reg.order_usage(a) == OrderUsage(a, open=2, completed=2, voided=1, certificates=2)
    assert_counters_true(store, reg)

"""Several writer processes (multiprocessing, spawn) on one register, SQLite file and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta

from atlas_ca.audit import verify_store
from atlas_ca.storage import CrlRecord, IntentState
from support import register_workers
from support.registers import ACTOR, ISSUER, T0, Store, issued, new_intent

WORKERS = 4
PER_WORKER = 250
SERIAL_SPACE = 20_000  # small on purpose: concurrent draws collide and must retry


def run_parallel(fn: object, *args_per_worker: tuple[object, ...]) -> list[object]:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(args_per_worker), mp_context=ctx) as pool:
        futures = [pool.submit(fn, *args) for args in args_per_worker]  # type: ignore[arg-type]
        return [f.result(timeout=600) for f in futures]


def test_four_processes_record_a_thousand_issuances_without_losing_one(store: Store) -> None:
    reg = store.open()  # migrate once before the workers start
    results = run_parallel(
        register_workers.issue_many,
        *[(store.kind, store.location, w, PER_WORKER, SERIAL_SPACE) for w in range(WORKERS)],
    )
    serials = [s for r in results for s in r["serials"]]  # type: ignore[index,attr-defined]
    assert len(serials) == WORKERS * PER_WORKER
    assert len(set(serials)) == WORKERS * PER_WORKER  # 1,000 distinct serials
    # The draws collided (within and across workers) and the database turned each away.
    assert sum(r["collisions"] for r in results) > 0  # type: ignore[index,misc]

    counts = store.raw("SELECT count(*), count(DISTINCT serial) FROM certificates")
    assert counts == [(1000, 1000)]
    states = dict(store.raw("SELECT state, count(*) FROM issuance_intents GROUP BY state"))
    assert states == {IntentState.COMPLETED.value: 1000}  # no lost or dangling intent
    assert reg.open_intents() == []
    for serial in serials[::97]:
        assert reg.get_certificate(ISSUER, serial).serial == serial
    report = verify_store(reg)
    assert report.ok, report.first_problem
    assert report.events_checked == 2000


def test_concurrent_crl_number_allocation_is_strictly_increasing_without_duplicates(
    store: Store,
) -> None:
    store.open()
    per_worker = 100
    results = run_parallel(
        register_workers.crl_numbers, *[(store.kind, store.location, per_worker)] * WORKERS
    )
    every = [n for r in results for n in r]  # type: ignore[attr-defined]
    for numbers in results:
        assert numbers == sorted(numbers)  # type: ignore[type-var]
        assert len(set(numbers)) == len(numbers)  # type: ignore[arg-type]
    assert sorted(every) == list(range(1, WORKERS * per_worker + 1))  # type: ignore[type-var]


def test_one_idempotency_key_sent_by_four_processes_at_once_creates_one_intent(
    store: Store,
) -> None:
    store.open()
    rounds = 25
    results = run_parallel(
        register_workers.same_request,
        *[(store.kind, store.location, w, rounds) for w in range(WORKERS)],
    )
    for r in range(rounds):
        answers = [worker_results[r] for worker_results in results]  # type: ignore[index]
        assert len({serial for serial, _created in answers}) == 1  # everyone got the same intent
        assert sum(created for _serial, created in answers) == 1  # exactly one created it
    assert store.raw("SELECT count(*) FROM issuance_intents") == [(rounds,)]
    assert store.raw("SELECT count(*) FROM idempotency_keys") == [(rounds,)]


def test_concurrent_revocations_get_gapless_change_numbers_and_a_consistent_delta(
    store: Store,
) -> None:
    reg = store.open()
    for serial in range(1, 201):
        intent = new_intent(serial)
        reg.record_intent(intent, actor=ACTOR)
        reg.complete_intent(issued(intent), actor=ACTOR)
    base_no = reg.next_crl_number(ISSUER)
    with reg.crl_scan(ISSUER) as scan:
        assert scan.change_mark == 0
    reg.record_crl(CrlRecord(ISSUER, base_no, T0, T0 + timedelta(days=1), 0), at=T0, actor=ACTOR)

    chunks = [
        (store.kind, store.location, list(range(1 + w, 201, WORKERS))) for w in range(WORKERS)
    ]
    results = run_parallel(register_workers.revoke_many, *chunks)
    numbers = sorted(n for r in results for n in r)  # type: ignore[attr-defined]
    assert numbers == list(range(1, 201))  # one change number each, no gap, no repeat
    with reg.crl_scan(ISSUER) as scan:
        assert scan.change_mark == 200
        delta = [e.serial for e in scan.changes_since(base_no)]
        listed = [e.serial for e in scan.listed()]
    assert delta == listed == list(range(1, 201))
    assert verify_store(reg).ok


def test_threads_sharing_one_register_do_not_interleave_transactions(store: Store) -> None:
    reg = store.open()

    def work(offset: int) -> None:
        for serial in range(offset, offset + 25):
            intent = new_intent(serial)
            reg.record_intent(intent, actor=ACTOR)
            reg.complete_intent(issued(intent), actor=ACTOR)
            reg.get_certificate(ISSUER, serial)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for f in [pool.submit(work, 1000 * (t + 1)) for t in range(4)]:
            f.result(timeout=300)
    assert store.raw("SELECT count(*) FROM certificates") == [(100,)]
    assert reg.open_intents() == []
    assert verify_store(reg).ok

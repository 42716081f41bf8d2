"""R7 under concurrency, on SQLite and PostgreSQL: eight processes presenting one code at the
same moment. Consuming a code and counting a wrong attempt are atomic in the record store, so
the right code is accepted once, eight wrong codes are all counted (the code is dead after
three), and one SMS code issues one certificate."""

from __future__ import annotations

import multiprocessing
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.domain.otp import ChallengeState, create_challenge
from atlas_ca.services.issuance import issuance_binding
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.storage._sql import SqlRegister
from support import otp_workers
from support.issuance_env import World, make_csr, make_world, registers

pg_server = registers.pg_server
store = registers.store

PROCESSES = 8


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


def _race(
    store: Any, world: World, base: Path, *, wrong: bool, issue: bool
) -> tuple[list[dict[str, Any]], Any, str, bytes]:
    """Store a challenge for one CSR, then let PROCESSES processes present its code (or a wrong
    one) together; the outcomes, the stored challenge, the right code and the CSR."""
    csr = make_csr(world.subscriber_key)
    challenge, code = create_challenge(
        world.subscriber.id,
        issuance_binding(csr, world.order, "individual"),
        now=world.clock.now(),
        random_bytes=secrets.token_bytes,
    )
    records = otp_workers.record_store(store.kind, store.location)
    try:
        RecordChallengeStore(records, clock=world.clock).save(challenge)
    finally:
        records.close()
    presented = f"{(int(code) + 1) % 10**6:06d}" if wrong else code
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(PROCESSES) as pool:
        barrier = manager.Barrier(PROCESSES)
        args = (
            store.kind,
            store.location,
            str(base),
            csr,
            challenge.id.value,
            presented,
            barrier,
            issue,
        )
        outcomes = pool.starmap_async(otp_workers.present_code, [args] * PROCESSES).get(timeout=300)
    records = otp_workers.record_store(store.kind, store.location)
    try:
        stored = RecordChallengeStore(records, clock=world.clock).get(challenge.id)
    finally:
        records.close()
    return outcomes, stored, code, csr


@pytest.mark.slow
def test_eight_processes_presenting_the_right_code_get_it_accepted_once(
    store: Any, world: World, tmp_path: Path
) -> None:
    outcomes, stored, _, _ = _race(store, world, tmp_path, wrong=False, issue=False)
    assert Counter(str(o) for o in outcomes) == Counter(
        {str({"accepted": True}): 1, str({"refused": "ALREADY_USED"}): PROCESSES - 1}
    )
    assert stored.state(world.clock.now()) is ChallengeState.USED
    assert stored.attempts == 0


@pytest.mark.slow
def test_eight_wrong_codes_at_once_all_count_and_the_right_code_is_refused_after(
    store: Any, world: World, tmp_path: Path
) -> None:
    outcomes, stored, code, csr = _race(store, world, tmp_path, wrong=True, issue=False)
    # every wrong code counted: three wrong attempts killed the code, the other five found it
    # dead; none was lost to a concurrent write
    assert Counter(o["refused"] for o in outcomes) == Counter(
        {"WRONG_CODE": 3, "EXHAUSTED": PROCESSES - 3}
    )
    assert stored.attempts == 3
    assert stored.state(world.clock.now()) is ChallengeState.EXHAUSTED
    late = otp_workers.present_code(
        store.kind,
        store.location,
        str(tmp_path),
        csr,
        stored.id.value,
        code,
        _NoBarrier(),
        False,
    )
    assert late == {"refused": "EXHAUSTED"}


@pytest.mark.slow
def test_one_sms_code_issues_one_certificate_to_eight_processes(
    store: Any, world: World, tmp_path: Path
) -> None:
    outcomes, stored, _, _ = _race(store, world, tmp_path, wrong=False, issue=True)
    issued = [o["serial"] for o in outcomes if "serial" in o]
    refused = [o["refused"] for o in outcomes if "refused" in o]
    assert len(issued) == 1
    assert refused == ["ALREADY_USED"] * (PROCESSES - 1)
    assert [c.serial for c in world.register.certificates_of(world.subscriber.id)] == issued
    assert stored.used_at is not None


class _NoBarrier:
    def wait(self, timeout: float) -> None:
        return None

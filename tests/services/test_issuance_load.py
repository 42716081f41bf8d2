"""Load: four processes issue 250 certificates each into one register (SQLite, PostgreSQL),
with real GOST R 34.10-2012 signatures (software key backend: the CA key in a PBES2 file,
signed through the native gost engine). 1,000 distinct serials, 1,000 certificates, no intent
left open, an intact audit chain — in well under two minutes on two shared cores."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.audit import verify_store
from atlas_ca.storage import IntentState
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.x509.certificate import Certificate
from support import issuance_workers
from support.issuance_env import make_world, registers

pg_server = registers.pg_server
store = registers.store
PROCESSES = 4
PER_PROCESS = 250
HANG_GUARD_S = 600


@pytest.mark.slow
def test_four_processes_issue_a_thousand_certificates_into_one_register(
    store: Any, tmp_path: Path
) -> None:
    world = make_world(store.open(), tmp_path)
    ctx = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ctx.Pool(PROCESSES) as pool:
        # A hang guard, not a speed claim (speed is bench/issue_service.py's business).
        results = pool.starmap_async(
            issuance_workers.issue_many,
            [(store.kind, store.location, str(tmp_path), PER_PROCESS)] * PROCESSES,
        ).get(timeout=HANG_GUARD_S)
    elapsed = time.perf_counter() - started
    serials = [s for r in results for s in r["serials"]]
    assert len(serials) == len(set(serials)) == PROCESSES * PER_PROCESS

    reg = world.register
    assert isinstance(reg, SqlRegister)
    assert reg.open_intents() == []
    with reg._db.read() as cur:
        states = cur.all("SELECT state, count(*) FROM issuance_intents GROUP BY state")
    assert dict(states) == {IntentState.COMPLETED.value: PROCESSES * PER_PROCESS}
    records = reg.certificates_of(world.subscriber.id)
    assert sorted(r.serial for r in records) == sorted(serials)
    for record in records[::50]:  # spot-check signatures; each was verified before storing
        Certificate.from_der(record.der).verify_signed_by(world.ca.certificate.public_key_info)
    assert list(world.outbox.entries()) == []
    assert verify_store(reg).ok
    rate = PROCESSES * PER_PROCESS / elapsed
    print(f"\n{store.kind}: {PROCESSES * PER_PROCESS} issuances in {elapsed:.1f} s ({rate:.0f}/s)")

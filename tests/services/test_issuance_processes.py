"""Several worker processes, each with concurrent requests, on one register and one token.

``atlas-ca serve`` runs several worker processes, each with its threads and its own
IssuanceService; group commit is per process (issue 17). Two processes × four threads issue
into one SQLite (WAL) or PostgreSQL register, the CA key on one SoftHSM token that both
processes sign with: every certificate is stored, distinct, signed by the CA key over exactly
its recorded TBS, no intent is left open, and the audit chain is intact.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from test_issuance_faults import assert_consistent

from atlas_ca.algorithms import KeyType
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.storage import IntentState
from support import batch_workers
from support.atlas_testing import SoftHsmToken
from support.issuance_env import make_world, registers

pg_server = registers.pg_server
store = registers.store
PROCESSES = 2
THREADS = 4
EACH = 3
HANG_GUARD_S = 300
LABEL = "processes-ca"


@pytest.fixture(scope="module")
def ca_key(softhsm: SoftHsmToken) -> tuple[SoftHsmToken, SigningKey]:
    """One CA key on the session's token (a process loads SoftHSM's configuration once)."""
    key = open_token(softhsm.uri()).generate_key(KeyType.GOST3410_2012_256, label=LABEL)
    return softhsm, key


def test_two_processes_with_threads_share_the_register_and_the_token(
    store: Any, tmp_path: Path, ca_key: tuple[SoftHsmToken, SigningKey]
) -> None:
    token, key = ca_key
    world = make_world(store.open(), tmp_path, ca_key=key)  # the CA certificate, once
    ctx = multiprocessing.get_context("spawn")
    args = (store.kind, store.location, str(tmp_path), str(token.conf), token.uri(object=LABEL))
    with ctx.Pool(PROCESSES) as pool:
        results = pool.starmap_async(
            batch_workers.issue_with_threads_on_a_shared_token,
            [(*args, THREADS, EACH)] * PROCESSES,
        ).get(timeout=HANG_GUARD_S)

    assert [r["failures"] for r in results] == [[]] * PROCESSES
    serials = [s for r in results for s in r["serials"]]
    assert len(serials) == len(set(serials)) == PROCESSES * THREADS * EACH
    # every certificate stored is the recorded TBS signed by the CA key (whichever process
    # signed it), no intent open, outbox empty, audit chain intact
    intents = assert_consistent(world)
    assert intents == dict.fromkeys(serials, IntentState.COMPLETED)

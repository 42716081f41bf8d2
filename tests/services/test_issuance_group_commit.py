"""Group commit of *record* and *store* (issue 17), on SQLite and PostgreSQL.

Concurrent issuances through one service share their durable writes: the intents of the
requests waiting at *record* go in one transaction, their certificates at *store* in another.
What must not change: an intent is committed before the token signs (record-before-sign), each
caller gets its own certificate, and a batch that fails fails every member with a clear error
and writes nothing of it.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from test_issuance_faults import assert_consistent

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.audit import verify_store
from atlas_ca.errors import StorageUnavailable
from atlas_ca.gost import streebog256
from atlas_ca.hsm.base import SigningKey
from atlas_ca.services.issuance import IssuanceRequest, IssuanceResult, IssuanceService
from atlas_ca.storage import IntentState
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.x509.csr import CertificationRequest
from support import batch_workers
from support.issuance_env import World, make_world, registers, software_key

pg_server = registers.pg_server
store = registers.store
THREADS = 6


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.002)


class _Holder:
    service: IssuanceService | None = None


def _queue_the_rest_behind_the_first(holder: _Holder, others: int) -> Callable[[int, int], None]:
    """The service's batch hook: the first group commit waits (before it writes) until
    ``others`` requests queue behind it, so their intents form the next batch together."""
    first = [True]

    def hook(_intents: int, _certificates: int) -> None:
        if first[0]:
            first[0] = False
            service = holder.service
            assert service is not None
            _wait_for(lambda: service.waiting_writes >= others, f"{others} queued intents")

    return hook


def _run_concurrently(
    service: IssuanceService, requests: list[IssuanceRequest]
) -> list[IssuanceResult | BaseException]:
    results: list[IssuanceResult | BaseException | None] = [None] * len(requests)

    def one(i: int) -> None:
        try:
            results[i] = service.issue(requests[i])
        except BaseException as exc:  # the test inspects every outcome
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(not t.is_alive() for t in threads)
    return [r for r in results if r is not None]


def test_concurrent_callers_each_get_their_own_certificate_from_shared_commits(
    store: Any, tmp_path: Path
) -> None:
    holder = _Holder()
    world = make_world(store.open(), tmp_path)
    service = holder.service = world.service(
        on_batch=_queue_the_rest_behind_the_first(holder, THREADS - 1)
    )
    requests = [world.request() for _ in range(THREADS)]

    results = _run_concurrently(service, requests)

    assert all(isinstance(r, IssuanceResult) for r in results), results
    issued = [r for r in results if isinstance(r, IssuanceResult)]
    for request, result in zip(requests, issued, strict=True):
        # each caller's certificate certifies the key of its own CSR, and is in the register
        key = CertificationRequest.load(request.csr).public_key_info
        assert result.certificate.public_key_info == key
        stored = world.register.get_certificate(world.ca.issuer_id, result.record.serial)
        assert stored.der == result.certificate.der
    assert len({r.certificate.serial_number for r in issued}) == THREADS
    stats = service.batches
    assert stats.items == 2 * THREADS  # an intent and a certificate each
    assert stats.largest >= THREADS - 1  # the five queued intents: one transaction
    assert stats.flushes < 2 * THREADS
    assert set(assert_consistent(world).values()) == {IntentState.COMPLETED}


class _ObservingKey:
    """The CA key, observed: before it signs a TBS, another connection must already see that
    TBS's intent committed and open (a real key underneath; nothing is simulated)."""

    def __init__(self, key: SigningKey, committed_state: Callable[[bytes], str | None]) -> None:
        self._key = key
        self._committed_state = committed_state
        self.watching = False
        self.seen: list[str | None] = []

    @property
    def key_type(self) -> KeyType:
        return self._key.key_type

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return self._key.signature_algorithm

    @property
    def public_key_info(self) -> bytes:
        return self._key.public_key_info

    @property
    def qualified_use_allowed(self) -> bool:
        return self._key.qualified_use_allowed

    def sign(self, data: bytes) -> bytes:
        if self.watching:
            self.seen.append(self._committed_state(streebog256(data)))
        return self._key.sign(data)


def test_every_intent_is_committed_before_the_token_signs_its_tbs(
    store: Any, tmp_path: Path
) -> None:
    def committed_state(tbs_digest: bytes) -> str | None:
        rows = store.raw("SELECT state FROM issuance_intents WHERE tbs_digest = ?", (tbs_digest,))
        return None if not rows else str(rows[0][0])

    key = _ObservingKey(software_key(tmp_path, "ca"), committed_state)
    holder = _Holder()
    world = make_world(store.open(), tmp_path, ca_key=key)  # type: ignore[arg-type]
    service = holder.service = world.service(
        on_batch=_queue_the_rest_behind_the_first(holder, THREADS - 1)
    )
    requests = [world.request() for _ in range(THREADS)]
    key.watching = True

    results = _run_concurrently(service, requests)

    assert all(isinstance(r, IssuanceResult) for r in results), results
    assert key.seen == ["open"] * THREADS  # seen from outside the register's transaction
    assert service.batches.largest >= THREADS - 1


def _break_the_connection(store: Any, reg: SqlRegister) -> None:
    """A real fault under the open transaction: SQLite's connection turns read-only (as on a
    filesystem remounted read-only); PostgreSQL's backend is terminated."""
    db: Any = reg._db
    if store.kind == "sqlite":
        db._conn.execute("PRAGMA query_only = ON")
    else:
        pid = db.conn.info.backend_pid
        with psycopg.connect(store.location, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_failed_group_commit_fails_every_member_and_writes_nothing_of_it(
    store: Any, tmp_path: Path
) -> None:
    holder = _Holder()
    queue_them = _queue_the_rest_behind_the_first(holder, THREADS - 1)
    inserted = [0]
    regs: list[SqlRegister] = []

    def hook(step: str) -> None:
        if step == "record_intent:inserted":
            inserted[0] += 1
            if inserted[0] == 3:  # the batch's second member is written, not yet committed
                _break_the_connection(store, regs[0])

    def repair_once_the_batch_failed(step: str) -> None:
        # the first request stores its certificate only after the broken batch is over, with
        # the connection repaired (SQLite's stays read-only; PostgreSQL's reconnects itself)
        if step == "outbox":
            service = holder.service
            assert service is not None
            _wait_for(lambda: service.batches.flushes >= 2, "the second batch's end")
            if store.kind == "sqlite":
                regs[0]._db._conn.execute("PRAGMA query_only = OFF")  # type: ignore[attr-defined]

    reg = store.open(on_step=hook)
    regs.append(reg)
    world: World = make_world(reg, tmp_path)
    service = holder.service = world.service(
        on_step=repair_once_the_batch_failed, on_batch=queue_them
    )
    requests = [world.request() for _ in range(THREADS)]

    results = _run_concurrently(service, requests)

    issued = [r for r in results if isinstance(r, IssuanceResult)]
    failed = [r for r in results if not isinstance(r, IssuanceResult)]
    assert len(issued) == 1  # the first batch (alone) went through
    assert len(failed) == THREADS - 1  # every member of the broken batch fails...
    for exc in failed:
        assert isinstance(exc, StorageUnavailable), exc
        assert str(exc).startswith(f"record: the group commit of {THREADS - 1} writes failed")
        assert "nothing of the batch was written" in str(exc)
    assert len({id(e) for e in failed}) == THREADS - 1  # ...each with an error of its own
    check = store.open()
    intents = check.open_intents()
    assert intents == []  # nothing half-written: no intent of the failed batch exists
    rows = store.raw("SELECT serial FROM issuance_intents")
    assert [int(s, 16) for (s,) in rows] == [issued[0].certificate.serial_number]
    assert list(world.outbox.entries()) == []  # and nothing of it was signed
    assert verify_store(check).ok


def test_an_issuer_killed_between_record_and_sign_leaves_its_committed_intents(
    store: Any, tmp_path: Path
) -> None:
    world = make_world(store.open(), tmp_path)  # CA and keys made before the child starts
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=batch_workers.issue_concurrently_and_die_after_record,
        args=(store.kind, store.location, str(tmp_path), THREADS),
    )
    proc.start()
    proc.join(timeout=180)
    assert proc.exitcode == -signal.SIGKILL, "the issuer was not killed after record"

    left_open = world.register.open_intents()
    certified = {c.serial for c in world.register.certificates_of(world.subscriber.id)}
    # the two requests that finished record had their intents committed; the process died
    # before the second could sign, so its intent is open with no certificate
    assert len(left_open) >= 1
    assert len(left_open) + len(certified) >= 2
    assert any(i.serial not in certified for i in left_open)
    resolution = world.service().resolve_open_intents()
    assert set(resolution.completed) | set(resolution.voided) == {i.serial for i in left_open}
    assert_consistent(world)

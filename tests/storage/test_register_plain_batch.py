"""The register's set-based batch write (issue 17): a group commit costs a fixed number of
statements whatever its size, and writes exactly what the member-by-member path writes —
results, rows, counters and audit chain — including when a member is refused and the batch
falls back to that path. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.audit import verify_store
from atlas_ca.domain.ids import OrderId
from atlas_ca.errors import AtlasCaError
from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.storage.ports import (
    CertificateRecord,
    IdempotencyKey,
    IntentOutcome,
    IssuedCertificate,
    NewIntent,
)
from support.registers import ACTOR, PgServer, Store, issued, make_store, new_intent

TABLES = (
    "issuance_intents",
    "certificates",
    "order_issuances",
    "idempotency_keys",
    "audit_events",
    "audit_head",
)


def dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {t: store.raw(f"SELECT * FROM {t} ORDER BY 1, 2") for t in TABLES}


@contextmanager
def counted_statements(kind: str) -> Iterator[list[list[str]]]:
    """Every statement the register's cursors run while inside (the adapter's cursor class),
    grouped by what went to the database together (one ``send``, or one single statement)."""
    module: Any = sqlite_adapter if kind == "sqlite" else pg_adapter
    cls = module._Cur
    seen: list[list[str]] = []
    originals = {name: getattr(cls, name) for name in ("one", "all", "run", "send")}

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: Any, sql: str, params: Any = ()) -> Any:
            seen.append([sql])
            return fn(self, sql, params)

        return counted

    def wrap_send(fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: Any, statements: Any) -> Any:
            seen.append([s.sql for s in statements])
            return fn(self, statements)

        return counted

    for name, fn in originals.items():
        setattr(cls, name, wrap_send(fn) if name == "send" else wrap(fn))
    try:
        yield seen
    finally:
        for name, fn in originals.items():
            setattr(cls, name, fn)


def member_by_member(reg: SqlRegister) -> SqlRegister:
    """``reg`` with the set-based path switched off: the reference the tests compare with."""
    reg._plain_batch = lambda *args, **kwargs: None  # type: ignore[method-assign]
    return reg


@pytest.mark.parametrize("size", [3, 40])
def test_a_batch_costs_the_same_statements_whatever_its_size(store: Store, size: int) -> None:
    reg = store.open()
    reg.record_intents([new_intent(s) for s in (1, 2)], actor=ACTOR)  # orders' rows exist
    intents = [new_intent(100 + s, order=OrderId(f"ord-{s % 2 + 1}")) for s in range(size)]
    done = [issued(new_intent(s)) for s in (1, 2)]
    with counted_statements(store.kind) as statements:
        recorded, completed = reg.write_batch(intents, done, actor=ACTOR)
    assert all(isinstance(r, IntentOutcome) and r.created for r in recorded)
    assert [getattr(c, "serial", None) for c in completed] == [1, 2]
    # counters, intents, completions, keys, their counters, certificates, audit head; events
    # and the head's update: the same statements for 3 intents as for 40, sent in two goes
    # (pipelined on PostgreSQL: two round trips while the orders' rows are locked)
    assert [len(sent) for sent in statements] == [6, 2]
    assert verify_store(reg).ok


# --- the same writes as member by member -----------------------------------------------------

ORDERS = (OrderId("ord-a"), OrderId("ord-b"))
KEYS = (bytes([1]) * 32, bytes([2]) * 32)
IDEMPOTENCY = (IdempotencyKey("idem-0001"), IdempotencyKey("idem-0002"))


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[list[NewIntent], list[IssuedCertificate]]]:
    """A few batches over a small pool of serials, orders, keys and idempotency keys, so that
    collisions, quotas reached, keys taken, intents no longer open and mismatches all occur."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        intents = []
        for _ in range(draw(st.integers(0, 5))):
            serial = draw(st.integers(1, 12))
            order = draw(st.sampled_from((*ORDERS, None)))
            quota = None if order is None else draw(st.sampled_from((None, 1, 3, 6)))
            key = draw(st.sampled_from((None, None, *KEYS)))
            idem = draw(st.sampled_from((None, None, None, *IDEMPOTENCY)))
            digest = draw(st.sampled_from((b"request-1", b"request-2"))) if idem else b""
            intents.append(
                new_intent(
                    serial,
                    order=order,
                    order_quota=quota,
                    key_hash=key,
                    idempotency_key=idem,
                    request_digest=digest,
                )
            )
        certificates = []
        for _ in range(draw(st.integers(0, 4))):
            serial = draw(st.integers(1, 12))
            order = draw(st.sampled_from((*ORDERS, None)))
            certificates.append(issued(new_intent(serial, order=order)))
        out.append((intents, certificates))
    return out


def outcome(result: object) -> object:
    if isinstance(result, AtlasCaError):
        return (type(result).__name__, str(result))
    if isinstance(result, IntentOutcome):
        return (result.intent, result.created, result.certificate)
    assert isinstance(result, CertificateRecord)
    return result


def run(reg: SqlRegister, plan: list[tuple[list[NewIntent], list[IssuedCertificate]]]) -> list:
    results: list[object] = []
    for intents, certificates in plan:
        if intents and certificates:
            recorded, completed = reg.write_batch(intents, certificates, actor=ACTOR)
        elif intents:
            recorded, completed = reg.record_intents(intents, actor=ACTOR), []
        else:
            recorded, completed = [], reg.complete_intents(certificates, actor=ACTOR)
        results.append([outcome(r) for r in [*recorded, *completed]])
    return results


def same_as_member_by_member(
    fast: Store, slow: Store, plan: list[tuple[list[NewIntent], list[IssuedCertificate]]]
) -> None:
    fast_reg, slow_reg = fast.open(), member_by_member(slow.open())
    plain_used: list[bool] = []
    plain = fast_reg._plain_batch

    def observed(*args: Any, **kwargs: Any) -> Any:
        written = plain(*args, **kwargs)
        plain_used.append(written is not None)
        return written

    fast_reg._plain_batch = observed  # type: ignore[method-assign]
    results = run(fast_reg, plan)
    assert results == run(slow_reg, plan)
    assert dump(fast) == dump(slow)
    assert verify_store(fast_reg).ok
    # a batch in which every member was written as new went the set-based way
    for used, members in zip(plain_used, results, strict=True):
        clean = bool(members) and all(
            not isinstance(m, tuple) or (len(m) == 3 and m[1] is True) for m in members
        )
        assert used == clean, members


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=batches())
def test_sqlite_batches_write_what_member_by_member_writes(tmp_path: Path, plan: Any) -> None:
    here = tmp_path / f"case-{uuid.uuid4().hex}"
    (here / "fast").mkdir(parents=True)
    (here / "slow").mkdir()
    same_as_member_by_member(
        make_store("sqlite", None, here / "fast"), make_store("sqlite", None, here / "slow"), plan
    )


@pytest.mark.parametrize("seed", range(12))
def test_postgres_batches_write_what_member_by_member_writes(
    pg_server: PgServer | None, tmp_path: Path, seed: int
) -> None:
    plan = _seeded_plan(seed)
    fast = make_store("postgres", pg_server, tmp_path)
    slow = make_store("postgres", pg_server, tmp_path)
    try:
        same_as_member_by_member(fast, slow, plan)
    finally:
        fast.close_all()
        slow.close_all()


def _seeded_plan(seed: int) -> list[tuple[list[NewIntent], list[IssuedCertificate]]]:
    """A plan drawn from :func:`batches` with a fixed seed (no hypothesis database on PG)."""
    rnd = random.Random(seed)
    plan = []
    for _ in range(rnd.randint(2, 4)):
        intents = []
        for _ in range(rnd.randint(0, 5)):
            order = rnd.choice((*ORDERS, None))
            idem = rnd.choice((None, None, None, *IDEMPOTENCY))
            intents.append(
                new_intent(
                    rnd.randint(1, 12),
                    order=order,
                    order_quota=None if order is None else rnd.choice((None, 1, 3, 6)),
                    key_hash=rnd.choice((None, None, *KEYS)),
                    idempotency_key=idem,
                    request_digest=rnd.choice((b"request-1", b"request-2")) if idem else b"",
                )
            )
        certificates = [
            issued(new_intent(rnd.randint(1, 12), order=rnd.choice((*ORDERS, None))))
            for _ in range(rnd.randint(0, 4))
        ]
        plan.append((intents, certificates))
    return plan

"""Faults during issuance, on SQLite and PostgreSQL: an issuing process killed with SIGKILL at
every step, a database that turns read-only or drops the connection mid-operation, and an HSM
that disappears between *record* and *sign*. After each, the register is consistent: no
certificate without a completed intent, no completed intent without its certificate, and the
resolver completes or voids every intent left open."""

from __future__ import annotations

import multiprocessing
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from atlas_ca.audit import verify_store
from atlas_ca.errors import IssuancePending, StorageReadOnly, StorageUnavailable
from atlas_ca.gost import streebog256
from atlas_ca.storage import IntentState
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.x509.certificate import Certificate
from support import issuance_workers
from support.atlas_testing import missing, softhsm_module_path
from support.issuance_env import World, make_world, registers

pg_server = registers.pg_server
store = registers.store
ISSUANCES = 3

# step -> what the resolver must make of the killed issuance's intent (None: no intent at all)
KILL_POINTS: dict[str, str | None] = {
    "confirm": None,
    "record_intent:inserted": None,
    "record_intent:before-commit": None,
    "record": "voided",
    "sign": "voided",
    "verify": "voided",
    "outbox": "completed",
    "complete_intent:certificate-inserted": "completed",
    "complete_intent:before-commit": "completed",
    "store": "completed",  # after the commit: the intent is already complete
}


def _intents(reg: SqlRegister) -> dict[int, IntentState]:
    with reg._db.read() as cur:
        rows = cur.all("SELECT serial, state FROM issuance_intents")
    return {int(s, 16): IntentState(state) for s, state in rows}


def assert_consistent(world: World) -> dict[int, IntentState]:
    """No open intent; a certificate for exactly the completed intents, each the recorded TBS
    signed by the CA; an empty outbox; an intact audit chain."""
    reg = world.register
    assert isinstance(reg, SqlRegister)
    assert reg.open_intents() == []
    intents = _intents(reg)
    certificates = {c.serial: c for c in reg.certificates_of(world.subscriber.id)}
    completed = {s for s, state in intents.items() if state is IntentState.COMPLETED}
    assert set(certificates) == completed
    for serial, record in certificates.items():
        cert = Certificate.from_der(record.der)
        cert.verify_signed_by(world.ca.certificate.public_key_info)
        assert streebog256(cert.tbs_der) == reg.get_intent(world.ca.issuer_id, serial).tbs_digest
    assert list(world.outbox.entries()) == []
    assert verify_store(reg).ok
    return intents


@pytest.mark.parametrize("step", list(KILL_POINTS))
def test_an_issuer_killed_at_any_step_leaves_a_register_the_resolver_makes_consistent(
    store: Any, tmp_path: Path, step: str
) -> None:
    kill_at = random.Random(f"{store.kind}/{step}").randrange(ISSUANCES)
    world = make_world(store.open(), tmp_path)  # CA and keys created before the child starts
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=issuance_workers.issue_many,
        args=(store.kind, store.location, str(tmp_path), ISSUANCES, step, kill_at),
    )
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL, f"the issuer was not killed at {step!r}"

    left_open = world.register.open_intents()
    resolution = world.service().resolve_open_intents()
    intents = assert_consistent(world)
    expected = KILL_POINTS[step]
    states = sorted(intents.values(), key=lambda s: s.value)
    completed_before = [IntentState.COMPLETED] * kill_at
    if expected is None:
        assert states == completed_before
        assert left_open == []
    elif expected == "voided":
        assert states == sorted([*completed_before, IntentState.VOIDED], key=lambda s: s.value)
        assert resolution.voided == tuple(i.serial for i in left_open)
    else:
        assert states == [IntentState.COMPLETED] * (kill_at + 1)
        assert resolution.completed == tuple(i.serial for i in left_open)


# --- the database fails mid-operation ---------------------------------------------------------


def _set_read_only(reg: SqlRegister, on: bool) -> None:
    db: Any = reg._db
    if hasattr(db, "_conn"):  # SQLite
        db._conn.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
    else:
        db.conn.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


def _at(step: str, action: Callable[[], None]) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == step:
            action()

    return hook


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    return make_world(store.open(), tmp_path)


def test_a_register_turning_read_only_before_the_intent_refuses_and_signs_nothing(
    world: World,
) -> None:
    reg = world.register
    assert isinstance(reg, SqlRegister)
    service = world.service(on_step=_at("confirm", lambda: _set_read_only(reg, True)))
    with pytest.raises(StorageReadOnly, match="nothing was written"):
        service.issue(world.request())
    _set_read_only(reg, False)
    assert _intents(reg) == {}
    assert list(world.outbox.entries()) == []
    assert_consistent(world)


def test_a_register_turning_read_only_before_the_store_keeps_the_intent_for_the_resolver(
    world: World,
) -> None:
    reg = world.register
    assert isinstance(reg, SqlRegister)
    service = world.service(on_step=_at("outbox", lambda: _set_read_only(reg, True)))
    with pytest.raises(IssuancePending, match="kept in the outbox") as info:
        service.issue(world.request())
    assert isinstance(info.value.__cause__, StorageReadOnly)
    [intent] = reg.open_intents()
    assert reg.certificates_of(world.subscriber.id) == []  # nothing half-written
    assert len(list(world.outbox.entries())) == 1
    _set_read_only(reg, False)
    resolution = world.service().resolve_open_intents()
    assert resolution.completed == (intent.serial,)
    assert_consistent(world)


def test_a_postgres_connection_killed_before_the_store_is_unavailable_then_resolved(
    pg_server: Any, tmp_path: Path
) -> None:
    store = registers.make_store("postgres", pg_server, tmp_path)
    world = make_world(store.open(), tmp_path)
    reg = world.register
    assert isinstance(reg, SqlRegister)
    db: Any = reg._db
    pid = db.conn.info.backend_pid

    def kill_backend() -> None:
        with psycopg.connect(store.location, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    service = world.service(on_step=_at("outbox", kill_backend))
    with pytest.raises(IssuancePending) as info:
        service.issue(world.request())
    assert isinstance(info.value.__cause__, StorageUnavailable)
    # The register reconnects on its next call; the resolver completes the intent.
    resolution = world.service().resolve_open_intents()
    assert len(resolution.completed) == 1
    assert_consistent(world)


# --- the HSM disappears mid-operation ------------------------------------------------------------


@pytest.mark.softhsm
def test_a_token_vanishing_between_record_and_sign_voids_the_intent(tmp_path: Path) -> None:
    if softhsm_module_path() is None:
        missing("SoftHSM built with GOST (run scripts/bootstrap.sh)")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        out = pool.apply(
            issuance_workers.issue_with_vanishing_token,
            (str(tmp_path), str(tmp_path / "register.sqlite3")),
        )
    assert out["error"] == "IssuanceFailed"
    assert out["context"]["step"] == "sign"
    assert "token 'vanishing'" in out["message"]
    assert "CKR_" in out["message"]
    assert "intent was voided" in out["message"]
    states = dict(out["intents"])
    assert states[out["first"]] == "completed"
    assert sorted(states.values()) == ["completed", "voided"]
    assert out["certificates"] == [out["first"]]
    assert out["outbox"] == 0

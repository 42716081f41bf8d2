"""Process entry points for the load and fault tests (spawned, so they live in an importable
module, not in a test file). Each opens its own register from ``(kind, location)``."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import timedelta
from typing import Any

from atlas_ca.errors import AtlasCaError, SerialCollision
from atlas_ca.storage import IdempotencyKey, RevocationReason
from atlas_ca.storage._sql import SqlRegister, latest_version
from atlas_ca.storage.postgres import PostgresRegister
from atlas_ca.storage.sqlite import SqliteRegister
from support.registers import ACTOR, ISSUER, OPERATOR, T0, issued, new_intent


def open_register(kind: str, location: str, on_step: object = None) -> SqlRegister:
    if kind == "sqlite":
        return SqliteRegister(location, opened_at=T0, on_step=on_step)  # type: ignore[arg-type]
    return PostgresRegister(location, opened_at=T0, on_step=on_step)  # type: ignore[arg-type]


def issue_many(
    kind: str, location: str, worker: int, count: int, serial_space: int
) -> dict[str, object]:
    """Record ``count`` intents and their certificates, drawing serials at random from a small
    space so that concurrent workers collide and must retry. Returns serials and collisions."""
    rng = random.Random(1000 + worker)
    serials: list[int] = []
    collisions = 0
    with open_register(kind, location) as reg:
        while len(serials) < count:
            serial = rng.randrange(1, serial_space)
            intent = new_intent(serial, created_at=T0 + timedelta(milliseconds=len(serials)))
            try:
                reg.record_intent(intent, actor=ACTOR)
            except SerialCollision:
                collisions += 1
                continue
            reg.complete_intent(issued(intent), actor=ACTOR)
            serials.append(serial)
    return {"serials": serials, "collisions": collisions}


def crl_numbers(kind: str, location: str, count: int) -> list[int]:
    with open_register(kind, location) as reg:
        return [reg.next_crl_number(ISSUER) for _ in range(count)]


def _kill_at(step: str) -> object:
    def hook(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def crash_during(kind: str, location: str, operation: str, step: str, serial: int) -> None:
    """Run ``operation`` on ``serial`` and die by SIGKILL at ``step`` inside its transaction."""
    reg = open_register(kind, location, _kill_at(step))
    intent = new_intent(serial)
    if operation == "record_intent":
        reg.record_intent(intent, actor=ACTOR)
    elif operation == "complete_intent":
        reg.complete_intent(issued(intent), actor=ACTOR)
    elif operation == "revoke":
        reg.revoke(
            ISSUER,
            serial,
            reason=RevocationReason.KEY_COMPROMISE,
            revocation_date=T0,
            actor=OPERATOR,
        )
    raise SystemExit(f"{operation} finished without reaching step {step!r}")


def write_as_unprivileged(path: str) -> tuple[str, str]:
    """Drop root (which ignores file modes), then try to write to the register at ``path``."""
    latest_version("sqlite")  # load what imports lazily while the interpreter's files are readable
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        reg = SqliteRegister(path, opened_at=T0, busy_timeout_ms=2000)
        reg.record_intent(new_intent(801), actor=ACTOR)
    except AtlasCaError as exc:
        return type(exc).__name__, str(exc)
    return "no error", ""


def same_request(kind: str, location: str, worker: int, rounds: int) -> list[tuple[int, bool]]:
    """Send ``rounds`` requests, each with a key shared by every worker (a client retrying on
    several nodes at once) but a serial of this worker's own."""
    out = []
    with open_register(kind, location) as reg:
        for r in range(rounds):
            key = IdempotencyKey(f"client-retry-{r:04d}")
            intent = new_intent(
                1_000_000 * (worker + 1) + r, idempotency_key=key, request_digest=b"same request"
            )
            outcome = reg.record_intent(intent, actor=ACTOR)
            out.append((outcome.intent.serial, outcome.created))
    return out


def revoke_many(kind: str, location: str, serials: list[int]) -> list[int]:
    """Revoke ``serials``; returns the change numbers the register gave each change."""
    with open_register(kind, location) as reg:
        out = []
        for serial in serials:
            reg.revoke(
                ISSUER,
                serial,
                reason=RevocationReason.SUPERSEDED,
                revocation_date=T0,
                actor=OPERATOR,
            )
            out.append(reg.status_history(ISSUER, serial)[-1].change_no)
        return out


def write_while(location: str, start: Any, seconds: float, results: Any) -> None:
    """Short write transactions (a CRL number each) on the SQLite register at ``location`` for
    ``seconds`` once every worker has reached ``start`` (a Barrier); puts how many it made."""
    reg = SqliteRegister(location, opened_at=T0)
    reg.next_crl_number(ISSUER)  # warm: the first statements, the reader pool
    start.wait(timeout=120)
    n, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        reg.next_crl_number(ISSUER)
        n += 1
    reg.close()
    results.put(n)


def hold_write_transaction(location: str, inside: Any) -> None:
    """Open a write transaction on the SQLite register at ``location``, set ``inside`` and stay
    in it for a minute: a writer for the test to SIGKILL (nothing waits on a shared condition
    here, which a SIGKILL would leave locked)."""

    def hook(name: str) -> None:
        if name == "record_intent:before-commit":
            inside.set()
            time.sleep(60)

    reg = SqliteRegister(location, opened_at=T0, on_step=hook)
    reg.record_intent(new_intent(4242), actor=ACTOR)
    reg.close()


def hold_in_rounds(location: str, rounds: int, hold: float, go: Any, inside: Any, out: Any) -> None:
    """``rounds`` times: on a word from ``go``, open a write transaction on the SQLite register
    at ``location``, report ``inside``, stay ``hold`` seconds, commit, and put on ``out`` the
    monotonic time once the commit returned (the writer lock is free by then)."""

    def hook(name: str) -> None:
        if name == "record_intent:before-commit":
            inside.put(True)
            time.sleep(hold)

    reg = SqliteRegister(location, opened_at=T0, on_step=hook)
    for r in range(rounds):
        go.get(timeout=120)
        reg.record_intent(new_intent(10_000 + r), actor=ACTOR)
        out.put(time.monotonic())
    reg.close()

"""Process entry points of the issuance load and fault tests (spawned: an importable module,
not a test file). Each process opens its own register and builds its world in a shared
directory (one CA key and certificate, one outbox)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from atlas_ca.errors import AtlasCaError
from support.issuance_env import make_world, registers

Result = dict[str, Any]


def issue_many(
    kind: str,
    location: str,
    base: str,
    count: int,
    kill_step: str | None = None,
    kill_at: int = 0,
) -> Result:
    """Issue ``count`` certificates; with ``kill_step``, SIGKILL this process the ``kill_at``-th
    time (from 0) a pipeline or register step of that name is reached."""
    seen: dict[str, int] = {}

    def hook(name: str) -> None:
        if kill_step is None or name != kill_step:
            return
        if seen.get(name, 0) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        seen[name] = seen.get(name, 0) + 1

    reg = registers.Store(kind, location).open(on_step=hook)
    try:
        world = make_world(reg, Path(base))
        service = world.service(on_step=hook)
        serials: list[int] = []
        started = time.perf_counter()
        for _ in range(count):
            serials.append(service.issue(world.request()).certificate.serial_number)
        return {"serials": serials, "seconds": time.perf_counter() - started}
    finally:
        reg.close()


def issue_on_order(kind: str, location: str, base: str, order_id: str, barrier: Any) -> Result:
    """One issuance under a one-certificate order ``order_id``; every process waits at
    ``barrier`` after *confirm* (all counted the order's unit as free) before it records."""
    from atlas_ca.errors import OrderExhausted
    from support.issuance_env import paid_order

    def wait_for_the_others(step: str) -> None:
        if step == "confirm":
            barrier.wait(120)

    reg = registers.Store(kind, location).open()
    try:
        world = make_world(reg, Path(base))
        order = paid_order(world.subscriber.id, order_id)
        try:
            result = world.service(on_step=wait_for_the_others).issue(world.request(order=order))
        except OrderExhausted as exc:
            return {"refused": exc.rule, "bought": exc.context["bought"]}
        return {"serial": result.certificate.serial_number}
    finally:
        reg.close()


def resolve(kind: str, location: str, base: str) -> Result:
    reg = registers.Store(kind, location).open()
    try:
        world = make_world(reg, Path(base))
        r = world.service().resolve_open_intents()
        return {
            "completed": list(r.completed),
            "voided": list(r.voided),
            "cleaned": list(r.cleaned),
        }
    finally:
        reg.close()


def issue_with_vanishing_token(base: str, location: str) -> Result:
    """A CA key on a SoftHSM token of its own; after one good issuance the token's directory is
    removed between *record* and *sign* (the HSM disappears under the running process)."""
    import shutil

    from atlas_ca.algorithms import KeyType
    from atlas_ca.hsm.pkcs11 import open_token

    root = Path(base)
    token_dir = root / "hsm"
    token = _init_token(token_dir)
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    hsm = open_token(token.uri())
    key = hsm.generate_key(KeyType.GOST3410_2012_256, label="vanishing-ca", key_id=b"\x77\x01")
    reg = registers.Store("sqlite", location).open()
    out: Result = {}
    try:
        world = make_world(reg, root, ca_key=key)
        out["first"] = world.service().issue(world.request()).certificate.serial_number

        def pull_the_token(name: str) -> None:
            if name == "record":
                shutil.rmtree(token_dir / "tokens")

        try:
            world.service(on_step=pull_the_token).issue(world.request())
        except AtlasCaError as exc:
            out["error"] = type(exc).__name__
            out["message"] = str(exc)
            out["context"] = dict(exc.context)
        out["intents"] = [
            (i.serial, i.state.value)
            for i in (reg.get_intent(world.ca.issuer_id, s) for s in _serials(reg))
        ]
        out["certificates"] = [c.serial for c in reg.certificates_of(world.subscriber.id)]
        out["outbox"] = len(list(world.outbox.entries()))
        return out
    finally:
        reg.close()


def _serials(reg: Any) -> list[int]:
    with reg._db.read() as cur:
        return [int(r[0], 16) for r in cur.all("SELECT serial FROM issuance_intents")]


def _init_token(base: Path) -> Any:
    from support import (
        atlas_testing,  # spawned workers inherit sys.path, which has tests/ (pytest pythonpath)
    )

    return atlas_testing.init_softhsm_token(base, "vanishing")

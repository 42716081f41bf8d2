"""Process entry point of the group-commit crash test (spawned: an importable module)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from support.issuance_env import make_world, registers


def issue_concurrently_and_die_after_record(
    kind: str, location: str, base: str, threads: int
) -> dict[str, Any]:
    """``threads`` issuances at once through one service (group commit); the process SIGKILLs
    itself when the second of them finishes *record*: its intent committed, the token has not
    signed it. Never returns normally."""
    reg = registers.Store(kind, location).open()
    world = make_world(reg, Path(base))
    requests = [world.request() for _ in range(threads)]
    recorded = [0]
    lock = threading.Lock()

    def hook(step: str) -> None:
        if step != "record":
            return
        with lock:
            recorded[0] += 1
            if recorded[0] == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    service = world.service(on_step=hook)
    workers = [threading.Thread(target=service.issue, args=(r,)) for r in requests]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    raise SystemExit("the process was not killed after record")


def issue_with_threads_on_a_shared_token(
    kind: str, location: str, base: str, conf: str, key_uri: str, threads: int, each: int
) -> dict[str, Any]:
    """One worker process as ``atlas-ca serve`` runs several (issue 17): ``threads`` requests
    at a time into one service (its own group commit) on the register and the SoftHSM key that
    the other processes use too; ``each`` issuances per thread. Returns the serials, and any
    failure as text (the errors of atlas_ca do not pickle)."""
    import traceback

    from atlas_ca.hsm import open_key

    os.environ["SOFTHSM2_CONF"] = conf  # before the module is loaded in this process
    serials: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    reg = registers.Store(kind, location).open()
    try:
        world = make_world(reg, Path(base), ca_key=open_key(key_uri))
        service = world.service(on_step=None)
        requests = [[world.request() for _ in range(each)] for _ in range(threads)]

        def client(mine: list[Any]) -> None:
            for request in mine:
                try:
                    serial = service.issue(request).certificate.serial_number
                except Exception:
                    with lock:
                        failures.append(traceback.format_exc())
                    return
                with lock:
                    serials.append(serial)

        workers = [threading.Thread(target=client, args=(r,)) for r in requests]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    except Exception:
        failures.append(traceback.format_exc())
    finally:
        reg.close()
    return {"serials": serials, "failures": failures}

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

"""Process entry point of the register's group-commit crash test (spawned: importable)."""

from __future__ import annotations

import os
import signal

from support.register_workers import open_register
from support.registers import ACTOR, new_intent


def record_batch_and_die_before_commit(kind: str, location: str, serials: list[int]) -> None:
    """``record_intents`` of ``serials``; SIGKILL inside the transaction, every member written,
    just before the commit."""

    def hook(step: str) -> None:
        if step == "record_intents:before-commit":
            os.kill(os.getpid(), signal.SIGKILL)

    reg = open_register(kind, location, hook)
    reg.record_intents([new_intent(s) for s in serials], actor=ACTOR)
    raise SystemExit("record_intents finished without reaching its commit")

"""Process entry points of the token-lookup tests (spawned: an importable module, not a test
file). Each process sets SOFTHSM2_CONF before it loads the module, as a fresh CLI process does."""

from __future__ import annotations

import os
from typing import Any


def init_token_when_told(conf: str, module: str, ready: Any, go: Any, label: str) -> str:
    """Load the module, say so, wait for ``go``, then initialise a token ``label``."""
    os.environ["SOFTHSM2_CONF"] = conf
    from atlas_ca.hsm.pkcs11 import Pkcs11Module

    loaded = Pkcs11Module.load(module)
    ready.set()
    go.wait(120)
    loaded.init_token(label, so_pin="so-pin-5678", user_pin="user-pin-1234")
    return label


def report_look_up(conf: str, module: str, label: str, results: Any) -> None:
    results.put(look_up_a_token_made_meanwhile(conf, module, label))


def look_up_a_token_made_meanwhile(conf: str, module: str, label: str) -> dict[str, Any]:
    """Start looking for ``label`` the moment another process is told to create it: a CLI
    command starting while another process writes the token directory."""
    import multiprocessing

    os.environ["SOFTHSM2_CONF"] = conf
    from atlas_ca.errors import TokenNotFound
    from atlas_ca.hsm.pkcs11 import Pkcs11Module

    loaded = Pkcs11Module.load(module)
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Event(), ctx.Event()
    maker = ctx.Process(target=init_token_when_told, args=(conf, module, ready, go, label))
    maker.start()
    try:
        assert ready.wait(120)
        labels_before = [loaded.token_info(s).label for s in loaded.slots()]
        go.set()
        try:
            token = loaded.token(label=label)
        except TokenNotFound as exc:
            return {"before": labels_before, "error": str(exc)}
        return {"before": labels_before, "found": token.label}
    finally:
        maker.join(120)

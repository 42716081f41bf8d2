"""The demo puts no PIN on any command line (issue 15 item 7; docs/hsm.md: PINs never go on a
command line, where every user sees them in the process list). The token is initialised with
C_InitToken/C_InitPIN in the demo's own process; every child it starts is recorded."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from support import demo_workers
from support.cli_ops_support import softhsm_env

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]


def test_no_pin_appears_in_the_argv_of_any_child_of_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in softhsm_env().items():
        monkeypatch.setenv(name, value)  # the spawned process inherits the environment
    monkeypatch.delenv("SOFTHSM2_CONF", raising=False)
    out = tmp_path / "demo"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result = pool.apply_async(demo_workers.run_demo_recording_argv, (str(out),)).get(600)
    assert "token" in result["steps"]
    children = result["argv"]
    assert children, "the demo started no child process: the recording saw nothing"
    pins = [(out / "user.pin").read_text().strip(), (out / "so.pin").read_text().strip()]
    assert all(len(pin) >= 8 for pin in pins)
    for argv in children:
        joined = " ".join(argv)
        for pin in pins:
            assert pin not in joined, f"a PIN is on the command line of {argv[0]}"
    assert not any("softhsm2-util" in argv[0] for argv in children)

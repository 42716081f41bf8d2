"""Helpers of the operator-CLI tests: run the installed ``atlas-ca`` as a subprocess with the
SoftHSM variables of ``.atlas-ca-env``; the storage tests' SQLite/PostgreSQL register fixtures
(not a test module)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from support import registers as registers
from support.atlas_testing import _env_file_value, missing

ATLAS_CA = Path(sys.executable).with_name("atlas-ca")


def softhsm_env() -> dict[str, str]:
    """The environment with ATLAS_CA_SOFTHSM_MODULE/UTIL set; skips (fails in CI) without them."""
    env = dict(os.environ)
    for name in ("ATLAS_CA_SOFTHSM_MODULE", "ATLAS_CA_SOFTHSM_UTIL"):
        value = env.get(name) or _env_file_value(name)
        if value:
            env[name] = value
    module = env.get("ATLAS_CA_SOFTHSM_MODULE")
    if not module or not Path(module).is_file():
        missing("SoftHSM built with GOST (run scripts/bootstrap.sh)")
    env.pop("SOFTHSM2_CONF", None)
    env.pop("ATLAS_CA_CONFIG", None)
    return env


def run_cli(
    args: list[str], *, env: Mapping[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``atlas-ca ARGS`` as a real process of the installed entry point."""
    return subprocess.run(
        [str(ATLAS_CA), *args],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        input=stdin,
        timeout=300,
        check=False,
    )

"""Process entry point of the demo's PIN test (spawned: an importable module, not a test file):
run the demo in a fresh process with every child process's argv recorded."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def run_demo_recording_argv(directory: str) -> dict[str, Any]:
    """Run the demo in ``directory``; every argv this process started (subprocess) with it."""
    seen: list[list[str]] = []
    original = subprocess.Popen.__init__

    def recording(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        argv = [args] if isinstance(args, str | bytes) else list(args)
        seen.append([a.decode() if isinstance(a, bytes) else str(a) for a in argv])
        original(self, args, *rest, **kw)

    subprocess.Popen.__init__ = recording  # type: ignore[method-assign]
    try:
        from atlas_ca.cli.demo.scenario import run_demo

        report = run_demo(Path(directory), say=lambda _line: None)
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]
    return {"argv": seen, "steps": [s.name for s in report.steps]}

"""The audit tests reuse the register fixtures of tests/storage."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "storage"))

from registers import pg_server, register, store  # noqa: F401

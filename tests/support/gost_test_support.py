"""Shared helpers of the GOST tests: the engine parameter and the standards' vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from atlas_ca.gost.engine import EngineName, native_available
from support.atlas_testing import missing

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "gost"

ENGINES = ("native", "pure")


def require_engine(name: str) -> EngineName:
    """Return ``name``; the native engine skips locally (fails in CI) when it cannot load."""
    if name == "native" and not native_available():
        missing("native GOST engine (libcrypto.so.3 with libengine-gost-openssl)")
    assert name in ENGINES
    return cast(EngineName, name)


def load_vectors(filename: str) -> list[dict[str, Any]]:
    data = json.loads((VECTORS / filename).read_text(encoding="utf-8"))
    vectors: list[dict[str, Any]] = data["vectors"]
    return vectors

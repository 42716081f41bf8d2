"""Which engine computes: the system libcrypto with the gost engine ("native") or gostcrypto.

``ATLAS_CA_GOST_ENGINE=native|pure`` forces one; unset, native is used when it loads and pure
otherwise. Forcing native where it cannot load raises :class:`GostEngineUnavailable` rather than
silently running 100 times slower.

The native engine has a second part since issue 17: our C extension ``atlas_ca.gost._ecverify``
(signature verification arithmetic, :mod:`atlas_ca.gost.ecverify`), loaded on first use by
:func:`extension_module`. A build without it (a source checkout on ``PYTHONPATH``, no compiler)
still works: native verification then runs entirely in the gost engine.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import ModuleType
from typing import Literal

from atlas_ca.errors import GostEngineUnavailable

EngineName = Literal["native", "pure"]
ENGINES: tuple[EngineName, ...] = ("native", "pure")
ENV_VAR = "ATLAS_CA_GOST_ENGINE"

_lock = threading.Lock()
_native_module: ModuleType | None = None
_native_error: str | None = None
_native_tried = False


def native_module() -> ModuleType:
    """The loaded native engine module, or :class:`GostEngineUnavailable` saying why not."""
    global _native_module, _native_error, _native_tried
    if _native_module is not None:  # loaded: no lock (a module global is read atomically)
        return _native_module
    with _lock:
        if not _native_tried:
            _native_tried = True
            try:
                module = importlib.import_module("atlas_ca.gost._native")
                module.load()
                _native_module = module
            except GostEngineUnavailable as exc:
                _native_error = exc.message
            except (ImportError, OSError, AttributeError) as exc:
                _native_error = f"{type(exc).__name__}: {exc}"
    if _native_module is None:
        raise GostEngineUnavailable(
            f"the native GOST engine (libcrypto with the gost engine) is unavailable: "
            f"{_native_error}",
            engine="native",
        )
    return _native_module


_ext_module: ModuleType | None = None
_ext_error: str | None = None
_ext_tried = False


def extension_module() -> ModuleType | None:
    """The compiled ``atlas_ca.gost._ecverify``, or ``None`` when it is not built (see
    :func:`extension_error`). Imported on first use only, so ``import atlas_ca`` stays light."""
    global _ext_module, _ext_error, _ext_tried
    if _ext_tried:
        return _ext_module
    with _lock:
        if not _ext_tried:
            try:
                _ext_module = importlib.import_module("atlas_ca.gost._ecverify")
            except ImportError as exc:
                _ext_error = f"{type(exc).__name__}: {exc}"
            _ext_tried = True
    return _ext_module


def extension_error() -> str | None:
    """Why :func:`extension_module` is ``None`` (``None`` if it loaded or was not tried)."""
    return _ext_error


def native_available() -> bool:
    try:
        native_module()
    except GostEngineUnavailable:
        return False
    return True


def resolve(engine: EngineName | None = None) -> EngineName:
    """The engine to use for one call: ``engine`` if given, else :func:`active_engine`."""
    if engine is None:
        return active_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'native' or 'pure', not {engine!r}")
    if engine == "native":
        native_module()
    return engine


def active_engine() -> EngineName:
    """The engine GOST operations use now (see the module docstring for the rules).

    The variable is read on every call (tests and operators may set it at run time); the
    common case, unset with the native engine loaded, returns without the lock (issue 17:
    five calls per issued certificate).
    """
    forced = os.environ.get(ENV_VAR)
    if not forced:
        if _native_module is not None:
            return "native"
        return "native" if native_available() else "pure"
    forced = forced.strip().lower()
    if forced == "pure":
        return "pure"
    if forced == "native":
        native_module()
        return "native"
    if forced:
        raise GostEngineUnavailable(
            f"{ENV_VAR}={forced!r} is not an engine; use 'native' or 'pure'", engine=forced
        )
    return "native" if native_available() else "pure"

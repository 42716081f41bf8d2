"""atlas_ca — core library of an accredited Russian certificate authority.

One entry point for Python services: ``atlas_ca.open(config)`` returns an
:class:`~atlas_ca.app.AtlasCA` whose methods are the use cases (docs/library-guide.md). It is
imported on first use, so ``import atlas_ca`` stays light (no HSM, storage or crypto modules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from atlas_ca.app import AtlasCA, AtlasConfig, load_config, open

_LAZY = {"open", "AtlasCA", "AtlasConfig", "load_config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from atlas_ca import app

        return getattr(app, name)
    raise AttributeError(f"module 'atlas_ca' has no attribute {name!r}")


__all__ = ["AtlasCA", "AtlasConfig", "__version__", "load_config", "open"]

"""The one C extension of atlas_ca, ``atlas_ca.gost._ecverify`` (GOST R 34.10-2012 verification
arithmetic; see its source and docs/performance.md). Everything else is in pyproject.toml.

``optional=True`` is deliberately not set: an install without a C compiler fails loudly rather
than leaving the library 3-4 times slower at verifying without saying so; the package itself
still imports without the extension (it falls back to the gost engine), which matters for a
source checkout on ``PYTHONPATH``.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "atlas_ca.gost._ecverify",
            sources=["src/atlas_ca/gost/_ecverify.c"],
            depends=["src/atlas_ca/gost/_ecverify_impl.h"],
            # -O3 unrolls the limb loops; no vectoriser: it turns the branchless selects into
            # SSE moves that stall on store forwarding (measured 2-4x slower field additions).
            extra_compile_args=["-O3", "-fno-tree-vectorize", "-std=c11", "-Wall", "-Wextra"],
        )
    ],
)

"""The ``openssl`` command with the gost engine, as the tests, benchmarks and demo run it.

atlas_ca never needs OpenSSL to sign or verify; OpenSSL is the outside verifier that
cross-checks what atlas_ca writes (certificates, CRLs, signatures, Streebog digests). Its GOST
algorithms come from the gost engine (Debian package ``libengine-gost-openssl``), which OpenSSL
loads only when a configuration file says so: :data:`OPENSSL_GOST_CONF` is that file, kept here
once. ``default_algorithms = ALL`` makes the engine the default implementation of the GOST
algorithms, so plain ``openssl dgst -md_gost12_256``, ``openssl req -newkey gost2012_256`` or
``openssl ca -gencrl`` use it without ``-engine``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

#: An OpenSSL configuration that loads the gost engine for every GOST algorithm.
OPENSSL_GOST_CONF: Final = """\
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""

#: The file name :func:`write_openssl_gost_conf` gives the configuration.
OPENSSL_GOST_CONF_NAME: Final = "openssl-gost.cnf"


def write_openssl_gost_conf(directory: Path) -> Path:
    """Write :data:`OPENSSL_GOST_CONF` to ``directory/openssl-gost.cnf``; return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / OPENSSL_GOST_CONF_NAME
    conf.write_text(OPENSSL_GOST_CONF)
    return conf


def openssl_gost_env(conf: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's environment) with ``OPENSSL_CONF=conf``."""
    return dict(os.environ if base is None else base, OPENSSL_CONF=str(conf))


def run_openssl(
    binary: str,
    conf: Path,
    args: Sequence[str | os.PathLike[str]],
    *,
    input: bytes | None = None,
    cwd: Path | None = None,
    check: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``binary *args`` with the configuration ``conf``, capturing its output.

    ``check`` raises :class:`subprocess.CalledProcessError` on a non-zero exit, as
    :func:`subprocess.run` does.
    """
    return subprocess.run(
        [binary, *map(str, args)],
        input=input,
        capture_output=True,
        env=openssl_gost_env(conf),
        cwd=cwd,
        timeout=timeout,
        check=check,
    )


def gost_engine_available(binary: str, conf: Path) -> bool:
    """Whether ``openssl engine -t gost`` reports the engine available under ``conf``."""
    probe = run_openssl(binary, conf, ["engine", "-t", "gost"])
    return probe.returncode == 0 and b"available" in probe.stdout


__all__ = [
    "OPENSSL_GOST_CONF",
    "OPENSSL_GOST_CONF_NAME",
    "gost_engine_available",
    "openssl_gost_env",
    "run_openssl",
    "write_openssl_gost_conf",
]

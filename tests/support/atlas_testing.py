"""Shared test support: the real SoftHSM-GOST token, OpenSSL with the gost engine, certtool.

Import it as ``atlas_testing``, never through ``conftest``: every conftest.py in the tree is a
module named ``conftest``, so such imports pick whichever was loaded first.
Locally a missing component skips the tests that need it; with ``CI=true`` it fails them
(the project's rule: no skipped GOST/HSM tests in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_ca.cli.demo.interop import gost_engine_available, run_openssl, write_openssl_gost_conf

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[2]


def _env_file_value(name: str) -> str | None:
    env_file = REPO / ".atlas-ca-env"
    if not env_file.exists():
        return None
    for line in env_file.read_text().splitlines():
        prefix = f"export {name}="
        if line.startswith(prefix):
            return line[len(prefix) :].strip().strip('"')
    return None


def missing(what: str) -> None:
    """Skip locally, fail in CI: a missing verifier or token is never a silent pass."""
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true", pytrace=False)
    pytest.skip(f"{what} not available")


# --- OpenSSL with the gost engine ----------------------------------------------------------


@dataclass(frozen=True)
class OpenSSL:
    """The ``openssl`` binary run with a config that loads the gost engine (cli.demo.interop)."""

    binary: str
    conf: Path

    def run(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        input: bytes | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        proc = run_openssl(self.binary, self.conf, args, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"openssl {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stdout.decode(errors='replace')}\n{proc.stderr.decode(errors='replace')}"
            )
        return proc


@pytest.fixture(scope="session")
def openssl_gost(tmp_path_factory: pytest.TempPathFactory) -> OpenSSL:
    binary = shutil.which("openssl")
    if binary is None:
        missing("openssl")
        raise AssertionError  # unreachable
    conf = write_openssl_gost_conf(tmp_path_factory.mktemp("openssl"))
    if not gost_engine_available(binary, conf):
        missing("OpenSSL gost engine (Debian package libengine-gost-openssl)")
    return OpenSSL(binary, conf)


# --- GnuTLS certtool -----------------------------------------------------------------------


@dataclass(frozen=True)
class Certtool:
    binary: str

    def run(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        input: bytes | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            [self.binary, *map(str, args)], input=input, capture_output=True, timeout=120
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"certtool {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stdout.decode(errors='replace')}\n{proc.stderr.decode(errors='replace')}"
            )
        return proc


@pytest.fixture(scope="session")
def certtool() -> Certtool:
    binary = shutil.which("certtool")
    if binary is None:
        missing("GnuTLS certtool (Debian package gnutls-bin)")
        raise AssertionError  # unreachable
    return Certtool(binary)


# --- SoftHSM built with GOST ---------------------------------------------------------------


@dataclass(frozen=True)
class SoftHsmToken:
    """A fresh SoftHSM token initialised for one test session."""

    module: Path
    conf: Path
    label: str
    user_pin: str
    so_pin: str
    pin_file: Path

    def uri(self, **attrs: str) -> str:
        path = ";".join([f"token={self.label}", *(f"{k}={v}" for k, v in attrs.items())])
        return f"pkcs11:{path}?module-path={self.module}&pin-source=file:{self.pin_file}"


def softhsm_module_path() -> Path | None:
    value = os.environ.get("ATLAS_CA_SOFTHSM_MODULE") or _env_file_value("ATLAS_CA_SOFTHSM_MODULE")
    if value and Path(value).is_file():
        return Path(value)
    return None


def init_softhsm_token(
    base: Path, label: str, user_pin: str = "1234", so_pin: str = "5678"
) -> SoftHsmToken:
    """Create a SoftHSM config in ``base`` and initialise one token labelled ``label``."""
    module = softhsm_module_path()
    if module is None:
        missing("SoftHSM built with GOST (run scripts/bootstrap.sh)")
        raise AssertionError  # unreachable
    tokens = base / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    # As the product does it (Pkcs11Module.init_token: C_InitToken, C_InitPIN), in a child that
    # reads the PINs from stdin: softhsm2-util takes them only on its command line, which every
    # user of the machine can read; the child keeps this process free of the module.
    init = (
        "import sys; from atlas_ca.hsm.pkcs11 import Pkcs11Module; "
        "so_pin, user_pin = sys.stdin.read().split(); "
        f"Pkcs11Module.load({str(module)!r})"
        f".init_token({label!r}, so_pin=so_pin, user_pin=user_pin)"
    )
    subprocess.run(
        [sys.executable, "-c", init],
        input=f"{so_pin}\n{user_pin}\n",
        text=True,
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    pin_file = base / f"{label}.pin"
    pin_file.write_text(user_pin)
    pin_file.chmod(0o600)
    return SoftHsmToken(module, conf, label, user_pin, so_pin, pin_file)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """A fresh SoftHSM-GOST token for the test session; SOFTHSM2_CONF points at it."""
    base = tmp_path_factory.mktemp("softhsm")
    token = init_softhsm_token(base, "atlas-test")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    try:
        yield token
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old

"""Hostile command-line input (issue 15 item 6, the CLI part): each case is one line from our own
error hierarchy with the documented exit code (2: usage or unreadable input), echoing at most a
bounded prefix of the input — never a traceback. Real processes of the installed ``atlas-ca`` on
the demo's CA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support.cli_ops_support import run_cli, softhsm_env

pytestmark = [pytest.mark.softhsm]

MAX_LINE = 300  # a message echoes a bounded prefix, whatever the input's size


@dataclass(frozen=True)
class Demo:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str, config: Path | None = None) -> tuple[int, str]:
        proc = run_cli([*args, "--config", str(config or self.config)], env=self.env)
        return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("bad-input") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    return Demo(out, out / "atlas-ca.toml", env)


def _refused_as_input(rc: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err[:2000]
    assert len(lines) == 1, err[:2000]
    assert lines[0].startswith("atlas-ca: error: ")
    assert len(lines[0]) <= MAX_LINE
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


def _config_with(demo: Demo, name: str, old: str, new: str) -> Path:
    text = demo.config.read_text(encoding="utf-8")
    assert old in text
    path = demo.dir / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_configuration_that_is_not_utf8_is_bad_input(demo: Demo) -> None:
    bad = demo.dir / "latin1.toml"
    bad.write_bytes(b'[register]\nlocation = "\xff\xfe"\n')
    rc, err = demo.cli("crl", "publish", config=bad)
    _refused_as_input(rc, err, "not UTF-8", "0xff")


def test_a_crl_validity_beyond_any_date_is_bad_input(demo: Demo) -> None:
    config = _config_with(
        demo, "huge.toml", "crl_validity_hours = 24", "crl_validity_hours = 99999999999999999999"
    )
    rc, err = demo.cli("crl", "publish", config=config)
    _refused_as_input(rc, err, "crl_validity_hours")


def test_a_subscriber_id_that_is_not_utf8_is_bad_input(demo: Demo) -> None:
    not_utf8 = b"sub-\xff\xfe".decode("utf-8", "surrogateescape")  # argv bytes as Python sees them
    rc, err = demo.cli("subscriber", "show", not_utf8)
    _refused_as_input(rc, err, "not UTF-8", "\\xff")


def test_a_serial_of_100000_characters_is_refused_with_a_bounded_echo(demo: Demo) -> None:
    rc, err = demo.cli("suspend", "a" * 100_000)
    _refused_as_input(rc, err, "20 octets")


def test_an_amount_of_1e999999_is_bad_input(demo: Demo) -> None:
    rc, err = demo.cli("order", "pay", "ord-0001", "--amount", "1e999999", "--payment-id", "p-huge")
    _refused_as_input(rc, err, "not an amount")


def test_issuing_under_the_ca_profile_is_bad_input(demo: Demo) -> None:
    """With an order that still has certificates (the demo's ord-0001 is used up)."""
    rc, err = demo.cli("order", "create", "ord-ca", "--customer", "sub-0001", "--item", "kep-issue")
    assert rc == 0, err
    rc, err = demo.cli("order", "pay", "ord-ca", "--amount", "3600.00", "--payment-id", "p-ca")
    assert rc == 0, err
    csr = str(demo.dir / "subscriber-1.csr.pem")
    rc, err = demo.cli(
        "issue", "--csr", csr, "--subscriber", "sub-0001", "--order", "ord-ca", "--profile", "ca"
    )
    _refused_as_input(rc, err, "not for subscribers")


def test_a_ca_certificate_that_is_not_of_the_ca_key_is_bad_input(demo: Demo) -> None:
    config = _config_with(
        demo,
        "mismatch.toml",
        f'certificate = "{demo.dir / "ca.pem"}"',
        f'certificate = "{demo.dir / "registrar.pem"}"',
    )
    rc, err = demo.cli("crl", "publish", config=config)
    _refused_as_input(rc, err, "not the key of the CA certificate")


def test_an_empty_pin_file_is_bad_input(demo: Demo) -> None:
    empty = demo.dir / "empty.pin"
    empty.write_text("")
    config = _config_with(
        demo,
        "empty-pin.toml",
        f"pin-source=file:{demo.dir / 'user.pin'}",
        f"pin-source=file:{empty}",
    )
    rc, err = demo.cli("crl", "publish", config=config)
    _refused_as_input(rc, err, "is empty")


def test_doctor_says_that_the_key_uris_module_path_wins(demo: Demo) -> None:
    """ATLAS_CA_PKCS11_MODULE was ignored silently when the key URI has a module-path."""
    env = dict(demo.env, ATLAS_CA_PKCS11_MODULE=str(demo.dir / "other-module.so"))
    proc = run_cli(["doctor", "--config", str(demo.config)], env=env)
    line = next(x for x in proc.stdout.splitlines() if "ca key module" in x)
    assert "wins over ATLAS_CA_PKCS11_MODULE" in line
    assert "other-module.so is not used for it" in line

"""``atlas-ca init`` with a software key (through click's CliRunner), the TOML configuration
with its environment overrides, and --help with examples on every operator command."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca.cli import main
from atlas_ca.cli.config import load_config
from atlas_ca.storage import IssuerKeyId, open_register
from atlas_ca.x509.certificate import Certificate
from support.atlas_testing import OpenSSL

PROFILE = """
[ca.profile]
ca_sign_tool = "ПАК \\"КриптоПро HSM\\" версии 2.0"
policy_classes = ["KC1", "KC2"]
crl_urls = ["http://ca.example.ru/cdp/ca.crl"]
allow_unqualified_keys = true

[ca.profile.issuer_tools]
sign_tool = "ПАК \\"КриптоПро HSM\\" версии 2.0"
ca_tool = "ПАК \\"Удостоверяющий центр КриптоПро УЦ\\" версии 2.0"
sign_tool_certificate = "Сертификат соответствия № СФ/124-0000 от 01.01.2024"
ca_tool_certificate = "Сертификат соответствия № СФ/128-0000 от 01.01.2024"
"""

ORG = [
    "--name",
    'АО "Сервер-Центр"',
    "--ogrn",
    "1022502121476",
    "--inn",
    "2539038819",
    "--region",
    "25 Приморский край",
    "--locality",
    "г. Владивосток",
    "--street",
    "ул. Светланская, д. 1",
]


def _config(base: Path, *, profile: bool = True) -> Path:
    (base / "ca.pw").write_text("correct horse")
    text = (
        '[register]\nlocation = "register.sqlite"\n\n[ca]\n'
        f'key_uri = "file:{base}/ca.key?pin-source=file:{base}/ca.pw"\n'
        'certificate = "ca.pem"\ncrl_dir = "cdp"\ncrl_validity_hours = 48\n'
    )
    path = base / "ca.toml"
    path.write_text(text + (PROFILE if profile else ""))
    return path


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, list(args), env=env or {"ATLAS_CA_PIN": ""})
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_a_root_openssl_accepts_and_the_register(
    tmp_path: Path, openssl_gost: OpenSSL
) -> None:
    config = _config(tmp_path)
    rc, out, err = _run("init", "--config", str(config), "--generate", *ORG, "--json")
    assert rc == 0, err
    result = json.loads(out)
    assert result["certificate"] == str(tmp_path / "ca.pem")
    assert (tmp_path / "register.sqlite").exists()
    ca = tmp_path / "ca.pem"
    check = openssl_gost.run(["verify", "-CAfile", ca, ca], check=False)
    assert check.returncode == 0, check.stderr
    text = openssl_gost.run(["x509", "-in", ca, "-noout", "-text"]).stdout.decode()
    assert "CA:TRUE" in text
    assert format(int(result["serial"], 16), "X") in text.replace(":", "").upper()
    # a CA certificate is never overwritten
    rc, _, err = _run("init", "--config", str(config), *ORG)
    assert rc == 2
    assert "never overwritten" in err
    # ... and it is kept in the register too, so losing ca.pem loses nothing (issue 15)
    with open_register(tmp_path / "register.sqlite", opened_at=datetime.now(UTC)) as reg:
        kept = reg.ca_certificates(IssuerKeyId(result["issuer_id"]))
    assert [c.der for c in kept] == [Certificate.from_pem(ca.read_bytes()).der]
    assert stat.S_IMODE(ca.stat().st_mode) == 0o644  # public: relying parties read it


def test_init_writes_a_csr_for_a_head_ca(tmp_path: Path, openssl_gost: OpenSSL) -> None:
    config = _config(tmp_path)
    csr = tmp_path / "sub.csr"
    rc, _, err = _run(
        "init", "--config", str(config), "--generate", *ORG, "--subordinate", str(csr)
    )
    assert rc == 0, err
    assert not (tmp_path / "ca.pem").exists()
    check = openssl_gost.run(["req", "-in", csr, "-noout", "-verify"], check=False)
    assert check.returncode == 0, check.stderr


def test_init_refuses_bad_identifiers_and_a_config_without_profile(tmp_path: Path) -> None:
    config = _config(tmp_path)
    bad = [a if a != "1022502121476" else "10225021211476" for a in ORG]  # the standard's typo
    rc, _, err = _run("init", "--config", str(config), "--generate", *bad)
    assert rc == 2
    assert err.startswith("atlas-ca: error: ОГРН")
    assert err.count("\n") == 1
    (tmp_path / "bare").mkdir()
    bare = _config(tmp_path / "bare", profile=False)
    rc, _, err = _run("init", "--config", str(bare), "--generate", *ORG)
    assert rc == 2
    assert "[ca.profile]" in err


def test_a_config_that_is_not_toml_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[register\nlocation = ")
    rc, _, err = _run("audit", "verify", "--config", str(broken))
    assert rc == 2
    assert "not valid TOML" in err
    rc, _, err = _run("audit", "verify", "--config", str(tmp_path / "missing.toml"))
    assert rc == 2
    assert err.count("\n") == 1


def test_the_environment_overrides_the_file_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    loaded = load_config(config, environ={})
    assert loaded.register == str(tmp_path / "register.sqlite")
    assert loaded.certificate == tmp_path / "ca.pem"
    assert loaded.crl_dir == tmp_path / "cdp"
    assert loaded.crl_validity.total_seconds() == 48 * 3600
    assert loaded.ca_config().allow_unqualified_keys is True
    env = {
        "ATLAS_CA_REGISTER": "postgresql://ca@db/ca",
        "ATLAS_CA_CRL_DIR": "/srv/cdp",
        "ATLAS_CA_KEY_URI": "pkcs11:token=CA;object=ca?pin-source=env:CA_PIN",
    }
    over = load_config(config, environ=env)
    assert over.register == "postgresql://ca@db/ca"
    assert over.crl_dir == Path("/srv/cdp")
    assert over.key_uri == env["ATLAS_CA_KEY_URI"]
    assert "pin" not in repr(over).lower()
    by_env = load_config(None, environ={"ATLAS_CA_CONFIG": str(config)})
    assert by_env.source == config


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["doctor"],
        ["init"],
        ["issue"],
        ["revoke"],
        ["suspend"],
        ["resume"],
        ["crl", "publish"],
        ["hsm", "info"],
        ["hsm", "keys"],
        ["hsm", "generate"],
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["subscriber", "add"],
        ["subscriber", "import"],
        ["subscriber", "check"],
        ["subscriber", "verify"],
        ["subscriber", "show"],
        ["registrar", "add"],
        ["authority", "add"],
        ["authority", "revoke"],
        ["order", "create"],
        ["order", "pay"],
        ["order", "refund-request"],
        ["order", "refund-decide"],
    ],
)
def test_every_operator_command_has_help_with_examples(command: list[str]) -> None:
    rc, out, _ = _run(*command, "--help")
    assert rc == 0
    assert "Examples:" in out
    assert f"atlas-ca {command[0]}" in out

"""Operator commands as real processes of the installed ``atlas-ca`` on the demo's CA (a SoftHSM
token, a SQLite register): issue with a one-time code, suspend/resume/revoke, CRL publication,
audit verification, hsm and doctor — and every bad input gives one line and its exit code."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.atlas_testing import OpenSSL
from support.cli_ops_support import run_cli, softhsm_env

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]


ORDER = "ord-ops-0001"


@dataclass(frozen=True)
class DemoCa:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(self.config)], env=env or self.env)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCa:
    out = tmp_path_factory.mktemp("ops") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    demo = DemoCa(out, out / "atlas-ca.toml", env)
    # The demo's own order is used up by the demo (R10): these tests issue under one of theirs.
    rc, _, err = demo.cli(
        "order", "create", ORDER, "--customer", "sub-0001", "--item", "kep-issue:10"
    )
    assert rc == 0, err
    rc, _, err = demo.cli("order", "pay", ORDER, "--amount", "36000.00", "--payment-id", "p-ops-1")
    assert rc == 0, err
    return demo


def _one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(("atlas-ca: error: ", "atlas-ca: invalid: "))


def _code_from(err: str) -> str:
    found = re.search(r"Код (\d{6})", err)
    assert found is not None, err
    return found.group(1)


def _new_csr(where: Path) -> Path:
    """A CSR of a new key: the register certifies a key once (63-ФЗ ст. 13), and the demo's
    CSRs are certified already."""
    from atlas_ca.algorithms import KeyType
    from atlas_ca.hsm.software import generate_software_key, open_software_key
    from atlas_ca.x509.csr import CsrBuilder
    from atlas_ca.x509.names import Name

    uri = generate_software_key(
        where / "new.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    csr = where / "new.csr.pem"
    key = open_software_key(uri, password="pw")
    csr.write_bytes(CsrBuilder().subject_name(Name.build([])).sign(key).pem())
    return csr


def _issue(ca: DemoCa, csr: Path, out: Path) -> dict[str, object]:
    base = ["issue", "--csr", str(csr), "--subscriber", "sub-0001", "--order", ORDER]
    rc, stdout, err = ca.cli(*base)
    assert rc == 0, err
    assert "run the same command again with --otp" in stdout
    rc, stdout, err = ca.cli(*base, "--otp", _code_from(err), "--out", str(out), "--json")
    assert rc == 0, err
    data = json.loads(stdout)
    assert isinstance(data, dict)
    return data


def test_issue_sends_a_code_then_issues_a_certificate_openssl_verifies(
    ca: DemoCa, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    out = tmp_path / "cert.pem"
    data = _issue(ca, _new_csr(tmp_path), out)
    assert data["subscriber"] == "sub-0001"
    assert data["status"] == "valid"
    verified = openssl_gost.run(["verify", "-CAfile", ca.dir / "ca.pem", out], check=False)
    assert verified.returncode == 0, verified.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # its subject holds personal data


def test_issue_refuses_to_overwrite_a_file_without_force(ca: DemoCa, tmp_path: Path) -> None:
    """`issue --out ca.pem` used to overwrite the CA certificate silently."""
    ca_pem = ca.dir / "ca.pem"
    before = ca_pem.read_bytes()
    base = ["issue", "--csr", str(_new_csr(tmp_path)), "--subscriber", "sub-0001"]
    base += ["--order", ORDER]
    rc, _, err = ca.cli(*base)
    assert rc == 0, err
    code = _code_from(err)
    rc, _, err = ca.cli(*base, "--otp", code, "--out", str(ca_pem))
    assert rc == 2
    _one_line_error(err)
    assert "exists" in err
    assert "--force" in err
    assert ca_pem.read_bytes() == before
    # refused before the code was checked: the same code still issues, here with --force
    other = tmp_path / "other.pem"
    other.write_text("old")
    rc, _, err = ca.cli(*base, "--otp", code, "--out", str(other), "--force")
    assert rc == 0, err
    assert other.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_a_wrong_one_time_code_is_refused_with_exit_1(ca: DemoCa, tmp_path: Path) -> None:
    base = ["issue", "--csr", str(_new_csr(tmp_path))]
    base += ["--subscriber", "sub-0001", "--order", ORDER]
    rc, _, err = ca.cli(*base)
    assert rc == 0
    code = _code_from(err)
    wrong = "000000" if code != "000000" else "111111"
    rc, _, err = ca.cli(*base, "--otp", wrong, "--out", str(tmp_path / "x.pem"))
    assert rc == 1
    _one_line_error(err)
    assert "wrong code" in err
    assert not (tmp_path / "x.pem").exists()


def test_unknown_subscriber_missing_file_and_foreign_csr_exit_2(ca: DemoCa, tmp_path: Path) -> None:
    csr = ca.dir / "subscriber-1.csr.pem"
    rc, _, err = ca.cli("issue", "--csr", str(csr), "--subscriber", "nobody", "--order", ORDER)
    assert rc == 2
    _one_line_error(err)
    assert "no subscriber 'nobody'" in err
    missing = str(tmp_path / "missing.pem")
    rc, _, err = ca.cli("issue", "--csr", missing, "--subscriber", "sub-0001", "--order", "o")
    assert rc == 2
    _one_line_error(err)
    # a CSR whose signature is not made by the key it carries (the key of another request)
    one = (ca.dir / "subscriber-1.csr.pem").read_text()
    two = (ca.dir / "subscriber-2.csr.pem").read_text()
    from atlas_ca.x509.csr import CertificationRequest

    a, b = CertificationRequest.load(one.encode()), CertificationRequest.load(two.encode())
    forged = a.der.replace(a.public_key_info, b.public_key_info)
    assert forged != a.der
    bad = tmp_path / "forged.der"
    bad.write_bytes(forged)
    rc, _, err = ca.cli("issue", "--csr", str(bad), "--subscriber", "sub-0001", "--order", ORDER)
    assert rc == 2
    _one_line_error(err)


def test_a_wrong_pin_is_refused_with_exit_1(ca: DemoCa, tmp_path: Path) -> None:
    env = dict(ca.env, ATLAS_CA_PIN="not-the-pin")
    rc, _, err = ca.cli("crl", "publish", env=env)
    assert rc == 1
    _one_line_error(err)
    assert "not-the-pin" not in err
    assert "PIN" in err or "C_Login" in err


def test_suspend_resume_revoke_and_the_crls_list_it(
    ca: DemoCa, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    out = tmp_path / "c.pem"
    serial = str(_issue(ca, _new_csr(tmp_path), out)["serial"])
    rc, stdout, _ = ca.cli("suspend", serial)
    assert (rc, stdout.strip()) == (0, f"{serial}: suspended")
    rc, stdout, _ = ca.cli("resume", serial, "--json")
    assert rc == 0
    assert json.loads(stdout)["status"] == "valid"
    rc, stdout, _ = ca.cli("revoke", serial, "--reason", "key-compromise", "--operator", "ops-1")
    assert (rc, stdout.strip()) == (0, f"{serial}: revoked")
    rc, _, err = ca.cli("revoke", serial)
    assert rc == 1
    _one_line_error(err)
    rc, _, err = ca.cli("suspend", "not-hex")
    assert rc == 2
    _one_line_error(err)
    rc, _, err = ca.cli("suspend", "abcdef0123")
    assert rc == 2
    _one_line_error(err)

    rc, stdout, err = ca.cli("crl", "publish", "--json")
    assert rc == 0, err
    full = json.loads(stdout)
    crl = Path(full["path"])
    check = openssl_gost.run(
        ["crl", "-inform", "DER", "-in", crl, "-noout", "-verify", "-CAfile", ca.dir / "ca.pem"],
        check=False,
    )
    assert check.returncode == 0, check.stderr
    text = openssl_gost.run(["crl", "-inform", "DER", "-in", crl, "-noout", "-text"]).stdout
    assert serial.lstrip("0").upper().encode() in text.upper()
    rc, stdout, err = ca.cli("crl", "publish", "--delta", "--json")
    assert rc == 0, err
    delta = json.loads(stdout)
    assert delta["base_number"] == full["number"]
    assert delta["number"] > full["number"]


def test_audit_verify_passes_then_names_a_tampered_event(ca: DemoCa, tmp_path: Path) -> None:
    rc, stdout, err = ca.cli("audit", "verify", "--json")
    assert rc == 0, err
    report = json.loads(stdout)
    assert report["ok"] is True
    assert report["events"] > 5
    # a copy of the register with one event changed behind the log's back
    copy = tmp_path / "register.sqlite"
    copy.write_bytes((ca.dir / "register.sqlite").read_bytes())
    db = sqlite3.connect(copy)
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET action = 'certificate.forged' WHERE seq = 3")
    db.commit()
    db.close()
    env = dict(ca.env, ATLAS_CA_REGISTER=str(copy))
    rc, _, err = ca.cli("audit", "verify", env=env)
    assert rc == 1
    _one_line_error(err)
    assert "event 3" in err


def test_hsm_info_lists_the_gost_mechanisms_and_keys(ca: DemoCa) -> None:
    rc, stdout, err = ca.cli("hsm", "info", "--json")
    assert rc == 0, err
    tokens = json.loads(stdout)["tokens"]
    demo = next(t for t in tokens if t["label"] == "atlas-demo")
    assert any(m.startswith("CKM_GOSTR3410 ") for m in demo["gost_mechanisms"])
    assert any(m.startswith("CKM_GOSTR3410_KEY_PAIR_GEN") for m in demo["gost_mechanisms"])
    uri = f"pkcs11:token=atlas-demo?pin-source=file:{ca.dir / 'user.pin'}"
    rc, stdout, err = ca.cli("hsm", "generate", "--uri", uri, "--label", "spare", "--json")
    assert rc == 0, err
    assert json.loads(stdout)["label"] == "spare"
    rc, stdout, err = ca.cli("hsm", "keys", "--uri", uri, "--json")
    assert rc == 0, err
    labels = {k["label"]: k for k in json.loads(stdout)}
    assert {"ca", "registrar", "spare"} <= set(labels)
    assert labels["ca"]["type"] == "gost2012-256"
    pin = (ca.dir / "user.pin").read_text()
    assert pin not in stdout


def test_doctor_is_happy_with_the_demo_and_exits_3_without_a_module(
    ca: DemoCa, tmp_path: Path
) -> None:
    rc, stdout, err = ca.cli("doctor", "--json")
    assert rc == 0, err + stdout
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert checks["pkcs11 module"]["ok"]
    assert "CKM_GOSTR3410" in checks["pkcs11 module"]["detail"]
    assert checks["openssl + gost engine"]["ok"]
    assert checks["gost engine"]["detail"].split()[0] in ("native", "pure")
    env = dict(ca.env, ATLAS_CA_PKCS11_MODULE=str(tmp_path / "nope.so"))
    rc, stdout, err = ca.cli("doctor", env=env)
    assert rc == 3
    assert "[FAILED] pkcs11 module" in stdout
    _one_line_error(err)


def test_init_generates_the_ca_key_on_the_token_and_openssl_verifies_the_root(
    ca: DemoCa, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    demo_config = ca.config.read_text()
    profile = demo_config[demo_config.index("[ca.profile]") :]
    config = tmp_path / "second.toml"
    uri = f"pkcs11:token=atlas-demo;object=ca-second?pin-source=file:{ca.dir / 'user.pin'}"
    config.write_text(
        f'[register]\nlocation = "{tmp_path / "register.sqlite"}"\n\n'
        f'[ca]\nkey_uri = "{uri}"\ncertificate = "{tmp_path / "ca.pem"}"\n\n' + profile
    )
    org = ["--name", 'АО "Атлас-2"', "--ogrn", "1052503122902", "--inn", "2536161885"]
    org += ["--region", "25 Приморский край", "--locality", "г. Владивосток"]
    org += ["--street", "ул. Алеутская, д. 11"]
    proc = run_cli(["init", "--config", str(config), "--generate", *org, "--json"], env=ca.env)
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    root = Path(made["certificate"])
    check = openssl_gost.run(["verify", "-CAfile", root, root], check=False)
    assert check.returncode == 0, check.stderr
    token_uri = uri.replace(";object=ca-second", "")
    keys = run_cli(
        ["hsm", "keys", "--uri", token_uri, "--config", str(config), "--json"], env=ca.env
    )
    assert keys.returncode == 0, keys.stderr
    assert "ca-second" in {k["label"] for k in json.loads(keys.stdout)}
    # a PIN that the token refuses: exit 1, and the PIN is not in the message
    wrong = run_cli(
        ["init", "--config", str(config), *org, "--out", str(tmp_path / "x.pem")],
        env=ca.env | {"ATLAS_CA_PIN": "0000-wrong"},
    )
    assert wrong.returncode == 1
    assert "0000-wrong" not in wrong.stderr
    assert not (tmp_path / "x.pem").exists()


def test_a_checkpoint_signed_on_the_token_is_verified_and_its_signer_must_be_trusted(
    ca: DemoCa,
) -> None:
    rc, out, err = ca.cli("audit", "checkpoint", "--json")
    assert rc == 0, err
    checkpoint = json.loads(out)
    assert len(checkpoint["chain_hash"]) == 64
    rc, out, err = ca.cli("audit", "verify", "--json")
    assert rc == 0, err
    assert json.loads(out)["checkpoints"] >= 1
    # the registrar's key did not sign it: with only the registrar trusted, it is refused
    rc, _, err = ca.cli("audit", "verify", "--trusted-cert", str(ca.dir / "registrar.pem"))
    assert rc == 1
    assert "untrusted key" in err

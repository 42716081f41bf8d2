"""``atlas-ca demo`` end to end as a real process: every step passes, every artifact verifies
with OpenSSL's gost engine (checked again here, outside the demo), re-runs work, and a
directory the demo did not make is never wiped."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from support.atlas_testing import OpenSSL
from support.cli_ops_support import run_cli, softhsm_env

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]

EXPECTED_STEPS = {
    "token",
    "ca",
    "registrar",
    "subscriber",
    "order",
    "issue",
    "revoke",
    "crl",
    "renew",
    "openssl verify",
    "openssl verify -crl_check (valid)",
    "openssl verify -crl_check (revoked)",
    "openssl crl -verify",
    "openssl cms -verify",
    "audit",
    # the status services (atlas_ca.cli.demo.status_steps): served and asked by outside clients
    "serve",
    "openssl ocsp (valid)",
    "openssl ocsp (revoked)",
    "ocsptool (valid)",
    "ocsptool (revoked)",
    "openssl ts -query/-verify",
    "CRL by its CDP URL",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = run_cli(["demo", "--dir", str(out), "--json"], env=softhsm_env())
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return out, json.loads(proc.stdout)


def test_the_demo_runs_every_step_and_every_verifier_agrees(
    demo_run: tuple[Path, dict[str, object]],
) -> None:
    _out, report = demo_run
    steps = report["steps"]
    assert isinstance(steps, list)
    names = {s["name"] for s in steps}
    assert names >= EXPECTED_STEPS
    assert all(s["ok"] for s in steps), [s for s in steps if not s["ok"]]
    assert report["ok"] is True


def test_the_demo_artifacts_verify_with_openssl_outside_the_demo(
    demo_run: tuple[Path, dict[str, object]], openssl_gost: OpenSSL
) -> None:
    out, _ = demo_run
    ca, crl = out / "ca.pem", out / "crl" / "ca.crl.pem"
    good = openssl_gost.run(
        ["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, out / "subscriber-1.pem"],
        check=False,
    )
    assert good.returncode == 0, good.stderr
    bad = openssl_gost.run(
        ["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, out / "subscriber-2.pem"],
        check=False,
    )
    assert bad.returncode != 0
    assert b"revoked" in bad.stdout + bad.stderr
    text = openssl_gost.run(["x509", "-in", out / "subscriber-1.pem", "-noout", "-text"]).stdout
    assert b"GOST R 34.10-2012 with 256 bit modulus" in text or b"GOST2012" in text.upper()
    cms = openssl_gost.run(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            out / "sub-0001.record.p7s",
            "-content",
            out / "sub-0001.record.der",
            "-CAfile",
            ca,
            "-out",
            out / "cms.out",
        ],
        check=False,
    )
    assert cms.returncode == 0, cms.stderr
    assert (out / "cms.out").read_bytes() == (out / "sub-0001.record.der").read_bytes()


def test_no_pin_or_key_password_is_printed(demo_run: tuple[Path, dict[str, object]]) -> None:
    out, report = demo_run
    text = json.dumps(report, ensure_ascii=False)
    for secret_file in ("user.pin", "so.pin", "subscriber-keys.password"):
        secret = (out / secret_file).read_text().strip()
        assert secret
        assert secret not in text
        assert (out / secret_file).stat().st_mode & 0o077 == 0


def test_the_demo_reruns_in_its_own_directory(tmp_path: Path) -> None:
    out = tmp_path / "again"
    env = softhsm_env()
    first = run_cli(["demo", "--dir", str(out)], env=env)
    assert first.returncode == 0, first.stderr
    ca_before = (out / "ca.pem").read_bytes()
    second = run_cli(["demo", "--dir", str(out)], env=env)
    assert second.returncode == 0, second.stderr
    assert "demo finished in" in second.stdout
    assert (out / "ca.pem").read_bytes() != ca_before  # wiped and recreated: a new CA


def test_a_directory_the_demo_did_not_make_is_not_wiped(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    proc = run_cli(["demo", "--dir", str(tmp_path)], env=softhsm_env())
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "refusing to wipe" in proc.stderr
    assert precious.read_text() == "keep me"


def test_without_softhsm_the_demo_exits_3(tmp_path: Path) -> None:
    env = softhsm_env()
    env["ATLAS_CA_SOFTHSM_MODULE"] = str(tmp_path / "no-such-module.so")
    proc = run_cli(["demo", "--dir", str(tmp_path / "d")], env=env)
    assert proc.returncode == 3
    assert proc.stderr.startswith("atlas-ca: error: SoftHSM built with GOST was not found")
    assert not (tmp_path / "d").exists()


def test_the_demo_keeps_personal_data_private_and_publishes_public_files(
    demo_run: tuple[Path, dict[str, object]],
) -> None:
    out, _ = demo_run

    def mode(name: str) -> int:
        return stat.S_IMODE((out / name).stat().st_mode)

    for name in ("register.sqlite", "register.sqlite-wal", "register.sqlite-shm"):
        if (out / name).exists() or name == "register.sqlite":
            assert mode(name) == 0o600, name
    assert mode("ca.pem") == 0o644
    crls = list((out / "crl").glob("*.crl*"))
    assert crls
    assert {stat.S_IMODE(c.stat().st_mode) for c in crls} == {0o644}
    for name in ("sub-0001.record.der", "sub-0001.record.p7s", "subscriber-1.pem"):
        assert mode(name) == 0o600, name


def test_pkilint_and_our_linter_find_no_error_in_what_the_demo_makes(
    demo_run: tuple[Path, dict[str, object]],
) -> None:
    from atlas_ca.profiles.lint import Policy, lint_crl_der, lint_der
    from atlas_ca.x509.pem import PemLabel, pem_blocks
    from support.pkilint_support import crl_findings, pkix_findings

    out, _ = demo_run
    seen = {PemLabel.CERTIFICATE: 0, PemLabel.X509_CRL: 0}
    problems: dict[str, list[str]] = {}
    for path in sorted(out.rglob("*.pem")):
        for label, der in pem_blocks(path.read_bytes()):
            if label is PemLabel.CERTIFICATE:
                found = pkix_findings(der)
                found += [str(f) for f in lint_der(der, policy=Policy.ISSUANCE).errors]
            elif label is PemLabel.X509_CRL:
                found = crl_findings(der)
                found += [str(f) for f in lint_crl_der(der, Policy.ISSUANCE).errors]
            else:
                continue
            seen[label] += 1
            if found:
                problems[str(path.relative_to(out))] = found
    assert problems == {}
    assert seen[PemLabel.CERTIFICATE] >= 3, seen
    assert seen[PemLabel.X509_CRL] >= 1, seen

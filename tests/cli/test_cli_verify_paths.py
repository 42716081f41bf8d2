"""``atlas-ca verify`` as path validation: the path, each check, exit 1 naming the failed one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca.asn1 import oids
from atlas_ca.cli import main
from support.trust_pki import Pki, make_pki, revoked

AT = "2026-06-01T00:00:00Z"
VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "russian"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def store(work: Path, pki: Pki, *, leaf_revoked: bool = False) -> Path:
    """``work/`` holds leaf.pem and ca.pem; ``work/trust/`` is the trust store."""
    tmp = work / "trust"
    (tmp / "anchors").mkdir(parents=True)
    (tmp / "crls").mkdir()
    (tmp / "anchors" / "root.pem").write_bytes(pki.root.pem())
    (tmp / "crls" / "root.crl").write_bytes(pki.root_crl())
    entries = (revoked(pki.leaf),) if leaf_revoked else ()
    (tmp / "crls" / "ca.crl").write_bytes(pki.sub_crl(*entries))
    (work / "leaf.pem").write_bytes(pki.leaf.pem())
    (work / "ca.pem").write_bytes(pki.sub.pem())
    return work


def with_store(d: Path) -> tuple[object, ...]:
    return ("verify", d / "leaf.pem", "--chain", d / "ca.pem", "--trust-store", d / "trust",
            "--at", AT)  # fmt: skip


def test_verify_prints_the_path_anchor_first_and_every_check(pki: Pki, tmp_path: Path) -> None:
    d = store(tmp_path, pki)
    code, out, err = run(*with_store(d))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "path (trust anchor first):"
    assert lines[1] == "  0 trust anchor: CN=Test head CA"
    assert lines[3] == "  1 intermediate: CN=Test accredited CA"
    assert lines[5] == "  2 target: CN=Иванов Иван"
    for check in ("name-chaining", "signature", "validity", "basic-constraints", "path-length",
                  "key-usage", "name-constraints", "policy", "revocation"):  # fmt: skip
        assert f"  {check}: ok" in lines
    assert "revocation mode: require" in lines
    assert lines[-1].startswith("OK: CN=Иванов Иван (serial ")


def test_verify_json_with_trust_file_crls_and_an_explicit_policy(pki: Pki, tmp_path: Path) -> None:
    d = store(tmp_path, pki)
    t = d / "trust"
    code, out, err = run(
        "verify", d / "leaf.pem", "--chain", d / "ca.pem", "--trust", t / "anchors" / "root.pem",
        "--crl", t / "crls" / "root.crl", "--crl", t / "crls" / "ca.crl", "--at", AT,
        "--policy", oids.RuPolicy.KC1.dotted, "--explicit-policy", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["valid"] is True
    assert [p["role"] for p in doc["path"]] == ["trust anchor", "intermediate", "target"]
    assert doc["path"][2]["serial"] == f"{pki.leaf.serial_number:x}"
    assert doc["policies"] == [oids.RuPolicy.KC1.dotted]
    assert doc["checks"]["revocation"] == "ok"
    assert doc["qualified_use"] is True


def test_a_policy_the_path_does_not_assert_fails_the_policy_check(pki: Pki, tmp_path: Path) -> None:
    d = store(tmp_path, pki)
    code, _, err = run(*with_store(d), "--policy", oids.RuPolicy.KC3.dotted, "--explicit-policy")
    assert code == 1
    assert "policy check failed" in err


def test_a_revoked_certificate_exits_1_naming_the_revocation_check(
    pki: Pki, tmp_path: Path
) -> None:
    d = store(tmp_path, pki, leaf_revoked=True)
    code, out, err = run(*with_store(d), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["valid"] is False
    assert doc["check"] == "revocation"
    assert doc["certificate"].startswith("CN=Иванов Иван")
    assert "atlas-ca: invalid: CN=Иванов Иван" in err
    assert "revocation check failed" in err


def test_without_the_chain_there_is_no_path_and_without_anchors_it_is_a_usage_error(
    pki: Pki, tmp_path: Path
) -> None:
    d = store(tmp_path, pki)
    code, _, err = run("verify", d / "leaf.pem", "--trust-store", d / "trust", "--at", AT)
    assert code == 1
    assert "trust-anchor check failed" in err
    code, _, err = run("verify", d / "leaf.pem", "--at", AT)
    assert code == 2
    assert "--trust" in err


def test_a_gost_2001_certificate_is_read_and_shown_not_refused_as_unreadable(
    tmp_path: Path,
) -> None:
    example = VECTORS / "rfc4491-gost2001-example.pem"
    code, out, err = run("verify", example, "--trust", example, "--at", "2010-01-01")
    assert code == 0, err
    assert "CN=GostR3410-2001 example" in out
    assert "not accepted for qualified use" in out
    code, out, _ = run("verify", example, "--trust", example, "--at", "2010-01-01", "--json")
    assert json.loads(out)["qualified_use"] is False


def test_a_real_qualified_certificate_against_the_real_head_ca_roots(tmp_path: Path) -> None:
    """ЕСИА's certificate with the head CA's real roots as a flat trust store: read, shown, and
    refused naming the missing link (ПАО «Ростелеком»'s CA certificate)."""
    esia = VECTORS / "esia-gost2012-prod.pem"
    code, out, err = run("verify", esia, "--trust-store", VECTORS / "head-ca", "--at",
                         "2020-06-01", "--json")  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    assert doc["check"] == "trust-anchor"
    assert doc["certificate"].startswith("CN=Министерство цифрового развития")
    assert "Ростелеком" in err

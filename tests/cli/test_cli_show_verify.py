"""``atlas-ca show`` and ``atlas-ca verify``: what they print and the exit codes they return."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca.asn1 import oids
from atlas_ca.cli import main
from atlas_ca.cli.errors import ExitCode, exit_code_for
from atlas_ca.errors import (
    DecodeError,
    GostEngineUnavailable,
    SignatureInvalid,
    Unavailable,
)
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.extensions import (
    BasicConstraints,
    IdentificationKind,
    IdentificationKindValue,
    IssuerSignTool,
    KeyUsage,
    KeyUsageBit,
    SubjectKeyIdentifier,
    SubjectSignTool,
)
from atlas_ca.x509.names import Name
from support.x509_signers import MemoryKey, ecdsa_key, gost_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Files:
    ca: Path
    ca_der: Path
    leaf: Path
    other_ca: Path
    csr: Path
    crl: Path
    bad_crl: Path
    garbage: Path


def _ca(key: MemoryKey, cn: str) -> Certificate:
    name = Name.build(
        [(oids.NameAttribute.COUNTRY_NAME, "RU"), (oids.NameAttribute.COMMON_NAME, cn)]
    )
    return (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key_info)
        .serial_number(0x1001)
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=3650))
        .add_extension(BasicConstraints(True, True, 0))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN})))
        .add_extension(SubjectKeyIdentifier.from_public_key_info(key.public_key_info))
        .add_extension(IssuerSignTool(False, "Средство ЭП", "Средство УЦ", "Серт. 1", "Серт. 2"))
        .sign(key)
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("cli")
    ca_key = gost_key("cryptopro-a")
    ca = _ca(ca_key, "Тестовый УЦ")
    other = _ca(gost_key("cryptopro-a"), "Другой УЦ")
    subject_key = gost_key("tc26-512-a")
    leaf = (
        CertificateBuilder()
        .subject_name(
            Name.build(
                [
                    (oids.NameAttribute.COMMON_NAME, "Иванов Иван"),
                    (oids.RuAttribute.SNILS, "11223344595"),
                ]
            )
        )
        .issuer_certificate(ca)
        .public_key(subject_key.public_key_info)
        .serial_number(0xABCDEF0123456789)
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=365))
        .add_extension(SubjectSignTool(False, "КриптоПро CSP 5.0"))
        .add_extension(IdentificationKind(False, IdentificationKindValue.REMOTE_WITH_BIOMETRICS))
        .sign(ca_key)
    )
    csr = (
        CsrBuilder()
        .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "Заявитель")]))
        .add_extension(SubjectSignTool(False, "КриптоПро CSP 5.0"))
        .sign(ecdsa_key())
    )
    crl = (
        CrlBuilder()
        .issuer_certificate(ca.der)
        .this_update(T0 + timedelta(days=1))
        .next_update(T0 + timedelta(days=8))
        .crl_number(7)
        .sign(ca_key, [RevokedEntry(0x1234, T0, RevocationReason.KEY_COMPROMISE)])
        .der()
    )
    tampered = bytearray(crl)
    tampered[-5] ^= 0x01
    f = Files(
        ca=d / "ca.pem",
        ca_der=d / "ca.cer",
        leaf=d / "leaf.pem",
        other_ca=d / "other.pem",
        csr=d / "req.pem",
        crl=d / "ca.crl",
        bad_crl=d / "bad.crl",
        garbage=d / "garbage.bin",
    )
    f.ca.write_bytes(ca.pem())
    f.ca_der.write_bytes(ca.der)
    f.leaf.write_bytes(leaf.pem())
    f.other_ca.write_bytes(other.pem())
    f.csr.write_bytes(csr.pem())
    f.crl.write_bytes(crl)
    f.bad_crl.write_bytes(bytes(tampered))
    f.garbage.write_bytes(b"\x30\x82\x05\x00 this is not DER")
    return f


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_show_decodes_a_certificate_with_russian_extensions_as_json(files: Files) -> None:
    code, out, _ = run("show", files.leaf, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["type"] == "certificate"
    assert d["serial"] == "abcdef0123456789"
    assert d["subject"] == "SNILS=***-***-*** 95,CN=Иванов Иван"  # R21: masked by default
    assert d["issuer"] == "CN=Тестовый УЦ,C=RU"
    assert d["not_after"] == "2027-01-01T00:00:00Z"
    assert d["signature_algorithm"] == "gost2012-256-streebog256"
    assert d["public_key"] == {"type": "gost2012-512", "parameters": "tc26-512-a"}
    exts = {e["name"]: e["value"] for e in d["extensions"]}
    assert exts["subjectSignTool"] == "КриптоПро CSP 5.0"
    assert exts["identificationKind"] == {"kind": 3, "meaning": "remote_with_biometrics"}


def test_show_prints_text_for_a_der_ca_certificate(files: Files) -> None:
    code, out, _ = run("show", files.ca_der)
    assert code == 0
    assert "type: certificate" in out
    assert "public_key: gost2012-256 (cryptopro-a)" in out
    assert "basicConstraints (critical)" in out
    assert '"ca_tool": "Средство УЦ"' in out


def test_show_decodes_a_request_and_a_crl(files: Files) -> None:
    code, out, _ = run("show", files.csr, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["type"] == "request"
    assert d["public_key"]["parameters"] == "secp256r1"
    code, out, _ = run("show", files.crl, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["type"] == "crl"
    assert d["crl_number"] == 7
    assert d["revoked"] == 1
    assert d["issuer"] == "CN=Тестовый УЦ,C=RU"


def test_verify_accepts_a_good_certificate_request_and_crl(files: Files) -> None:
    at = "2026-06-01T00:00:00Z"
    off = ("--revocation", "off")
    assert run("verify", files.leaf, "--issuer", files.ca, "--at", at, *off)[0] == 0
    assert run("verify", files.ca, "--issuer", files.ca_der, "--at", at, *off)[0] == 0
    with_crl = ("--crl", files.crl, "--at", "2026-01-05")
    assert run("verify", files.leaf, "--issuer", files.ca, *with_crl)[0] == 0
    assert run("verify", files.csr)[0] == 0
    assert run("verify", files.crl, "--issuer", files.ca, "--at", "2026-01-05")[0] == 0


def test_verify_exits_1_with_the_reason_when_invalid(files: Files) -> None:
    off = ("--revocation", "off")
    code, _, err = run("verify", files.leaf, "--issuer", files.other_ca, "--at", "2026-06-01", *off)
    assert code == 1
    assert "trust-anchor check failed" in err
    assert "Тестовый УЦ" in err
    code, _, err = run("verify", files.leaf, "--issuer", files.ca, "--at", "2030-01-01", *off)
    assert code == 1
    assert "validity check failed" in err
    assert "expired" in err
    code, _, err = run("verify", files.leaf, "--issuer", files.ca, "--at", "2026-06-01")
    assert code == 1  # revocation is required by default, and no CRL covers the leaf
    assert "revocation-info check failed" in err
    assert "11223344595" not in err  # R21
    code, _, err = run("verify", files.bad_crl, "--issuer", files.ca, "--at", "2026-01-05")
    assert code == 1
    assert "does not verify" in err


def test_a_stale_or_future_crl_is_invalid(files: Files) -> None:
    code, _, err = run("verify", files.crl, "--issuer", files.ca, "--at", "2026-03-01")
    assert code == 1
    assert "the CRL is stale" in err
    code, _, err = run("verify", files.crl, "--issuer", files.ca, "--at", "2026-01-01T12:00")
    assert code == 1
    assert "not yet valid" in err


def test_unreadable_input_exits_2_with_one_line_and_no_traceback(files: Files) -> None:
    for args in (
        ("show", files.garbage),
        ("show", files.garbage.with_name("missing.pem")),
        ("verify", files.garbage, "--issuer", files.ca),
        ("verify", files.leaf, "--issuer", files.ca, "--at", "yesterday"),
        ("verify", files.leaf),
    ):
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert "Traceback" not in err
    code, _, err = run("show", files.garbage)
    assert err.startswith("atlas-ca: error: not a certificate, request or CRL")
    assert len(err.strip().splitlines()) == 1


def test_the_installed_entry_point_runs(files: Files) -> None:
    exe = Path(sys.executable).with_name("atlas-ca")
    args = ["verify", str(files.leaf), "--issuer", str(files.ca), "--crl", str(files.crl)]
    proc = subprocess.run(
        [str(exe), *args, "--at", "2026-01-05"],
        capture_output=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK: SNILS=***-***-*** 95,CN=Иванов Иван (serial abcdef0123456789) is valid" in (
        proc.stdout.decode()
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DecodeError("x"), ExitCode.INPUT),
        (SignatureInvalid("x"), ExitCode.REFUSED),
        (GostEngineUnavailable("x"), ExitCode.UNAVAILABLE),
        (Unavailable("x"), ExitCode.UNAVAILABLE),
        (FileNotFoundError("x"), ExitCode.INPUT),
    ],
)
def test_error_categories_map_to_the_documented_exit_codes(
    error: BaseException, code: ExitCode
) -> None:
    assert exit_code_for(error) is code

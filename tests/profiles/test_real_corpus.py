"""The linter on real certificates of the head CA and accredited CAs (tests/vectors/real/).

Each certificate's expert verdict is in verdicts.json; the linter must agree exactly: zero false
errors, every expected finding. Only codes are compared and printed, never a subject.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas_ca.profiles.detect import detect
from atlas_ca.profiles.lint import Policy, lint_der
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.pem import PemLabel, pem_decode
from support.atlas_testing import OpenSSL

REAL = Path(__file__).resolve().parents[1] / "vectors" / "real"
VERDICTS: dict[str, dict[str, object]] = {
    k: v for k, v in json.loads((REAL / "verdicts.json").read_text()).items() if k != "_about"
}


def der(name: str) -> bytes:
    return pem_decode((REAL / name).read_bytes(), PemLabel.CERTIFICATE)


def test_every_real_certificate_has_a_verdict() -> None:
    assert set(VERDICTS) == {p.name for p in REAL.glob("*.pem")}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_the_linter_agrees_with_the_expert_verdict(name: str) -> None:
    verdict = VERDICTS[name]
    report = lint_der(der(name))
    assert report.profile == verdict["profile"]
    assert sorted({f.code for f in report.errors}) == verdict["errors"]
    assert sorted({f.code for f in report.warnings}) == verdict["warnings"]
    assert sorted({f.code for f in report.notices}) == verdict["notices"]


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_every_real_certificate_is_read_by_show(name: str) -> None:
    cert = Certificate.from_der(der(name))
    assert detect(cert.der).value == VERDICTS[name]["profile"]


def test_our_issuance_policy_would_not_issue_the_head_cas_18_year_root() -> None:
    report = lint_der(der("minkomsvyaz-root-2018.pem"), policy=Policy.ISSUANCE)
    assert "n_ru_validity_too_long" in {f.code for f in report.errors}


def test_the_gost_2012_root_verifies_with_our_own_verifier() -> None:
    root = Certificate.from_der(der("minkomsvyaz-root-2018.pem"))
    root.verify_signed_by(root.public_key.der)


@pytest.mark.openssl_gost
@pytest.mark.parametrize("name", sorted(n for n, v in VERDICTS.items() if v["issuer"] is not None))
def test_each_certificate_is_signed_by_its_issuer_in_the_corpus(
    name: str, openssl_gost: OpenSSL
) -> None:
    issuer = REAL / str(VERDICTS[name]["issuer"])
    proc = openssl_gost.run(
        ["verify", "-no_check_time", "-check_ss_sig", "-CAfile", issuer, REAL / name],
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-300:]

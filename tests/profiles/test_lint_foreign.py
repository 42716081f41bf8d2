"""The linter on certificates issued elsewhere (CryptoPro's test CA; see foreign/README.md)."""

from __future__ import annotations

from pathlib import Path

from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.detect import detect
from atlas_ca.profiles.lint import Policy, lint_der
from atlas_ca.x509.pem import PemLabel, pem_decode

FOREIGN = Path(__file__).resolve().parent / "foreign"


def der(name: str) -> bytes:
    return pem_decode((FOREIGN / name).read_bytes(), PemLabel.CERTIFICATE)


def test_cryptopro_test_ca_is_a_ca_with_placeholder_identifiers() -> None:
    cert = der("cryptopro-test-ca-2018.pem")
    assert detect(cert) is ProfileKind.CA
    report = lint_der(cert)
    assert report.profile == "ca"
    assert {f.code for f in report.errors} == {"e_ru_inn_check_digit", "e_ru_ogrn_check_digit"}
    assert "n_ru_inn_padded_legal_entity" in report.codes
    # RFC 5280 §4.2.1.3: keyUsage SHOULD be critical — a warning, not an error.
    criticality = next(f for f in report.warnings if f.code == "w_ru_extension_criticality")
    assert criticality.path.endswith("keyUsage")


def test_cryptopro_test_ca_under_our_issuance_policy_is_refused_for_its_key_usage() -> None:
    report = lint_der(der("cryptopro-test-ca-2018.pem"), policy=Policy.ISSUANCE)
    assert "w_ru_extension_criticality" in {f.code for f in report.errors}


def test_cryptopro_test_ocsp_responder_is_clean_but_for_its_pre_2021_inn() -> None:
    cert = der("cryptopro-test-ocsp-2017.pem")
    assert detect(cert) is ProfileKind.OCSP
    report = lint_der(cert)
    assert report.ok, [str(f) for f in report.errors]
    assert [f.code for f in report.findings] == ["n_ru_inn_padded_legal_entity"]


def test_a_foreign_certificate_checked_against_our_individual_profile_explains_why_not() -> None:
    report = lint_der(der("cryptopro-test-ocsp-2017.pem"), "individual")
    missing = {f.path for f in report.errors if f.code == "e_ru_subject_attribute_missing"}
    assert {"subject.SNILS", "subject.surname", "subject.givenName"} <= missing

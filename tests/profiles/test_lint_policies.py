"""Two questions, two severities: the false errors issue 16 found on real certificates.

Each defect becomes a certificate of ours with that one feature, linted under the conformance
policy (a foreign certificate: the strength of the source decides) and under the issuance
policy (would our CA issue it: stays an error).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_lint_rules import (
    KU,
    A,
    X,
    alg_id,
    critical_ext,
    drop_attr,
    gost2001_key,
    ku,
    padded_inn,
    put_ext,
    tsa_eku,
    utc,
    validity,
)

from atlas_ca.asn1 import oids
from atlas_ca.cli import main
from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.detect import detect
from atlas_ca.profiles.lint import Policy, Severity, lint_der, registry
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.pem import PemLabel, pem_encode
from support.profiles_certkit import SIGNATURE, with_child
from support.profiles_samples import World, build_world

NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("lint-policies")))


def both(der: bytes, code: str) -> tuple[Severity | None, Severity | None]:
    """The severity of ``code`` under conformance and under issuance (None: not reported)."""
    out = []
    for policy in (Policy.CONFORMANCE, Policy.ISSUANCE):
        found = [f.severity for f in lint_der(der, policy=policy) if f.code == code]
        out.append(found[0] if found else None)
    return out[0], out[1]


def test_a_ca_certificate_with_a_non_critical_key_usage_is_a_warning_not_an_error(
    world: World,
) -> None:
    tbs = ku(KU.KEY_CERT_SIGN, KU.CRL_SIGN, critical=False)(world.root.tbs_der)
    report = lint_der(tbs)
    assert report.ok, [str(f) for f in report.errors]
    assert both(tbs, "w_ru_extension_criticality") == (Severity.WARNING, Severity.ERROR)
    [finding] = [f for f in report if f.code == "w_ru_extension_criticality"]
    assert "should be critical" in finding.message


def test_a_head_ca_root_of_eighteen_years_is_a_notice(world: World) -> None:
    tbs = validity(utc(NOW), utc(NOW.replace(year=2043)))(world.root.tbs_der)
    report = lint_der(tbs)
    assert report.ok, [str(f) for f in report.errors]
    assert both(tbs, "n_ru_validity_too_long") == (Severity.NOTICE, Severity.ERROR)


def test_a_ca_key_period_over_36_months_is_a_notice(world: World) -> None:
    pkup = x509ext.PrivateKeyUsagePeriod(False, NOW, NOW.replace(year=2030))
    tbs = put_ext(pkup)(world.root.tbs_der)
    assert lint_der(tbs).ok
    assert both(tbs, "n_ru_private_key_usage_too_long") == (Severity.NOTICE, Severity.ERROR)


def test_a_service_certificate_with_a_long_validity_but_15_month_key_is_a_notice(
    world: World,
) -> None:
    tbs = validity(utc(NOW), utc(NOW.replace(year=2030)))(world.ocsp.tbs_der)
    assert lint_der(tbs).ok
    assert both(tbs, "n_ru_validity_too_long") == (Severity.NOTICE, Severity.ERROR)


def test_a_certificate_without_country_is_a_notice(world: World) -> None:
    # (A self-signed root without C would no longer be self-issued; the subscriber's will do.)
    tbs = drop_attr(A.COUNTRY_NAME)(world.legal_entity.tbs_der)
    assert lint_der(tbs).ok
    assert both(tbs, "n_ru_subject_attribute_missing") == (Severity.NOTICE, Severity.ERROR)


def test_a_legal_entitys_inn_padded_after_order_31_stays_an_error(world: World) -> None:
    tbs = padded_inn(2022)(world.legal_entity.tbs_der)
    assert both(tbs, "e_ru_inn_padded_after_2021") == (Severity.ERROR, Severity.ERROR)
    assert registry()["e_ru_inn_padded_after_2021"].source.startswith("FSB Order 31 (29.01.2021")


def test_a_tsa_certificate_with_a_critical_eku_is_a_tsa_not_a_legal_entity(world: World) -> None:
    # Our OCSP responder's certificate names the operator's ОГРН and ИНН ЮЛ, like a real TSA's.
    tbs = tsa_eku(True, oids.ExtendedKeyUsage.TIME_STAMPING)(world.ocsp.tbs_der)
    assert detect(tbs) is ProfileKind.TSA
    report = lint_der(tbs)
    assert report.profile == "tsa"
    assert report.ok, [str(f) for f in report.errors]
    assert not any("extKeyUsage" in f.path for f in report.findings)


def test_a_tsa_certificate_with_a_non_critical_eku_breaks_rfc_3161(world: World) -> None:
    tbs = tsa_eku(False, oids.ExtendedKeyUsage.TIME_STAMPING)(world.ocsp.tbs_der)
    assert detect(tbs) is ProfileKind.TSA
    assert "e_tsa_eku_not_critical" in {f.code for f in lint_der(tbs).errors}


def test_an_end_entity_listing_time_stamping_among_others_is_not_a_tsa(world: World) -> None:
    eku = x509ext.ExtendedKeyUsage(
        False, (oids.ExtendedKeyUsage.CLIENT_AUTH, oids.ExtendedKeyUsage.TIME_STAMPING)
    )
    assert detect(put_ext(eku)(world.individual.tbs_der)) is ProfileKind.INDIVIDUAL


def test_a_critical_eku_on_a_subscriber_is_only_a_notice(world: World) -> None:
    tbs = critical_ext(X.EXTENDED_KEY_USAGE)(world.individual.tbs_der)
    assert both(tbs, "n_ru_extension_criticality") == (Severity.NOTICE, Severity.ERROR)


def test_a_critical_aki_is_an_error_under_both_policies(world: World) -> None:
    tbs = critical_ext(X.AUTHORITY_KEY_IDENTIFIER)(world.individual.tbs_der)
    assert both(tbs, "e_ru_extension_criticality") == (Severity.ERROR, Severity.ERROR)


def test_a_gost_2001_certificate_from_2018_is_read_and_told_it_is_no_longer_qualified(
    world: World,
) -> None:
    tbs = gost2001_key(2018)(world.individual.tbs_der)
    report = lint_der(tbs)
    assert "n_ru_key_gost2001" in report.codes
    assert not {"e_ru_key_not_gost2012", "e_ru_signature_not_gost2012"} & report.codes
    [finding] = [f for f in report if f.code == "n_ru_key_gost2001"]
    assert "not for qualified use since 2019" in finding.message


def test_a_gost_2001_key_on_a_certificate_from_2020_is_an_error(world: World) -> None:
    tbs = gost2001_key(2020)(world.individual.tbs_der)
    codes = {f.code for f in lint_der(tbs).errors}
    assert {"e_ru_key_not_gost2012", "e_ru_signature_not_gost2012"} <= codes


def test_a_2001_signature_alone_is_an_error_after_2018(world: World) -> None:
    tbs = with_child(
        world.individual.tbs_der, SIGNATURE, alg_id(oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001)
    )
    assert "e_ru_signature_not_gost2012" in {f.code for f in lint_der(tbs).errors}


def test_the_issuance_policy_is_never_weaker_than_conformance() -> None:
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}
    for item in registry().values():
        assert rank[item.issuance] <= rank[item.severity], item.code


def test_the_cli_lints_under_the_policy_asked_for(world: World, tmp_path: Path) -> None:
    tbs = ku(KU.KEY_CERT_SIGN, KU.CRL_SIGN, critical=False)(world.root.tbs_der)
    path = tmp_path / "ca.pem"
    path.write_bytes(pem_encode(tbs, PemLabel.CERTIFICATE))
    conformance = CliRunner().invoke(main, ["lint", str(path)])
    assert conformance.exit_code == 0, conformance.output
    assert "policy: conformance" in conformance.output
    assert "warning w_ru_extension_criticality" in conformance.output
    issuance = CliRunner().invoke(main, ["lint", "--policy", "issuance", str(path)])
    assert issuance.exit_code == 1
    assert "error   w_ru_extension_criticality" in issuance.output

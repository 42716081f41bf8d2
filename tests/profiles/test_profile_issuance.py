"""Certificates we issue under every profile: clean lint, OpenSSL and certtool verify them,
OpenSSL shows the Russian extensions; refusals before signing name the rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.domain.authorities import AuthorityRefused
from atlas_ca.domain.identifiers import InnLegal, Kpp
from atlas_ca.domain.subscribers import (
    IdentificationMethod,
    NotVerified,
    OrganisationData,
    PersonName,
)
from atlas_ca.errors import LintFailed, SignatureInvalid
from atlas_ca.profiles import ENTREPRENEUR, INDIVIDUAL, LEGAL_ENTITY
from atlas_ca.profiles.base import KeyRule
from atlas_ca.profiles.lint import Severity, lint_der
from atlas_ca.profiles.planning import (
    Organisation,
    ProfileViolation,
    SubscriberRequest,
    plan_subscriber_certificate,
    prepare_tbs,
)
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.profiles_samples import (
    CONFIG,
    NOW,
    ORG,
    SIGN_TOOL,
    World,
    authority_for,
    build_world,
    individual_request,
    person,
    plan_individual,
    verified,
)

PROFILE_NAMES = ["ca", "individual", "entrepreneur", "legal-entity", "ocsp"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("issuance")))


@pytest.fixture(scope="module")
def pems(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = Path(tmp_path_factory.mktemp("pems"))
    out = {}
    for name in PROFILE_NAMES:
        path = base / f"{name}.pem"
        path.write_bytes(world.by_profile(name).pem())
        out[name] = path
    return out


# --- every profile: clean, verifiable, readable -------------------------------------------------


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_a_certificate_we_issue_lints_clean_and_is_detected(world: World, name: str) -> None:
    report = lint_der(world.by_profile(name).der)
    assert report.profile == name
    assert report.findings == ()


@pytest.mark.openssl_gost
@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_openssl_with_the_gost_engine_verifies_it(
    openssl_gost, pems: dict[str, Path], name: str
) -> None:
    proc = openssl_gost.run(["verify", "-CAfile", pems["ca"], pems[name]])
    assert proc.stdout.strip().endswith(b": OK")


@pytest.mark.certtool
@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_certtool_verifies_it(certtool, pems: dict[str, Path], name: str) -> None:
    proc = certtool.run(["--verify", "--load-ca-certificate", pems["ca"], "--infile", pems[name]])
    assert b"Chain verification output: Verified." in proc.stdout


@pytest.mark.openssl_gost
@pytest.mark.parametrize("name", ["individual", "entrepreneur", "legal-entity"])
def test_openssl_decodes_the_russian_extensions_by_name(
    openssl_gost, pems: dict[str, Path], name: str
) -> None:
    text = openssl_gost.run(["x509", "-in", pems[name], "-noout", "-text"]).stdout.decode()
    assert "Signing Tool of Subject" in text
    assert SIGN_TOOL in text
    assert "Signing Tool of Issuer" in text
    assert CONFIG.issuer_tools.ca_tool_certificate in text
    assert "Class of Signing Tool KC1" in text
    assert "Private Key Usage Period" in text
    assert "SNILS = " in text
    assert "Key Usage: critical" in text


# --- what the plan says ----------------------------------------------------------------------


def test_the_subject_comes_from_the_verified_data_in_profile_order(world: World) -> None:
    subject = world.individual.subject
    order = [a.oid.name for a in subject]
    assert order == ["countryName", "surname", "givenName", "commonName", "SNILS", "INN"]
    assert subject.get(oids.NameAttribute.GIVEN_NAME) == ("Мария Петровна",)
    assert subject.get(oids.NameAttribute.COMMON_NAME) == ("Иванова Мария Петровна",)
    types = {a.oid.name: a.string_type.name for a in subject}
    assert types["SNILS"] == "NUMERIC"
    assert types["INN"] == "NUMERIC"
    assert types["countryName"] == "PRINTABLE"


@pytest.mark.parametrize("method", list(IdentificationMethod))
def test_identification_kind_follows_how_identity_was_established(
    world: World, method: IdentificationMethod
) -> None:
    sub = verified(person(random.Random(3)), method=method)
    plan = plan_individual(world.keys, subscriber=sub)
    ext = next(e for e in plan.extensions if isinstance(e, x509ext.IdentificationKind))
    assert int(ext.kind) == int(method)


def test_a_disagreeing_csr_subject_only_warns(world: World) -> None:
    csr_subject = Name.build(
        [(oids.NameAttribute.COMMON_NAME, "Кто-то Другой"), (oids.NameAttribute.TITLE, "Директор")]
    )
    plan = plan_individual(world.keys, csr_subject=csr_subject)
    assert plan.subject.get(oids.NameAttribute.COMMON_NAME) == ("Иванова Мария Петровна",)
    assert plan.subject.get(oids.NameAttribute.TITLE) == ()
    assert len(plan.warnings) == 2
    assert any("commonName differs" in w for w in plan.warnings)


def test_the_issuer_tools_and_policy_class_come_from_configuration(world: World) -> None:
    other = dataclasses.replace(CONFIG, policy_classes=(oids.RuPolicy.KC3,))
    plan = plan_subscriber_certificate(individual_request(world.keys), other, world.keys.ca, at=NOW)
    policies = next(e for e in plan.extensions if isinstance(e, x509ext.CertificatePolicies))
    assert [p.policy for p in policies.policies] == [oids.RuPolicy.KC3]


# --- refusals before signing ------------------------------------------------------------------


def _ec_spki() -> bytes:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_a_key_type_the_profile_does_not_allow_is_refused(world: World) -> None:
    with pytest.raises(ProfileViolation, match="key type ec-p256 is not allowed") as info:
        plan_individual(world.keys, public_key_info=_ec_spki())
    assert "RFC 9215" in info.value.rule


def test_a_parameter_set_the_profile_does_not_allow_is_refused(world: World) -> None:
    only_b = dataclasses.replace(
        INDIVIDUAL,
        keys=(KeyRule(KeyType.GOST3410_2012_256, frozenset({oids.GostParamSet.TC26_256_B}), "t"),),
    )
    with pytest.raises(ProfileViolation, match="parameter set tc26-256-a is not allowed"):
        plan_individual(world.keys, profile=only_b)


def test_a_validity_longer_than_the_profile_allows_is_refused(world: World) -> None:
    with pytest.raises(ProfileViolation, match="longer than 15 months") as info:
        plan_individual(world.keys, not_after=NOW + dt.timedelta(days=470))
    assert info.value.profile == "individual"


def test_a_private_key_period_longer_than_allowed_is_refused(world: World) -> None:
    with pytest.raises(ProfileViolation, match="private key usage period"):
        plan_individual(world.keys, private_key_not_after=NOW + dt.timedelta(days=470))


def test_an_expired_authority_is_refused_when_an_organisation_is_named(world: World) -> None:
    head = verified(person(random.Random(5), PersonName("Сидоров", "Иван")), sid="sub-head")
    request = SubscriberRequest(
        LEGAL_ENTITY,
        head,
        world.keys.subscriber.public_key_info,
        SIGN_TOOL,
        NOW,
        organisation=ORG,
        authority=authority_for(head, until=NOW - dt.timedelta(days=1)),
    )
    with pytest.raises(AuthorityRefused) as info:
        plan_subscriber_certificate(request, CONFIG, world.keys.ca, at=NOW)
    assert info.value.rule == "R4"


def test_a_missing_required_identifier_is_refused() -> None:
    unconfirmed = OrganisationData(InnLegal("2536161885"), Kpp("253601001"))
    with pytest.raises(ProfileViolation, match="ОГРН and name are not confirmed"):
        Organisation.from_verified(unconfirmed, ORG.address)


def test_a_subject_without_a_required_attribute_is_refused(world: World) -> None:
    # The ЮЛ profile requires the organisation's address (63-ФЗ art. 17: место нахождения).
    homeless = dataclasses.replace(ORG, address=dataclasses.replace(ORG.address, locality=None))
    head = verified(person(random.Random(6)), sid="sub-head")
    request = SubscriberRequest(
        LEGAL_ENTITY,
        head,
        world.keys.subscriber.public_key_info,
        SIGN_TOOL,
        NOW,
        organisation=homeless,
        authority=authority_for(head),
    )
    with pytest.raises(ProfileViolation, match="required localityName is missing") as info:
        plan_subscriber_certificate(request, CONFIG, world.keys.ca, at=NOW)
    assert "Order 795" in info.value.rule


def test_an_unverified_subscriber_is_refused(world: World) -> None:
    sub = verified(person(random.Random(8)))
    unverified = dataclasses.replace(sub, states=())
    with pytest.raises(NotVerified):
        plan_individual(world.keys, subscriber=unverified)


def test_a_ca_key_outside_a_certified_hsm_is_refused_unless_configured(world: World) -> None:
    strict = dataclasses.replace(CONFIG, allow_unqualified_keys=False)
    assert world.keys.ca.qualified_use_allowed is False
    with pytest.raises(ProfileViolation, match="not in a certified HSM"):
        plan_subscriber_certificate(individual_request(world.keys), strict, world.keys.ca, at=NOW)


def test_issuance_under_entrepreneur_needs_it_enabled(world: World) -> None:
    default = dataclasses.replace(CONFIG, enabled_profiles=frozenset({"individual", "ca", "ocsp"}))
    with pytest.raises(ProfileViolation, match="not enabled"):
        plan_subscriber_certificate(
            individual_request(world.keys, profile=ENTREPRENEUR), default, world.keys.ca, at=NOW
        )


def test_pre_issuance_lint_refuses_a_tbs_with_an_error(world: World) -> None:
    plan = plan_individual(world.keys)
    broken = tuple(
        x509ext.KeyUsage(False, e.usages) if isinstance(e, x509ext.KeyUsage) else e
        for e in plan.extensions
    )
    bad_plan = dataclasses.replace(plan, extensions=broken)
    with pytest.raises(LintFailed) as info:
        prepare_tbs(
            bad_plan,
            serial=0x1F00000000000009,
            algorithm=world.keys.ca.signature_algorithm,
            issuer=world.root,
        )
    findings = info.value.context["findings"]
    # keyUsage SHOULD be critical (RFC 5280 §4.2.1.3): a warning on a foreign certificate, an
    # error under our issuance policy.
    assert [f.code for f in findings] == ["w_ru_extension_criticality"]
    assert [f.severity for f in findings] == [Severity.ERROR]


def test_pre_issuance_lint_passes_a_clean_plan_and_returns_its_report(world: World) -> None:
    prepared = prepare_tbs(
        plan_individual(world.keys),
        serial=0x1F0000000000000A,
        algorithm=world.keys.ca.signature_algorithm,
        issuer=world.root,
    )
    assert prepared.report.ok
    assert lint_der(prepared.tbs.der).profile == "individual"


# --- from a CSR ---------------------------------------------------------------------------------


def test_a_request_from_a_csr_takes_its_key_and_only_warns_about_its_subject(world: World) -> None:
    csr_subject = Name.build([(oids.NameAttribute.COMMON_NAME, "Иванова Мария")])
    csr = CsrBuilder().subject_name(csr_subject).sign(world.keys.subscriber)
    sub = verified(person(random.Random(1)))
    request = SubscriberRequest.from_csr(INDIVIDUAL, sub, csr, SIGN_TOOL, NOW)
    assert request.public_key_info == world.keys.subscriber.public_key_info
    plan = plan_subscriber_certificate(request, CONFIG, world.keys.ca, at=NOW)
    assert plan.subject.get(oids.NameAttribute.COMMON_NAME) == ("Иванова Мария Петровна",)
    assert plan.warnings == (
        "CSR commonName differs from the verified data; the verified value is used",
    )


def test_a_csr_whose_signature_does_not_verify_is_refused(world: World) -> None:
    csr = (
        CsrBuilder()
        .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "x")]))
        .sign(world.keys.subscriber)
    )
    forged = dataclasses.replace(csr, signature=bytes(len(csr.signature)))
    with pytest.raises(SignatureInvalid):
        SubscriberRequest.from_csr(
            INDIVIDUAL, verified(person(random.Random(1))), forged, SIGN_TOOL, NOW
        )


def test_the_title_of_a_legal_entity_certificate_defaults_to_the_authority_position(
    world: World,
) -> None:
    title = world.legal_entity.subject.get(oids.NameAttribute.TITLE)
    assert title == ("Генеральный директор",)
    head = verified(person(random.Random(9)), sid="sub-head")
    request = SubscriberRequest(
        LEGAL_ENTITY,
        head,
        world.keys.subscriber.public_key_info,
        SIGN_TOOL,
        NOW,
        organisation=ORG,
        authority=authority_for(head),
    )
    plan = plan_subscriber_certificate(request, CONFIG, world.keys.ca, at=NOW)
    assert plan.subject.get(oids.NameAttribute.TITLE) == ("Генеральный директор",)
    assert plan.subject.get(oids.NameAttribute.ORGANIZATION_NAME) == (ORG.name,)
    assert plan.subject.get(oids.NameAttribute.COMMON_NAME) == (ORG.name,)

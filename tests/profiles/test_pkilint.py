"""pkilint's PKIX (RFC 5280) validators find no error in anything we make: each profile's
certificate, the CA certificate, a subscriber with an e-mail address, a full and a delta CRL.
Our own linter agrees (no error either, under the issuance policy)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from atlas_ca.profiles.lint import Policy, lint_crl_der, lint_der
from atlas_ca.profiles.planning import issue_certificate
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from support.pkilint_support import crl_findings, pkix_findings
from support.profiles_samples import NOW, World, build_world, plan_individual


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("pkilint")))


@pytest.mark.parametrize("name", ["ca", "individual", "entrepreneur", "legal-entity", "ocsp"])
def test_pkilint_finds_no_error_in_our_certificates(world: World, name: str) -> None:
    cert = world.by_profile(name)
    assert pkix_findings(cert.der) == []
    assert lint_der(cert.der, policy=Policy.ISSUANCE).ok


def test_an_email_address_goes_into_subject_alt_name_too(world: World) -> None:
    """RFC 5280 §4.1.2.6; pkilint's subject_email_address_not_in_san flagged our CA before."""
    plan = plan_individual(world.keys, seed=3, email="ivanov@example.ru")
    cert = issue_certificate(plan, world.keys.ca, serial=0x1F000000000000E1, issuer=world.root)
    san = cert.extensions.get(x509ext.SubjectAlternativeName)
    assert san is not None
    assert not san.critical
    assert san.names == (x509ext.Rfc822Name("ivanov@example.ru"),)
    assert pkix_findings(cert.der) == []
    root_san = world.root.extensions.get(x509ext.SubjectAlternativeName)
    assert root_san is not None
    assert root_san.names == (x509ext.Rfc822Name("ca@example.ru"),)


def _crl(world: World, *, number: int, delta_of: int | None = None) -> bytes:
    builder = (
        CrlBuilder()
        .issuer_certificate(world.root.der)
        .this_update(NOW)
        .next_update(NOW + dt.timedelta(days=7))
        .crl_number(number)
    )
    if delta_of is not None:
        builder = builder.delta_crl_indicator(delta_of)
    revoked = [
        RevokedEntry(
            0x1F00000000000002, NOW - dt.timedelta(hours=1), RevocationReason.KEY_COMPROMISE
        ),
        RevokedEntry(0x1F00000000000003, NOW - dt.timedelta(hours=2), None),
    ]
    return builder.sign(world.keys.ca, revoked).der()


@pytest.mark.parametrize("delta", [False, True], ids=["full", "delta"])
def test_pkilint_finds_no_error_in_our_crls(world: World, delta: bool) -> None:
    der = _crl(world, number=8, delta_of=7) if delta else _crl(world, number=7)
    assert crl_findings(der) == []
    report = lint_crl_der(der, Policy.ISSUANCE)
    assert report.findings == (), [str(f) for f in report.findings]


def test_the_pkilint_helper_does_report_errors(world: World) -> None:
    """The helper is not vacuous: a certificate whose e-mail is only in the subject is flagged."""
    plan = plan_individual(world.keys, seed=4, email="petrov@example.ru")
    exts = tuple(e for e in plan.extensions if not isinstance(e, x509ext.SubjectAlternativeName))
    bare = dataclasses.replace(plan, extensions=exts)
    tbs = (
        bare.builder(issuer=world.root)
        .serial_number(0x1F000000000000E2)
        .build_tbs(world.keys.ca.signature_algorithm)
    )
    cert = tbs.sign(world.keys.ca)
    assert any("subject_email_address_not_in_san" in f for f in pkix_findings(cert.der))

"""The qualified profiles with a CA key in an HSM (SoftHSM-GOST): no test-only allowance needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.hsm.pkcs11 import Pkcs11Key, open_token
from atlas_ca.profiles.lint import lint_der
from atlas_ca.profiles.planning import (
    issue_certificate,
    plan_ca_certificate,
    plan_subscriber_certificate,
)
from support.profiles_samples import CA_ORG, CONFIG, NOW, individual_request, make_keys

pytestmark = pytest.mark.softhsm

STRICT = dataclasses.replace(CONFIG, allow_unqualified_keys=False)


@pytest.fixture(scope="module")
def hsm_ca_key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(KeyType.GOST3410_2012_256, label="profiles-ca", key_id=b"\x50\x01")


@pytest.mark.openssl_gost
def test_a_ca_key_in_the_hsm_issues_qualified_certificates_under_the_strict_configuration(
    hsm_ca_key: Pkcs11Key, openssl_gost: Any, tmp_path: Path
) -> None:
    assert hsm_ca_key.qualified_use_allowed is True
    root_plan = plan_ca_certificate(
        CA_ORG, hsm_ca_key.public_key_info, STRICT, hsm_ca_key, not_before=NOW
    )
    root = issue_certificate(root_plan, hsm_ca_key, serial=0x2F00000000000001, self_signed=True)
    keys = make_keys(tmp_path)
    plan = plan_subscriber_certificate(individual_request(keys), STRICT, hsm_ca_key, at=NOW)
    cert = issue_certificate(plan, hsm_ca_key, serial=0x2F00000000000002, issuer=root)
    assert lint_der(root.der).findings == ()
    assert lint_der(cert.der).findings == ()
    (tmp_path / "root.pem").write_bytes(root.pem())
    (tmp_path / "ee.pem").write_bytes(cert.pem())
    proc = openssl_gost.run(["verify", "-CAfile", tmp_path / "root.pem", tmp_path / "ee.pem"])
    assert proc.stdout.strip().endswith(b": OK")

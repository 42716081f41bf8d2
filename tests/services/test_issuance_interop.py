"""A certificate issued through the service with the CA key on SoftHSM (GOST R 34.10-2012
256-bit) verifies with ``openssl verify`` (gost engine) and ``certtool --verify``; once revoked
and published, OpenSSL's CRL check refuses it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.audit.events import Actor
from atlas_ca.hsm.pkcs11 import Pkcs11Key, open_token
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import RevocationReason
from atlas_ca.storage.sqlite import SqliteRegister
from support.issuance_env import FakeClock, World, make_world

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost, pytest.mark.certtool]


@pytest.fixture(scope="module")
def hsm_key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(
        KeyType.GOST3410_2012_256, label="services-interop-ca", key_id=b"\x5e\x01"
    )


@pytest.fixture
def hsm_world(hsm_key: Pkcs11Key, tmp_path: Path) -> World:
    now = dt.datetime.now(dt.UTC)
    reg = SqliteRegister(tmp_path / "register.sqlite3", opened_at=now)
    world = make_world(reg, tmp_path, ca_key=hsm_key)
    world.clock = FakeClock(now - dt.timedelta(minutes=1))
    return world


def test_openssl_and_certtool_verify_a_certificate_the_service_issued_with_softhsm(
    hsm_world: World, openssl_gost: Any, certtool: Any, tmp_path: Path
) -> None:
    assert hsm_world.ca.key.qualified_use_allowed
    cert = hsm_world.service().issue(hsm_world.request()).certificate
    (tmp_path / "ca.pem").write_bytes(hsm_world.ca.certificate.pem())
    (tmp_path / "ee.pem").write_bytes(cert.pem())
    proc = openssl_gost.run(["verify", "-CAfile", tmp_path / "ca.pem", tmp_path / "ee.pem"])
    assert proc.stdout.strip().endswith(b": OK")
    out = certtool.run(
        ["--verify", "--load-ca-certificate", tmp_path / "ca.pem", "--infile", tmp_path / "ee.pem"]
    )
    assert b"Chain verification output: Verified." in out.stdout

    RevocationService(
        issuer=hsm_world.ca.issuer_id,
        register=hsm_world.register,
        challenges=hsm_world.challenges,
        clock=hsm_world.clock,
    ).revoke(
        cert.serial_number,
        reason=RevocationReason.KEY_COMPROMISE,
        by=ByOperator(Actor("operator:ops-1")),
    )
    publisher = CrlPublisher(
        ca=hsm_world.ca,
        register=hsm_world.register,
        directory=tmp_path / "pub",
        clock=hsm_world.clock,
        policy=CrlPolicy(file_name="ca.crl.pem", pem=True),
    )
    crl = publisher.publish_full().path
    refused = openssl_gost.run(
        [
            "verify",
            "-crl_check",
            "-CRLfile",
            crl,
            "-CAfile",
            tmp_path / "ca.pem",
            tmp_path / "ee.pem",
        ],
        check=False,
    )
    assert refused.returncode != 0
    assert b"certificate revoked" in refused.stdout + refused.stderr

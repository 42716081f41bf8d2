"""Full and delta CRLs published through the service, signed by a GOST CA key on SoftHSM,
verify with ``openssl crl -verify`` (gost engine) and ``certtool --verify-crl``."""

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
OPERATOR = ByOperator(Actor("operator:ops-1"))


@pytest.fixture(scope="module")
def hsm_key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(
        KeyType.GOST3410_2012_256, label="services-crl-ca", key_id=b"\x5e\x02"
    )


@pytest.fixture
def crls(hsm_key: Pkcs11Key, tmp_path: Path) -> dict[str, Path]:
    """A full CRL (DER and PEM) with a revoked and a suspended certificate, then a delta CRL
    (DER and PEM) with the suspension lifted and one more revocation."""
    now = dt.datetime.now(dt.UTC)
    register = SqliteRegister(tmp_path / "r.sqlite3", opened_at=now)
    world: World = make_world(register, tmp_path, ca_key=hsm_key)
    world.clock = FakeClock(now - dt.timedelta(minutes=5))
    a, b, c = (world.service().issue(world.request()).certificate.serial_number for _ in range(3))
    service = RevocationService(
        issuer=world.ca.issuer_id,
        register=world.register,
        challenges=world.challenges,
        clock=world.clock,
    )
    service.revoke(a, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR)
    service.suspend(b, by=OPERATOR)
    out = {"ca": tmp_path / "ca.pem"}
    out["ca"].write_bytes(world.ca.certificate.pem())

    def publisher(pem: bool) -> CrlPublisher:
        suffix = ".pem" if pem else ".der"
        policy = CrlPolicy(file_name=f"full{suffix}", delta_file_name=f"delta{suffix}", pem=pem)
        return CrlPublisher(
            ca=world.ca, register=world.register, directory=tmp_path / "pub", clock=world.clock,
            policy=policy,
        )  # fmt: skip

    out["full.der"] = publisher(False).publish_full().path
    out["full.pem"] = publisher(True).publish_full().path
    world.clock.advance(minutes=1)
    service.resume(b, by=OPERATOR)
    service.revoke(c, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    out["delta.der"] = publisher(False).publish_delta().path
    out["delta.pem"] = publisher(True).publish_delta().path
    return out


def test_openssl_verifies_the_published_full_and_delta_crls(
    crls: dict[str, Path], openssl_gost: Any
) -> None:
    for name in ("full.der", "delta.der"):
        out = openssl_gost.run(
            ["crl", "-inform", "DER", "-in", crls[name], "-verify", "-CAfile", crls["ca"], "-noout"]
        )
        assert b"verify OK" in out.stdout + out.stderr
    text = openssl_gost.run(["crl", "-in", crls["delta.pem"], "-noout", "-text"]).stdout
    assert b"Delta CRL Indicator: critical" in text
    assert b"Remove From CRL" in text
    assert b"Superseded" in text
    full = openssl_gost.run(["crl", "-in", crls["full.pem"], "-noout", "-text"]).stdout
    assert b"Key Compromise" in full
    assert b"Certificate Hold" in full


def test_certtool_verifies_the_published_full_and_delta_crls(
    crls: dict[str, Path], certtool: Any
) -> None:
    for name in ("full.pem", "delta.pem"):
        out = certtool.run(
            ["--verify-crl", "--load-ca-certificate", crls["ca"], "--infile", crls[name]]
        )
        assert b"Verification output: Verified." in out.stdout + out.stderr

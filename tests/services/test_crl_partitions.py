"""Partitioned CRLs end to end: a partitioned CA's certificates, issued through the unchanged
issuance service, name their partition's CRL in their CDP; each partition's full and delta CRL
lists only its serials under an issuingDistributionPoint naming that URL (RFC 5280 §5.2.5);
OpenSSL and certtool verify them, and OpenSSL's CRL check accepts a certificate's own partition
CRL and only that one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.audit.events import Actor
from atlas_ca.errors import CrlPartitionUnknown, CrlPublicationFailed, RecordNotFound
from atlas_ca.hsm.pkcs11 import Pkcs11Key, open_token
from atlas_ca.profiles.config import CrlPartitioning
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import RevocationReason
from atlas_ca.storage.sqlite import SqliteRegister
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import IssuingDistributionPoint, load_crl
from atlas_ca.x509.extensions import CrlDistributionPoints
from support.issuance_env import FakeClock, World, make_world

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost, pytest.mark.certtool]
OPERATOR = ByOperator(Actor("operator:ops-1"))
PARTS = CrlPartitioning(2, "http://ca.example.ru/cdp/ca-{partition}.crl")


@pytest.fixture(scope="module")
def hsm_key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(
        KeyType.GOST3410_2012_256, label="services-crl-partitions", key_id=b"\x5e\x03"
    )


@pytest.fixture
def world(hsm_key: Pkcs11Key, tmp_path: Path) -> World:
    now = dt.datetime.now(dt.UTC)
    register = SqliteRegister(tmp_path / "r.sqlite3", opened_at=now)
    world = make_world(register, tmp_path, ca_key=hsm_key)
    config = dataclasses.replace(world.ca.config, crl_urls=(), crl_partitions=PARTS)
    world.ca = CertificateAuthority(world.ca.key, world.ca.certificate, config)
    world.clock = FakeClock(now - dt.timedelta(minutes=5))
    (tmp_path / "ca.pem").write_bytes(world.ca.certificate.pem())
    return world


def _cdp(cert: Certificate) -> tuple[str, ...]:
    ext = next(e for e in cert.extensions if isinstance(e, CrlDistributionPoints))
    return tuple(str(name.value) for point in ext.points for name in point.full_name)  # type: ignore[attr-defined]


def _issue_in_each_partition(world: World) -> dict[int, list[Certificate]]:
    """Issue until each partition holds two certificates (serials are random)."""
    found: dict[int, list[Certificate]] = {p: [] for p in range(PARTS.count)}
    for _ in range(40):
        cert = world.service().issue(world.request()).certificate
        found[PARTS.partition_of(cert.serial_number)].append(cert)
        if all(len(c) >= 2 for c in found.values()):
            return found
    raise AssertionError(f"random serials did not reach every partition: {found}")


def _publisher(world: World, tmp_path: Path) -> CrlPublisher:
    return CrlPublisher(
        ca=world.ca, register=world.register, directory=tmp_path / "pub", clock=world.clock,
        policy=CrlPolicy(pem=True),
    )  # fmt: skip


def test_partitioned_certificates_and_crls_interoperate(
    world: World, tmp_path: Path, openssl_gost: Any, certtool: Any
) -> None:
    certs = _issue_in_each_partition(world)
    for p, issued in certs.items():
        for cert in issued:
            assert _cdp(cert) == (PARTS.url(p),)
    revocation = RevocationService(
        issuer=world.ca.issuer_id,
        register=world.register,
        challenges=world.challenges,
        clock=world.clock,
    )
    revoked = {p: issued[0].serial_number for p, issued in certs.items()}
    for serial in revoked.values():
        revocation.revoke(serial, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR)
    publisher = _publisher(world, tmp_path)
    fulls = publisher.publish_partitions()
    assert [f.partition for f in fulls] == [0, 1]
    assert fulls[0].number < fulls[1].number

    for p, published in enumerate(fulls):
        assert published.path.name == f"ca-{p}.crl"
        crl = load_crl(published.path.read_bytes())
        assert [e.serial for e in crl] == [revoked[p]]  # only the partition's serials
        assert crl.issuing_distribution_point == IssuingDistributionPoint(full_name=(PARTS.url(p),))
        out = openssl_gost.run(
            ["crl", "-in", published.path, "-verify", "-CAfile", tmp_path / "ca.pem", "-noout"]
        )
        assert b"verify OK" in out.stdout + out.stderr
        tool = certtool.run(
            ["--verify-crl", "--load-ca-certificate", tmp_path / "ca.pem",
             "--infile", published.path]
        )  # fmt: skip
        assert b"Verification output: Verified." in tool.stdout + tool.stderr

    # OpenSSL matches the CRL's IDP with the certificate's CDP (RFC 5280 §6.3.3 (b)(2)):
    # a certificate is checked against its own partition's CRL only.
    for p, issued in certs.items():
        for cert in issued:
            ee = tmp_path / f"ee-{cert.serial_number:x}.pem"
            ee.write_bytes(cert.pem())
            for q, published in enumerate(fulls):
                proc = openssl_gost.run(
                    ["verify", "-crl_check", "-CRLfile", published.path,
                     "-CAfile", tmp_path / "ca.pem", ee],
                    check=False,
                )  # fmt: skip
                text = proc.stdout + proc.stderr
                if q != p:
                    assert proc.returncode != 0
                    assert b"different CRL scope" in text  # IDP does not match the CDP
                elif cert.serial_number == revoked[p]:
                    assert proc.returncode != 0
                    assert b"certificate revoked" in text
                else:
                    assert proc.returncode == 0, text.decode(errors="replace")

    # deltas per partition: a new revocation in partition 1 only
    world.clock.advance(minutes=1)
    later = certs[1][1].serial_number
    revocation.revoke(later, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    deltas = publisher.publish_partitions(delta=True)
    for p, published in enumerate(deltas):
        assert published.path.name == f"ca-{p}-delta.crl"
        crl = load_crl(published.path.read_bytes())
        assert crl.delta_crl_indicator == fulls[p].number
        assert crl.issuing_distribution_point == IssuingDistributionPoint(full_name=(PARTS.url(p),))
        assert [e.serial for e in crl] == ([later] if p == 1 else [])
        out = openssl_gost.run(
            ["crl", "-in", published.path, "-verify", "-CAfile", tmp_path / "ca.pem", "-noout"]
        )
        assert b"verify OK" in out.stdout + out.stderr
        tool = certtool.run(
            ["--verify-crl", "--load-ca-certificate", tmp_path / "ca.pem",
             "--infile", published.path]
        )  # fmt: skip
        assert b"Verification output: Verified." in tool.stdout + tool.stderr


def test_a_partitioned_ca_names_the_partition_and_its_delta_needs_its_full_crl(
    world: World, tmp_path: Path
) -> None:
    publisher = _publisher(world, tmp_path)
    with pytest.raises(CrlPartitionUnknown, match="publishes 2 CRL partitions"):
        publisher.publish_full()
    with pytest.raises(CrlPartitionUnknown, match=r"partition 2 does not exist.*0\.\.1"):
        publisher.publish_full(2)
    with pytest.raises(CrlPartitionUnknown, match="partition -1 does not exist"):
        publisher.publish_delta(-1)
    with pytest.raises(RecordNotFound, match="publish partition 1's full CRL first"):
        publisher.publish_delta(1)
    publisher.publish_full(0)
    # a file that is not partition 1's full CRL is not taken as its base
    (tmp_path / "pub" / "ca-1.crl").write_bytes((tmp_path / "pub" / "ca-0.crl").read_bytes())
    with pytest.raises(CrlPublicationFailed, match="not the full CRL of partition 1"):
        publisher.publish_delta(1)


def test_an_unpartitioned_ca_refuses_a_partition(world: World, tmp_path: Path) -> None:
    world.ca = CertificateAuthority(
        world.ca.key,
        world.ca.certificate,
        dataclasses.replace(
            world.ca.config, crl_partitions=None, crl_urls=("http://ca.example.ru/ca.crl",)
        ),
    )
    publisher = _publisher(world, tmp_path)
    with pytest.raises(CrlPartitionUnknown, match="not partitioned"):
        publisher.publish_full(0)
    with pytest.raises(CrlPartitionUnknown, match="not partitioned"):
        publisher.publish_partitions()
    assert publisher.partitions is None

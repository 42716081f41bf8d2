"""A CRL publication's import set and its issuer: publishing from the register needs the key,
the CA certificate's bytes, the register and the CRL builder — not ``cryptography``, the
certificate model, the profiles or the OTP domain, which are ≈ 20 MB of a publishing process
(docs/performance.md, "Partitioned CRLs, per partition"). ``CrlIssuer`` checks what
``CertificateAuthority`` checks; the publisher's files hold no trace of the entries' spool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_ca.audit.events import Actor
from atlas_ca.errors import CertificateKeyMismatch
from atlas_ca.services.crl_publication import CrlIssuer, CrlPublisher
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import RevocationReason, open_register
from atlas_ca.x509 import crl as x509crl
from support.crl_helpers import der_to_pem, new_gost_key
from support.crl_helpers import make_ca as make_ca_der
from support.issuance_env import T0, World, fresh_key, make_csr, make_world, software_key

#: What the publication path must not import (top-level packages or atlas_ca modules).
HEAVY = (
    "cryptography",
    "click",
    "pyhanko",
    "pyhanko_certvalidator",
    "psycopg",
    "pkcs11",
    "atlas_ca.app",
    "atlas_ca.cli",
    "atlas_ca.x509.certificate",
    "atlas_ca.x509.signatures",
    "atlas_ca.x509.extensions",
    "atlas_ca.services.ca",
    "atlas_ca.services.issuance",
    "atlas_ca.profiles.base",
    "atlas_ca.profiles.lint",
    "atlas_ca.domain.otp",
    "atlas_ca.trust",
    # the pure GOST engine's library: a fallback the native engine never calls (issue 17,
    # docs/performance.md "Issue 17: CRL partition publication margin and the 5M point")
    "gostcrypto",
)

#: The child: what ``bench/crl_publish.py``'s measured child and a publishing command do.
CHILD = """
import json, sys
from pathlib import Path

from atlas_ca.hsm.software import open_software_key
from atlas_ca.profiles.config import CrlPartitioning
from atlas_ca.services.crl_publication import CrlIssuer, CrlPolicy, CrlPublisher
from atlas_ca.services.ports import SystemClock
from atlas_ca.storage import open_register

base, location, partitions = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
key = open_software_key(f"file:{base / 'ca.key'}", password="test")
url = "http://ca.example.ru/cdp/ca-{partition}.crl"
parts = CrlPartitioning(partitions, url) if partitions else None
issuer = CrlIssuer(key, (base / "ca.der").read_bytes(), parts)
clock = SystemClock()
register = open_register(location, opened_at=clock.now())
try:
    publisher = CrlPublisher(
        ca=issuer, register=register, directory=base / "pub", clock=clock,
        policy=CrlPolicy(pem=True),
    )
    done = publisher.publish_partitions() if partitions else [publisher.publish_full()]
finally:
    register.close()
print(json.dumps({"modules": sorted(sys.modules), "files": [p.path.name for p in done]}))
"""


@pytest.fixture
def world(tmp_path: Path) -> World:
    register = open_register(str(tmp_path / "register.sqlite3"), opened_at=T0)
    w = make_world(register, tmp_path)
    serials = [w.service().issue(w.request()).certificate.serial_number for _ in range(3)]
    revocations = RevocationService(
        issuer=w.ca.issuer_id, register=register, challenges=w.challenges, clock=w.clock
    )
    operator = ByOperator(Actor("operator:ops-3"))
    revocations.revoke(serials[0], reason=RevocationReason.KEY_COMPROMISE, by=operator)
    revocations.suspend(serials[1], by=operator)
    return w


def _publish_in_a_child(base: Path, partitions: int = 0) -> dict[str, list[str]]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    location = str(base / "register.sqlite3")
    args = [sys.executable, "-c", CHILD, str(base), location, str(partitions)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return result


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("partitions", [0, 2])
def test_a_publication_imports_no_cryptography_nor_the_certificate_model(
    world: World, tmp_path: Path, partitions: int
) -> None:
    world.register.close()
    result = _publish_in_a_child(tmp_path, partitions)

    assert _heavy(result["modules"]) == []
    assert "atlas_ca.services.crl_publication" in result["modules"]  # the probe ran
    listed = 0
    for name in result["files"]:
        crl = x509crl.load_crl((tmp_path / "pub" / name).read_bytes())
        crl.verify_issued_by(world.ca.certificate.der)
        listed += len(crl)
    assert listed == 2
    # the entries' spool is an anonymous file: nothing but the CRLs and the lock is left
    left = sorted(p.name for p in (tmp_path / "pub").iterdir())
    assert left == sorted([*result["files"], ".atlas-crl-publish.lock"])


def test_the_crl_issuer_is_the_certificate_authority_reduced(world: World) -> None:
    ca = world.ca
    issuer = CrlIssuer.of(ca)
    assert issuer.issuer_id == ca.issuer_id
    assert issuer.certificate_der == ca.certificate.der
    assert issuer.public_key_info == ca.certificate.public_key_info
    assert issuer.partitions is ca.config.crl_partitions
    pem = CrlIssuer(ca.key, der_to_pem(ca.certificate.der))
    assert pem.certificate_der == ca.certificate.der
    assert pem.issuer_id == ca.issuer_id
    assert repr(ca.key) not in repr(issuer)


def test_the_crl_issuer_refuses_another_key_and_a_certificate_that_is_no_ca(
    world: World, tmp_path: Path
) -> None:
    other = software_key(tmp_path, "other")
    with pytest.raises(CertificateKeyMismatch):
        CrlIssuer(other, world.ca.certificate.der)
    # a certificate without basicConstraints cA=TRUE (a subscriber's), with its own key
    leaf_key = fresh_key()
    leaf = world.service().issue(world.request(csr=make_csr(leaf_key))).certificate
    assert not x509crl.issuer_facts(leaf.der).is_ca
    with pytest.raises(ValueError, match="cA=TRUE"):
        CrlIssuer(leaf_key, leaf.der)


def test_issuer_facts_read_basic_constraints() -> None:
    key = new_gost_key("cryptopro-a")
    assert x509crl.issuer_facts(make_ca_der(key)).is_ca


def test_a_publisher_of_a_crl_issuer_publishes_as_one_of_the_certificate_authority(
    world: World, tmp_path: Path
) -> None:
    by_ca = CrlPublisher(
        ca=world.ca, register=world.register, directory=tmp_path / "a", clock=world.clock
    ).publish_full()
    by_issuer = CrlPublisher(
        ca=CrlIssuer.of(world.ca),
        register=world.register,
        directory=tmp_path / "b",
        clock=world.clock,
    ).publish_full()
    a = x509crl.load_crl(by_ca.path.read_bytes())
    b = x509crl.load_crl(by_issuer.path.read_bytes())
    b.verify_issued_by(world.ca.certificate.der)
    assert (b.crl_number, a.crl_number) == (by_issuer.number, by_ca.number)
    assert list(a) == list(b)
    assert a.issuer_der == b.issuer_der
    assert a.authority_key_identifier == b.authority_key_identifier

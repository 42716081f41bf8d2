"""Setting up a CA through :class:`atlas_ca.services.ca_setup.CaSetupService` (issue 12): the
self-signed root (file and register), the subordinate CA's request, the key generation, and
the refusals that leave nothing half-written. SQLite and PostgreSQL registers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import stat
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.errors import FileExists, InvalidInput, ProfileViolation
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.ca_setup import (
    CA_KEY_TYPES,
    CaSetupService,
    RootCa,
    SubordinateRequest,
    generate_ca_key,
    keep_ca_certificate,
)
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CertificationRequest
from support.issuance_env import CA_ORG, CONFIG, FakeClock, registers, software_key

pg_server = registers.pg_server
store = registers.store

NOW = dt.datetime(2026, 11, 25, 9, 0, 30, 123456, tzinfo=dt.UTC)


def _seeded(seed: int) -> Any:
    rng = random.Random(seed)
    return rng.randbytes


def _service(seed: int = 1) -> CaSetupService:
    return CaSetupService(clock=FakeClock(NOW), random_bytes=_seeded(seed))


def test_a_root_is_self_signed_written_public_and_kept_in_the_register(
    store: Any, tmp_path: Path
) -> None:
    key = software_key(tmp_path, "ca")
    register = store.open()
    target = tmp_path / "ca.pem"
    root = _service(7).create_root(key, CA_ORG, CONFIG, register=register, certificate_path=target)
    assert isinstance(root, RootCa)
    certificate = root.certificate
    certificate.verify_signed_by(key.public_key_info)
    assert certificate.is_ca
    assert certificate.issuer == certificate.subject
    assert certificate.not_before == NOW.replace(microsecond=0)  # the service's clock
    assert certificate.serial_number == random_serial(_seeded(7))  # the service's randomness
    assert Certificate.from_pem(target.read_bytes()).der == certificate.der
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert root.issuer_id == CertificateAuthority(key, certificate, CONFIG).issuer_id
    assert [c.der for c in register.ca_certificates(root.issuer_id)] == [certificate.der]


def test_a_root_without_a_file_is_only_kept_in_the_register(store: Any, tmp_path: Path) -> None:
    key = software_key(tmp_path, "ca")
    register = store.open()
    root = _service().create_root(key, CA_ORG, CONFIG, register=register)
    assert root.path is None
    assert list(tmp_path.glob("*.pem")) == []
    assert len(register.ca_certificates(root.issuer_id)) == 1
    # keeping it again changes nothing
    keep_ca_certificate(register, root.certificate, root.issuer_id, NOW)
    assert len(register.ca_certificates(root.issuer_id)) == 1


def test_an_existing_certificate_file_is_never_overwritten_and_nothing_is_kept(
    store: Any, tmp_path: Path
) -> None:
    key = software_key(tmp_path, "ca")
    register = store.open()
    target = tmp_path / "ca.pem"
    target.write_bytes(b"the CA certificate relying parties already have")
    with pytest.raises(InvalidInput, match="never overwritten"):
        _service().create_root(key, CA_ORG, CONFIG, register=register, certificate_path=target)
    assert target.read_bytes() == b"the CA certificate relying parties already have"
    assert register.ca_certificates() == []


def test_a_profile_that_refuses_the_ca_key_signs_nothing(store: Any, tmp_path: Path) -> None:
    key = software_key(tmp_path, "ca")
    register = store.open()
    strict = dataclasses.replace(CONFIG, allow_unqualified_keys=False)  # a software CA key
    target = tmp_path / "ca.pem"
    with pytest.raises(ProfileViolation):
        _service().create_root(key, CA_ORG, strict, register=register, certificate_path=target)
    assert not target.exists()
    assert register.ca_certificates() == []


def test_a_subordinate_ca_gets_a_request_for_its_head_ca(tmp_path: Path) -> None:
    key = software_key(tmp_path, "ca")
    csr_path = tmp_path / "sub.csr"
    service = _service()
    made = service.request_subordinate(key, CA_ORG, CONFIG, csr_path=csr_path)
    assert isinstance(made, SubordinateRequest)
    parsed = CertificationRequest.load(csr_path.read_bytes())
    parsed.verify()  # proof of possession by the CA key
    assert parsed.public_key_info == key.public_key_info
    assert parsed.subject == service.plan(key, CA_ORG, CONFIG).subject
    assert stat.S_IMODE(csr_path.stat().st_mode) == 0o644
    with pytest.raises(FileExists):
        service.request_subordinate(key, CA_ORG, CONFIG, csr_path=csr_path)
    again = service.request_subordinate(key, CA_ORG, CONFIG, csr_path=csr_path, overwrite=True)
    assert CertificationRequest.load(csr_path.read_bytes()).der == again.csr.der


def test_a_software_ca_key_is_generated_with_a_password_only(tmp_path: Path) -> None:
    path = tmp_path / "ca.key"
    with pytest.raises(InvalidInput, match="needs a password"):
        generate_ca_key(f"file:{path}", KeyType.GOST3410_2012_256)
    assert not path.exists()
    service = _service()
    service.generate_key(f"file:{path}", CA_KEY_TYPES["gost2012-256"], pin="secret")
    key = service.open_key(f"file:{path}", pin="secret")
    assert key.key_type is KeyType.GOST3410_2012_256


def test_a_token_key_must_be_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="object=<label>"):
        generate_ca_key("pkcs11:token=CA", KeyType.GOST3410_2012_256, pin="1234")

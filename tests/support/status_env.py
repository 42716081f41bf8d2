"""Shared set-up of the OCSP/TSA tests (not a test module).

A CA whose key, OCSP responder key and TSA key are on the session's SoftHSM token; a register
(SQLite, or PostgreSQL by DSN) holding a good, a revoked (keyCompromise) and a held certificate;
the responder and TSA certificates issued by the CA under the ``ocsp`` and ``tsa`` profiles;
everything written as PEM into one directory for the outside clients and the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from atlas_ca.algorithms import KeyType
from atlas_ca.audit import Actor
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.profiles.planning import (
    issue_certificate,
    plan_ocsp_certificate,
    plan_tsa_certificate,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import RevocationReason, open_register
from atlas_ca.storage.ports import Register
from atlas_ca.x509.certificate import Certificate, random_serial

OPERATOR = ByOperator(Actor("operator:ops-1"))


from support import issuance_env  # noqa: E402

CONFIG = replace(
    issuance_env.CONFIG, enabled_profiles=issuance_env.CONFIG.enabled_profiles | {"tsa"}
)
CA_ORG = issuance_env.CA_ORG


@dataclass
class Pki:
    """Paths and objects of one test PKI."""

    directory: Path
    register_location: str
    ca: CertificateAuthority
    responder_key: SigningKey
    responder: Certificate
    tsa_key: SigningKey
    tsa: Certificate
    good: Certificate
    revoked: Certificate
    held: Certificate
    key_uris: dict[str, str]
    world: Any

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def revocation(self, register: Register | None = None) -> RevocationService:
        return RevocationService(
            issuer=self.ca.issuer_id,
            register=register or self.world.register,
            challenges=self.world.challenges,
            clock=self.world.clock,
        )


def build_pki(directory: Path, softhsm: Any, register_location: str, tag: str) -> Pki:
    """Make the PKI in ``directory`` with keys labelled ``<tag>-ca|ocsp|tsa`` on the token."""
    directory.mkdir(parents=True, exist_ok=True)
    token = open_token(softhsm.uri())
    keys: dict[str, SigningKey] = {}
    uris: dict[str, str] = {}
    for role in ("ca", "ocsp", "tsa"):
        label = f"{tag}-{role}"
        keys[role] = token.generate_key(KeyType.GOST3410_2012_256, label=label)
        uris[role] = softhsm.uri(object=label, type="private")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    register = open_register(register_location, opened_at=now)
    world = issuance_env.make_world(register, directory, ca_key=keys["ca"])
    world.clock = issuance_env.FakeClock(now - dt.timedelta(minutes=10))
    good, revoked, held = (world.service().issue(world.request()).certificate for _ in range(3))
    ca: CertificateAuthority = world.ca
    not_before = now - dt.timedelta(minutes=5)
    responder = issue_certificate(
        plan_ocsp_certificate(
            CA_ORG, keys["ocsp"].public_key_info, CONFIG, keys["ca"], not_before=not_before
        ),
        keys["ca"],
        serial=random_serial(),
        issuer=ca.certificate,
    )
    tsa = issue_certificate(
        plan_tsa_certificate(
            CA_ORG, keys["tsa"].public_key_info, CONFIG, keys["ca"], not_before=not_before
        ),
        keys["ca"],
        serial=random_serial(),
        issuer=ca.certificate,
    )
    pki = Pki(
        directory, register_location, ca, keys["ocsp"], responder, keys["tsa"], tsa,
        good, revoked, held, uris, world,
    )  # fmt: skip
    service = pki.revocation()
    service.revoke(revoked.serial_number, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR)
    service.suspend(held.serial_number, by=OPERATOR)
    for name, cert in (
        ("ca", ca.certificate),
        ("ocsp", responder),
        ("tsa", tsa),
        ("good", good),
        ("revoked", revoked),
        ("held", held),
    ):
        pki.path(name).write_bytes(cert.pem())
    return pki


def publish_crls(pki: Pki) -> Path:
    """Publish the full and a delta CRL (DER) into ``<dir>/crl`` as the operator's publisher."""
    from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher

    crl_dir = pki.directory / "crl"
    publisher = CrlPublisher(
        ca=pki.ca,
        register=pki.world.register,
        directory=crl_dir,
        clock=pki.world.clock,
        policy=CrlPolicy(),
        actor=Actor("operator:ops-1"),
    )
    publisher.publish_full()
    pki.world.clock.advance(seconds=1)
    publisher.publish_delta()
    return crl_dir


def write_serve_config(pki: Pki, *, register_location: str | None = None, extra: str = "") -> Path:
    """The operator's TOML with a [serve] table: delegated OCSP signer and TSA on the token."""
    path = pki.directory / "atlas-ca.toml"
    path.write_text(
        "[register]\n"
        f'location = "{register_location or pki.register_location}"\n\n'
        "[ca]\n"
        f'key_uri = "{pki.key_uris["ca"]}"\n'
        f'certificate = "{pki.path("ca")}"\n'
        f'crl_dir = "{pki.directory / "crl"}"\n\n'
        "[ca.profile]\n"
        f"crl_urls = {list(CONFIG.crl_urls)!r}\n".replace("'", '"')
        + f"ca_issuers_urls = {list(CONFIG.ca_issuers_urls)!r}\n".replace("'", '"')
        + "\n[serve]\n"
        f'ocsp_key_uri = "{pki.key_uris["ocsp"]}"\n'
        f'ocsp_certificate = "{pki.path("ocsp")}"\n'
        "ocsp_validity_minutes = 60\n"
        f'tsa_key_uri = "{pki.key_uris["tsa"]}"\n'
        f'tsa_certificate = "{pki.path("tsa")}"\n'
        "threads = 4\n" + extra
    )
    return path

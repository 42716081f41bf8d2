"""Setting up a CA: its key (on the token, or an encrypted software key for tests and demos),
its certificate by the ``ca`` profile — a self-signed root — or the certification request of
a subordinate CA to its head CA, and the CA certificate kept in the register.

``atlas-ca init`` and the library facade are thin shells over :class:`CaSetupService`
(issue 12). Time and randomness (the root's serial) are constructor parameters.

A root is written only to a file that does not exist (a CA certificate is never overwritten:
relying parties, the AIA and the register already know the one there), and it is checked
before anything is signed; the certificate is public (0644). The register keeps every CA
certificate it has issued under (schema v5), so the chain can be rebuilt from the register
alone if the file is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.errors import InvalidInput
from atlas_ca.hsm import open_key
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.hsm.software import generate_software_key
from atlas_ca.hsm.uri import FileKeyUri, Pkcs11Uri, read_pin_source
from atlas_ca.profiles.config import CaConfig
from atlas_ca.profiles.planning import (
    CertificatePlan,
    Organisation,
    issue_certificate,
    plan_ca_certificate,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.files import PUBLIC_FILE, write_file
from atlas_ca.services.ports import Clock, RandomBytes
from atlas_ca.storage.ports import CaCertificate, IssuerKeyId, Register
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CertificationRequest, CsrBuilder

#: The key types ``atlas-ca init --key-type`` names.
CA_KEY_TYPES = {
    "gost2012-256": KeyType.GOST3410_2012_256,
    "gost2012-512": KeyType.GOST3410_2012_512,
}


@dataclass(frozen=True, slots=True)
class RootCa:
    """A self-signed root: the certificate, where it was written (``None``: not written) and
    the id the register knows the CA by (its subjectKeyIdentifier)."""

    certificate: Certificate
    path: Path | None
    issuer_id: IssuerKeyId


@dataclass(frozen=True, slots=True)
class SubordinateRequest:
    """The certification request of a subordinate CA to its head CA, and where it went."""

    csr: CertificationRequest
    path: Path | None


def keep_ca_certificate(
    register: Register, certificate: Certificate, issuer: IssuerKeyId, now: datetime
) -> None:
    """Keep the CA certificate in the register (schema v5) unless it is there already, so the
    register alone can rebuild the chain if the certificate file is lost or overwritten."""
    kept = register.ca_certificates(issuer)
    if any(c.der == certificate.der for c in kept):
        return
    register.store_ca_certificate(
        CaCertificate(issuer, certificate.der, certificate.not_before, certificate.not_after, now)
    )


def generate_ca_key(
    uri: str, key_type: KeyType, *, pin: str | None = None, param_set: str | None = None
) -> None:
    """Generate the key ``uri`` names: on its token (``pkcs11:``, named by ``object=``) or as
    an encrypted file (``file:``; the password is ``pin`` or the URI's ``pin-source``)."""
    if uri.startswith("pkcs11:"):
        parsed = Pkcs11Uri.parse(uri)
        if not parsed.object:
            raise InvalidInput("name the new key with object=<label> in the pkcs11: URI")
        token = open_token(parsed, pin=pin)
        token.generate_key(key_type, label=parsed.object, key_id=parsed.id, param_set=param_set)
        return
    parsed_file = FileKeyUri.parse(uri)
    password = pin or (read_pin_source(parsed_file.pin_source) if parsed_file.pin_source else None)
    if not password:
        raise InvalidInput("a software key needs a password: pin-source in the URI or ATLAS_CA_PIN")
    generate_software_key(parsed_file.path, key_type, password=password, param_set=param_set)


class CaSetupService:
    """Creates this CA's certificate (root) or its request to the head CA (subordinate)."""

    def __init__(self, *, clock: Clock, random_bytes: RandomBytes) -> None:
        self._clock = clock
        self._random = random_bytes

    def generate_key(
        self, uri: str, key_type: KeyType, *, pin: str | None = None, param_set: str | None = None
    ) -> None:
        """See :func:`generate_ca_key`."""
        generate_ca_key(uri, key_type, pin=pin, param_set=param_set)

    def open_key(self, uri: str, *, pin: str | None = None) -> SigningKey:
        """The CA key ``uri`` names (``pin`` overrides the URI's pin-source)."""
        return open_key(uri, pin=pin)

    def plan(
        self, key: SigningKey, organisation: Organisation, config: CaConfig
    ) -> CertificatePlan:
        """The CA certificate by the ``ca`` profile, valid from now (whole seconds): refused
        here (ProfileViolation) if the profile or the key does not allow it."""
        now = self._clock.now().replace(microsecond=0)
        return plan_ca_certificate(organisation, key.public_key_info, config, key, not_before=now)

    def create_root(
        self,
        key: SigningKey,
        organisation: Organisation,
        config: CaConfig,
        *,
        register: Register,
        certificate_path: Path | None = None,
    ) -> RootCa:
        """Self-sign the root (linted before it is signed), write it to ``certificate_path``
        (a new file only) and keep it in ``register``."""
        if certificate_path is not None and certificate_path.exists():
            raise InvalidInput(f"{certificate_path} exists; a CA certificate is never overwritten")
        plan = self.plan(key, organisation, config)
        root = issue_certificate(plan, key, serial=random_serial(self._random), self_signed=True)
        ca = CertificateAuthority(key, root, config)  # the key is the certificate's, cA=TRUE
        # the register first: a root written to the file but unknown to the register would
        # block a second try (the file is never overwritten); the other way round only leaves
        # an unused certificate in the register's CA table
        keep_ca_certificate(register, root, ca.issuer_id, plan.not_before)
        if certificate_path is not None:
            # public: relying parties and the web server (AIA) read it
            write_file(certificate_path, root.pem(), mode=PUBLIC_FILE)
        return RootCa(root, certificate_path, ca.issuer_id)

    def request_subordinate(
        self,
        key: SigningKey,
        organisation: Organisation,
        config: CaConfig,
        *,
        csr_path: Path | None = None,
        overwrite: bool = False,
    ) -> SubordinateRequest:
        """The CSR of a subordinate CA (the ``ca`` profile's subject and extensions) for the
        head CA, written to ``csr_path`` (public) if given."""
        plan = self.plan(key, organisation, config)
        csr = CsrBuilder().subject_name(plan.subject).add_extensions(plan.extensions).sign(key)
        if csr_path is not None:
            write_file(csr_path, csr.pem(), mode=PUBLIC_FILE, overwrite=overwrite)
        return SubordinateRequest(csr, csr_path)


__all__ = [
    "CA_KEY_TYPES",
    "CaSetupService",
    "RootCa",
    "SubordinateRequest",
    "generate_ca_key",
    "keep_ca_certificate",
]

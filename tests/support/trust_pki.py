"""A small GOST R 34.10-2012 PKI in memory for the trust tests: root → sub CA → leaf, CRLs.

Keys are real GOST keys (atlas_ca.gost); the certificates and CRLs come from atlas_ca's own
builders, so what the validator sees is what our CA issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from atlas_ca import gost
from atlas_ca.algorithms import DEFAULT_SIGNATURE, KeyType, SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from atlas_ca.x509.extensions import (
    BasicConstraints,
    CertificatePolicies,
    Extension,
    KeyUsage,
    KeyUsageBit,
    PolicyInformation,
    SubjectKeyIdentifier,
)
from atlas_ca.x509.names import Name

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 6, 1, tzinfo=UTC)
CA_USAGE = KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}))
EE_USAGE = KeyUsage(
    True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})
)


@dataclass(frozen=True)
class GostKey:
    param_set: gost.ParamSet
    d: int = field(repr=False)
    public_key_info: bytes
    key_type: KeyType

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return DEFAULT_SIGNATURE[self.key_type]

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        return gost.sign(self.param_set, self.d, data)


def gost_key(name: str = "cryptopro-a") -> GostKey:
    ps = gost.param_set(name)
    d = gost.generate_private_scalar(ps)
    pub = gost.public_key_from_private(ps, d)
    return GostKey(ps, d, pub.spki_der(), pub.key_type)


def name(cn: str, *extra: tuple[oids.Oid, str]) -> Name:
    return Name.build([(oids.NameAttribute.COMMON_NAME, cn), *extra])


def issue(
    subject: Name,
    key: GostKey,
    signer: GostKey,
    issuer: Certificate | None,
    *extensions: Extension,
    start: datetime = T0,
    days: int = 365,
) -> Certificate:
    b = CertificateBuilder().subject_name(subject).public_key(key.public_key_info)
    b = b.issuer_certificate(issuer) if issuer is not None else b.issuer_name(subject)
    return (
        b.random_serial_number()
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extensions([SubjectKeyIdentifier.from_public_key_info(key.public_key_info)])
        .add_extensions(extensions)
        .sign(signer)
    )


def crl(
    issuer: Certificate,
    key: GostKey,
    revoked: list[RevokedEntry] | tuple[RevokedEntry, ...] = (),
    *,
    number: int = 1,
    this_update: datetime = T0 + timedelta(days=100),
    next_update: datetime = T0 + timedelta(days=400),
) -> bytes:
    signed = (
        CrlBuilder()
        .issuer_certificate(issuer.der)
        .this_update(this_update)
        .next_update(next_update)
        .crl_number(number)
        .sign(key, revoked)
    )
    return signed.der()


def revoked(cert: Certificate, at: datetime = T0 + timedelta(days=50)) -> RevokedEntry:
    return RevokedEntry(cert.serial_number, at, RevocationReason.KEY_COMPROMISE)


@dataclass(frozen=True)
class Pki:
    root_key: GostKey
    sub_key: GostKey
    leaf_key: GostKey
    root: Certificate
    sub: Certificate
    leaf: Certificate

    def root_crl(self, *entries: RevokedEntry) -> bytes:
        return crl(self.root, self.root_key, entries)

    def sub_crl(self, *entries: RevokedEntry, number: int = 1) -> bytes:
        return crl(self.sub, self.sub_key, entries, number=number)


def make_pki(*, policy: oids.Oid = oids.RuPolicy.KC1) -> Pki:
    root_key, sub_key, leaf_key = gost_key("tc26-512-a"), gost_key(), gost_key()
    root = issue(
        name("Test head CA"), root_key, root_key, None,
        BasicConstraints(True, True, 1), CA_USAGE, days=3650,
    )  # fmt: skip
    sub = issue(
        name("Test accredited CA"), sub_key, root_key, root,
        BasicConstraints(True, True, 0), CA_USAGE,
        CertificatePolicies(False, (PolicyInformation(policy),)), days=1500,
    )  # fmt: skip
    leaf = issue(
        name("Иванов Иван"), leaf_key, sub_key, sub, EE_USAGE,
        CertificatePolicies(False, (PolicyInformation(policy),)),
    )  # fmt: skip
    return Pki(root_key, sub_key, leaf_key, root, sub, leaf)


def ocsp_response(
    cert: Certificate,
    issuer: Certificate,
    issuer_key: GostKey,
    *,
    status: str = "good",
    cert_id_hash: str = "streebog256",
    produced: datetime = AT,
) -> bytes:
    """An OCSP response (RFC 6960) about ``cert`` signed by its issuer's GOST key; the CertID
    hashes the issuer's name and key with ``cert_id_hash`` (``streebog256`` or ``sha1``)."""
    import hashlib

    from asn1crypto import core, ocsp
    from asn1crypto import x509 as asn1_x509

    from atlas_ca.asn1.gost import register_gost

    register_gost()
    parsed = asn1_x509.Certificate.load(issuer.der)
    digest = (
        gost.streebog256
        if cert_id_hash == "streebog256"
        else (lambda data: hashlib.sha1(data).digest())
    )
    key_bits = bytes(parsed.public_key["public_key"])
    if status == "good":
        cert_status = ocsp.CertStatus(name="good", value=core.Null())
    else:
        cert_status = ocsp.CertStatus(
            name="revoked",
            value={
                "revocation_time": produced - timedelta(days=1),
                "revocation_reason": "key_compromise",
            },
        )
    tbs = ocsp.ResponseData(
        {
            "responder_id": ocsp.ResponderId(name="by_name", value=parsed.subject),
            "produced_at": produced,
            "responses": [
                {
                    "cert_id": {
                        "hash_algorithm": {"algorithm": cert_id_hash},
                        "issuer_name_hash": digest(parsed.subject.dump()),
                        "issuer_key_hash": digest(key_bits),
                        "serial_number": cert.serial_number,
                    },
                    "cert_status": cert_status,
                    "this_update": produced - timedelta(hours=1),
                    "next_update": produced + timedelta(days=1),
                }
            ],
        }
    )
    basic = ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": tbs,
            "signature_algorithm": {"algorithm": issuer_key.signature_algorithm.oid.dotted},
            "signature": issuer_key.sign(tbs.dump()),
        }
    )
    response = ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    )
    der: bytes = response.dump()
    return der

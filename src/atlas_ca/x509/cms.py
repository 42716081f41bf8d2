"""CMS ``SignedData`` (RFC 5652) signed with GOST R 34.10-2012 through a :class:`SigningKey`.

One builder for every signed CMS object of atlas_ca: the registrar's detached attestation
(:mod:`atlas_ca.services.attestation`) and the TSA's time-stamp token with its encapsulated
``TSTInfo`` (:mod:`atlas_ca.status.tsp`). The algorithms are those OpenSSL's gost engine writes
and reads (checked with ``openssl cms -verify`` and ``openssl ts -verify``):

* digestAlgorithm ``id-tc26-gost3411-12-256`` (``-512`` for a 512-bit key), parameters NULL;
* signatureAlgorithm the key's algorithm ``id-tc26-gost3410-12-256`` (``-512``), parameters
  NULL, as RFC 4490 §3.2 does for GOST R 34.10-2001 and the gost engine does for 2012;
* signature: the same ``s || r`` octets as an X.509 signatureValue (RFC 9215 §3.2).

asn1crypto encodes the structures; only the signing goes through the HSM port.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from atlas_ca import gost
from atlas_ca.algorithms import KeyType
from atlas_ca.asn1.oids import Cms, GostAlgorithm, Oid
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509.certificate import Certificate

__all__ = ["GOST_CMS_ALGORITHMS", "gost_digest", "sign_signed_data", "signer_algorithms"]

#: key type -> (digest algorithm, signature algorithm) of a GOST CMS SignerInfo.
GOST_CMS_ALGORITHMS: dict[KeyType, tuple[Oid, Oid]] = {
    KeyType.GOST3410_2012_256: (GostAlgorithm.GOST3411_2012_256, GostAlgorithm.GOST3410_2012_256),
    KeyType.GOST3410_2012_512: (GostAlgorithm.GOST3411_2012_512, GostAlgorithm.GOST3410_2012_512),
}


def signer_algorithms(key: SigningKey) -> tuple[Oid, Oid]:
    """(digest, signature) algorithm OIDs for ``key``; ValueError for a non-GOST key."""
    try:
        return GOST_CMS_ALGORITHMS[key.key_type]
    except KeyError:
        raise ValueError(
            f"CMS here is signed with GOST R 34.10-2012, not {key.key_type.value}"
        ) from None


def gost_digest(digest_oid: str, data: bytes) -> bytes:
    """Streebog-256 or -512 of ``data``, chosen by the digest algorithm's dotted OID."""
    if digest_oid == GostAlgorithm.GOST3411_2012_256.dotted:
        return gost.streebog256(data)
    if digest_oid == GostAlgorithm.GOST3411_2012_512.dotted:
        return gost.streebog512(data)
    raise ValueError(f"{digest_oid} is not a GOST R 34.11-2012 digest")


def sign_signed_data(
    content: bytes,
    key: SigningKey,
    certificate: Certificate,
    *,
    content_type: Oid = Cms.DATA,
    detached: bool,
    signing_time: dt.datetime | None,
    extra_attributes: Sequence[cms.CMSAttribute | bytes] = (),
    include_certificate: bool = True,
) -> bytes:
    """DER of a ContentInfo holding a SignedData over ``content`` by ``key``.

    Signed attributes: contentType, signingTime (when given), messageDigest, then
    ``extra_attributes`` (e.g. ESS signingCertificateV2; DER bytes are cheapest to reuse).
    ``certificate`` names the signer (issuerAndSerialNumber) and is embedded unless
    ``include_certificate`` is False. The caller checks that ``certificate`` certifies ``key``.
    """
    digest_oid, key_oid = signer_algorithms(key)
    digest = gost_digest(digest_oid.dotted, content)
    attributes = [
        cms.CMSAttribute({"type": Cms.CONTENT_TYPE.dotted, "values": [content_type.dotted]})
    ]
    if signing_time is not None:
        at = signing_time.astimezone(dt.UTC).replace(microsecond=0)
        attributes.append(
            cms.CMSAttribute(
                {"type": Cms.SIGNING_TIME.dotted, "values": [cms.Time({"utc_time": at})]}
            )
        )
    attributes.append(cms.CMSAttribute({"type": Cms.MESSAGE_DIGEST.dotted, "values": [digest]}))
    attributes.extend(
        cms.CMSAttribute.load(a) if isinstance(a, bytes) else a for a in extra_attributes
    )
    attrs = cms.CMSAttributes(attributes)
    signature = key.sign(attrs.dump())
    # Freshly loaded, never-inspected values: asn1crypto then copies their bytes as they are
    # instead of walking every field to see whether it changed.
    asn1_cert = asn1_x509.Certificate.load(certificate.der)
    issuer = asn1_x509.Name.load(certificate.issuer.der)
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": issuer, "serial_number": certificate.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm(
                {"algorithm": digest_oid.dotted, "parameters": core.Null()}
            ),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": key_oid.dotted, "parameters": core.Null()}
            ),
            "signature": signature,
        }
    )
    encap: dict[str, object] = {"content_type": content_type.dotted}
    if not detached:
        encap["content"] = core.ParsableOctetString(content)
    # RFC 5652 §5.1: version 3 when eContentType is not id-data.
    version = "v1" if content_type == Cms.DATA else "v3"
    signed: dict[str, object] = {
        "version": version,
        "digest_algorithms": [
            algos.DigestAlgorithm({"algorithm": digest_oid.dotted, "parameters": core.Null()})
        ],
        "encap_content_info": encap,
        "signer_infos": [signer],
    }
    if include_certificate:
        signed["certificates"] = [asn1_cert]
    info = cms.ContentInfo(
        {"content_type": Cms.SIGNED_DATA.dotted, "content": cms.SignedData(signed)}
    )
    # No force: a forced dump would re-encode the embedded certificate field by field (most of
    # the cost of a time stamp); everything else here is freshly built and encoded once.
    der: bytes = info.dump()
    return der

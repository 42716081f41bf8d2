"""Signed requests: CMS SignedData with attached content, GOST CAdES-BES (RFC 5652, RFC 5035).

The form Russian client software (CryptoPro CSP, КриптоАРМ) produces for a signed request:
``SignedData`` whose ``encapContentInfo`` carries the content (here a PKCS #10 request), one
``SignerInfo`` with the signed attributes contentType, messageDigest, signingTime and
signingCertificateV2 (the CAdES-BES attribute naming the signer's certificate by its hash), the
digest GOST R 34.11-2012 and the signature GOST R 34.10-2012 of the signer's key, with the
algorithm identifiers OpenSSL's gost engine writes (digest ``id-tc26-gost3411-12-256`` with NULL
parameters, signature the key algorithm ``id-tc26-gost3410-12-256``; see
:mod:`atlas_ca.services.attestation` for the same choices in detached form).

:func:`open_signed` checks the structure, the digest, the signature and the signing certificate
attribute, and returns the content with the signer's certificate. Whether that certificate is
valid — its path to a trust anchor with revocation — is :class:`atlas_ca.trust.PathValidator`'s
question, asked by the caller (:mod:`atlas_ca.services.renewal`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, cms, core, tsp  # tsp also registers signingCertificateV2
from asn1crypto import x509 as asn1_x509

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1.gost import register_gost
from atlas_ca.asn1.oids import Cms, Digest, GostAlgorithm
from atlas_ca.errors import AtlasCaError, DecodeError, SignatureInvalid
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509.der import check_der
from atlas_ca.x509.pem import is_pem, pem_blocks
from atlas_ca.x509.signatures import verify_signature

_GOST: dict[KeyType, tuple[str, str]] = {
    KeyType.GOST3410_2012_256: (
        GostAlgorithm.GOST3411_2012_256.dotted,
        GostAlgorithm.GOST3410_2012_256.dotted,
    ),
    KeyType.GOST3410_2012_512: (
        GostAlgorithm.GOST3411_2012_512.dotted,
        GostAlgorithm.GOST3410_2012_512.dotted,
    ),
}
#: Signature algorithm OIDs accepted in a SignerInfo: the key OID (what the gost engine and
#: CryptoPro write) or the signature OID (what some other encoders write), with their digest.
_SIGNATURES: dict[str, tuple[SignatureAlgorithm, str]] = {
    GostAlgorithm.GOST3410_2012_256.dotted: (
        SignatureAlgorithm.GOST3410_2012_256,
        GostAlgorithm.GOST3411_2012_256.dotted,
    ),
    GostAlgorithm.SIGN_WITH_GOST3411_2012_256.dotted: (
        SignatureAlgorithm.GOST3410_2012_256,
        GostAlgorithm.GOST3411_2012_256.dotted,
    ),
    GostAlgorithm.GOST3410_2012_512.dotted: (
        SignatureAlgorithm.GOST3410_2012_512,
        GostAlgorithm.GOST3411_2012_512.dotted,
    ),
    GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted: (
        SignatureAlgorithm.GOST3410_2012_512,
        GostAlgorithm.GOST3411_2012_512.dotted,
    ),
}


SHA256_DOTTED = Digest.SHA256.dotted


class SignedRequestInvalid(SignatureInvalid):
    """A signed request whose digest, signature or signer does not check out."""


def _invalid(message: str) -> SignedRequestInvalid:
    return SignedRequestInvalid(f"signed request: {message}")


def _digest(digest_oid: str, data: bytes) -> bytes:
    if digest_oid == GostAlgorithm.GOST3411_2012_256.dotted:
        return gost.streebog256(data)
    if digest_oid == GostAlgorithm.GOST3411_2012_512.dotted:
        return gost.streebog512(data)
    raise _invalid(f"digest algorithm {digest_oid} is not GOST R 34.11-2012")


def _ess_digest(digest_oid: str, data: bytes) -> bytes:
    """The certificate hash of an ESSCertIDv2: GOST R 34.11-2012 as Russian clients write it,
    or SHA-256, RFC 5035's default (what ``openssl cms -sign -cades`` writes)."""
    if digest_oid in ("", "sha256", SHA256_DOTTED):
        return hashlib.sha256(data).digest()
    return _digest(digest_oid, data)


def _null_alg(dotted: str) -> dict[str, Any]:
    return {"algorithm": dotted, "parameters": core.Null()}


def sign_attached(
    content: bytes,
    key: SigningKey,
    certificate_der: bytes,
    *,
    at: dt.datetime,
    chain: Sequence[bytes] = (),
) -> bytes:
    """CAdES-BES SignedData (DER) carrying ``content``, signed by ``key`` whose certificate is
    ``certificate_der``; ``chain`` adds certificates for path building. For tests, demos and
    client tools: the CA itself only opens such requests."""
    register_gost()
    if at.tzinfo is None:
        raise ValueError("the signing time must be timezone-aware")
    if key.key_type not in _GOST:
        raise ValueError(f"a signed request is made with GOST R 34.10-2012, not {key.key_type}")
    cert = asn1_x509.Certificate.load(bytes(certificate_der))
    if cert.public_key.dump() != key.public_key_info:
        raise ValueError("the certificate does not certify this key")
    digest_oid, key_oid = _GOST[key.key_type]
    ess = tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": _null_alg(digest_oid),
                    "cert_hash": _digest(digest_oid, cert.dump()),
                    "issuer_serial": {
                        "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                        "serial_number": cert.serial_number,
                    },
                }
            ]
        }
    )
    attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": Cms.CONTENT_TYPE.dotted, "values": [Cms.DATA.dotted]}),
            cms.CMSAttribute(
                {
                    "type": Cms.SIGNING_TIME.dotted,
                    "values": [
                        cms.Time({"utc_time": at.astimezone(dt.UTC).replace(microsecond=0)})
                    ],
                }
            ),
            cms.CMSAttribute(
                {"type": Cms.MESSAGE_DIGEST.dotted, "values": [_digest(digest_oid, content)]}
            ),
            cms.CMSAttribute({"type": Cms.SIGNING_CERTIFICATE_V2.dotted, "values": [ess]}),
        ]
    )
    signature = key.sign(attrs.dump(force=True))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm(_null_alg(digest_oid)),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(_null_alg(key_oid)),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm(_null_alg(digest_oid))],
            "encap_content_info": {"content_type": Cms.DATA.dotted, "content": content},
            "certificates": [cert, *(asn1_x509.Certificate.load(c) for c in chain)],
            "signer_infos": [signer],
        }
    )
    info = cms.ContentInfo({"content_type": Cms.SIGNED_DATA.dotted, "content": signed_data})
    der: bytes = info.dump(force=True)
    return der


@dataclass(frozen=True, slots=True)
class SignedContent:
    """What a valid signed request carries: the content, the signer's certificate (DER), the
    other certificates it embeds (DER, for path building) and the claimed signing time."""

    content: bytes
    signer: bytes
    certificates: tuple[bytes, ...]
    signing_time: dt.datetime
    digest_algorithm: str


def _attr(attrs: Any, dotted: str) -> Any:
    found = [a for a in attrs if a["type"].dotted == dotted]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise _invalid(f"needs exactly one signed attribute {dotted}")
    return found[0]["values"][0]


def _der(data: bytes) -> bytes:
    if is_pem(data):
        blocks = pem_blocks(data)
        if len(blocks) != 1:
            raise DecodeError(f"signed request: expected one PEM block, found {len(blocks)}")
        return blocks[0][1]
    return bytes(data)


def open_signed(data: bytes) -> SignedContent:
    """Check a CAdES-BES SignedData with attached content (DER or PEM) and return what it says.

    Raises :class:`SignedRequestInvalid` when the digest, the signature or the signing
    certificate attribute does not match, :class:`~atlas_ca.errors.DecodeError` when the CMS
    cannot be read.
    """
    register_gost()
    der = _der(data)
    check_der(der, "signed request")
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != Cms.SIGNED_DATA.dotted:
            raise _invalid("not a CMS SignedData")
        sd = info["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].dotted != Cms.DATA.dotted:
            raise _invalid("encapsulated content type is not id-data")
        if eci["content"].native is None:
            raise _invalid("the content is detached; a signed request carries it")
        content = bytes(eci["content"].native)
        signers = list(sd["signer_infos"])
        if len(signers) != 1:
            raise _invalid(f"{len(signers)} signers; a signed request has exactly one")
        si = signers[0]
        attrs = si["signed_attrs"]
        if not isinstance(attrs, cms.CMSAttributes) or len(attrs) == 0:
            raise _invalid("no signed attributes (CAdES-BES needs them)")
        sig_oid = si["signature_algorithm"]["algorithm"].dotted
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        if sig_oid not in _SIGNATURES or _SIGNATURES[sig_oid][1] != digest_oid:
            raise _invalid(f"algorithms {sig_oid}/{digest_oid} are not a GOST R 34.10-2012 pair")
        if _attr(attrs, Cms.CONTENT_TYPE.dotted).dotted != Cms.DATA.dotted:
            raise _invalid("signed contentType is not id-data")
        claimed = bytes(_attr(attrs, Cms.MESSAGE_DIGEST.dotted).native)
        signing_time = _attr(attrs, Cms.SIGNING_TIME.dotted).native
        ess = _attr(attrs, Cms.SIGNING_CERTIFICATE_V2.dotted)
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            raise _invalid("the signer must be named by issuer and serial number")
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        embedded = [c.chosen for c in (sd["certificates"] or []) if c.name == "certificate"]
        signed_attrs_der = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT -> SET OF (RFC 5652 §5.4)
        signature = bytes(si["signature"].native)
        signer = next(
            (c for c in embedded if c.issuer == issuer and c.serial_number == serial), None
        )
        if signer is None:
            raise _invalid("the signer's certificate is not in the SignedData")
        ess_certs = list(ess["certs"])
        ess_alg = ess_certs[0]["hash_algorithm"]["algorithm"].dotted if ess_certs else ""
        ess_hash = bytes(ess_certs[0]["cert_hash"].native) if ess_certs else b""
        signer_der = signer.dump()
        others = tuple(c.dump() for c in embedded if c is not signer)
    except AtlasCaError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DecodeError(f"signed request: cannot decode the CMS ({type(exc).__name__})") from exc

    if not ess_certs or not hmac.compare_digest(_ess_digest(ess_alg, signer_der), ess_hash):
        raise _invalid("signingCertificateV2 does not name the signer's certificate")
    if not isinstance(signing_time, dt.datetime):
        raise _invalid("signingTime is not a time")
    if not hmac.compare_digest(_digest(digest_oid, content), claimed):
        raise _invalid("the content does not match the signed message digest")
    try:
        verify_signature(
            signer.public_key.dump(), _SIGNATURES[sig_oid][0], signed_attrs_der, signature
        )
    except (SignatureInvalid, DecodeError) as exc:
        raise _invalid(f"the signature does not verify with the signer's key: {exc}") from exc
    return SignedContent(content, signer_der, others, signing_time, digest_oid)


__all__ = ["SignedContent", "SignedRequestInvalid", "open_signed", "sign_attached"]

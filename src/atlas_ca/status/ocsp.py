"""OCSP (RFC 6960) with the RFC 5019 lightweight profile, GOST-signed through the HSM port.

* :func:`parse_request` / :func:`build_request`: OCSPRequest DER <-> :class:`OcspRequest`
  (CertIDs hashed with SHA-1, SHA-256 or GOST R 34.11-2012 256/512; nonce per RFC 8954),
  with size and count limits; bad input raises :class:`OcspRequestRejected` carrying the OCSP
  status to answer (malformedRequest).
* :func:`build_response` signs a BasicOCSPResponse (ResponderID byKey, RFC 5019 §2.2.2) with a
  :class:`~atlas_ca.hsm.base.SigningKey`; :func:`error_response` is an unsigned error status.
* :func:`parse_response` reads any OCSPResponse (ours or OpenSSL's) and verifies its signature
  and its signer (the CA itself, or a certificate the CA issued with id-kp-OCSPSigning).
* :class:`OcspResponder` answers requests from the register for several CAs, each known by
  issuerNameHash + issuerKeyHash in every supported hash. Responses without a nonce are cached
  per process and re-signed only when the issuer's status-change counter moved *and* the
  serial's status differs, or when half of their validity has passed: the counter is one
  primary-key read per request, so a revocation committed to a shared PostgreSQL register is
  answered by every node from the next request on (the "pre-signed" store of RFC 5019 §6).

asn1crypto's :mod:`asn1crypto.ocsp` declares the ASN.1; this module only fills and reads it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, core, keys, ocsp
from asn1crypto import x509 as asn1_x509

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.gost import register_gost
from atlas_ca.asn1.oids import ExtendedKeyUsage, Ocsp, Oid
from atlas_ca.errors import (
    AtlasCaError,
    DecodeError,
    HsmError,
    InvalidInput,
    RecordNotFound,
    SignatureInvalid,
    Unavailable,
)
from atlas_ca.hsm.base import SigningKey
from atlas_ca.status import _der, digests
from atlas_ca.storage.ports import CertificateStatus, IssuerKeyId, Register, RevocationReason
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import issuer_facts
from atlas_ca.x509.signatures import verify_signature

__all__ = [
    "MAX_CERT_IDS_CEILING",
    "CertId",
    "CertIdHash",
    "CertState",
    "OcspAnswer",
    "OcspIssuer",
    "OcspLimits",
    "OcspRequest",
    "OcspRequestRejected",
    "OcspResponder",
    "OcspResponseInfo",
    "OcspStatus",
    "SingleResponse",
    "SingleStatus",
    "StatusSource",
    "build_request",
    "build_response",
    "error_response",
    "parse_request",
    "parse_response",
]

log = logging.getLogger(__name__)
register_gost()


class CertIdHash(enum.Enum):
    """Hash algorithms of a CertID (RFC 6960 §4.1.1): what OpenSSL sends and the GOST ones
    (:mod:`.digests` declares them)."""

    SHA1 = digests.SHA1
    SHA256 = digests.SHA256
    STREEBOG256 = digests.STREEBOG256
    STREEBOG512 = digests.STREEBOG512

    @property
    def oid(self) -> Oid:
        spec: digests.DigestSpec = self.value
        return spec.oid

    def digest(self, data: bytes) -> bytes:
        spec: digests.DigestSpec = self.value
        return spec.compute(data)

    @classmethod
    def from_dotted(cls, dotted: str) -> CertIdHash | None:
        return next((h for h in cls if h.oid.dotted == dotted), None)


class OcspStatus(enum.IntEnum):
    """OCSPResponseStatus (RFC 6960 §4.2.1)."""

    SUCCESSFUL = 0
    MALFORMED_REQUEST = 1
    INTERNAL_ERROR = 2
    TRY_LATER = 3
    SIG_REQUIRED = 5
    UNAUTHORIZED = 6


_STATUS_NAMES = {
    OcspStatus.SUCCESSFUL: "successful",
    OcspStatus.MALFORMED_REQUEST: "malformed_request",
    OcspStatus.INTERNAL_ERROR: "internal_error",
    OcspStatus.TRY_LATER: "try_later",
    OcspStatus.SIG_REQUIRED: "sign_required",
    OcspStatus.UNAUTHORIZED: "unauthorized",
}


class OcspRequestRejected(InvalidInput):
    """A request answered with an OCSP error status instead of certificate statuses."""

    def __init__(self, message: str, status: OcspStatus = OcspStatus.MALFORMED_REQUEST) -> None:
        super().__init__(message, status=status.name)
        self.status = status


@dataclass(frozen=True, slots=True)
class CertId:
    """A CertID: the issuer's name and key hashed with ``hash_algorithm``, and the serial."""

    hash_algorithm: CertIdHash
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int

    @classmethod
    def for_serial(
        cls, issuer: Certificate, serial: int, hash_algorithm: CertIdHash = CertIdHash.SHA1
    ) -> CertId:
        name_hash, key_hash = issuer_hashes(issuer, hash_algorithm)
        return cls(hash_algorithm, name_hash, key_hash, serial)

    def to_asn1(self) -> ocsp.CertId:
        return ocsp.CertId(
            {
                "hash_algorithm": algos.DigestAlgorithm(
                    {"algorithm": self.hash_algorithm.oid.dotted, "parameters": core.Null()}
                ),
                "issuer_name_hash": self.issuer_name_hash,
                "issuer_key_hash": self.issuer_key_hash,
                "serial_number": self.serial,
            }
        )

    @classmethod
    def from_asn1(cls, value: ocsp.CertId) -> CertId:
        dotted = value["hash_algorithm"]["algorithm"].dotted
        algorithm = CertIdHash.from_dotted(dotted)
        if algorithm is None:
            raise OcspRequestRejected(f"CertID hash algorithm {dotted} is not supported")
        name_hash = bytes(value["issuer_name_hash"].native)
        key_hash = bytes(value["issuer_key_hash"].native)
        size = len(algorithm.digest(b""))
        if len(name_hash) != size or len(key_hash) != size:
            raise OcspRequestRejected(f"CertID hashes are not {size}-byte {algorithm.name} values")
        serial = value["serial_number"].native
        if not isinstance(serial, int) or serial < 0:
            raise OcspRequestRejected("CertID serial number is negative")
        return cls(algorithm, name_hash, key_hash, serial)


def subject_public_key_bits(spki_der: bytes) -> bytes:
    """The value of the subjectPublicKey BIT STRING (no tag, length or unused-bits octet)."""
    spki = keys.PublicKeyInfo.load(spki_der)
    contents: bytes = spki["public_key"].contents
    return contents[1:]


def issuer_hashes(issuer: Certificate, algorithm: CertIdHash) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of ``issuer`` (RFC 6960 §4.1.1)."""
    return (
        algorithm.digest(issuer.subject_der),
        algorithm.digest(subject_public_key_bits(issuer.public_key_info)),
    )


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OcspLimits:
    """What one request may hold. RFC 5019 §2.1.1 has a client send one CertID; RFC 6960
    sets no bound, so a responder chooses one: 256 by default (``[serve]
    ocsp_max_certificates``). A request over a limit is answered malformedRequest (RFC 6960
    §2.3: "the request was not formed correctly" for this responder) before any register read
    or signature; one within it is answered with one BasicOCSPResponse, signed once."""

    max_request_bytes: int = 64 * 1024
    max_cert_ids: int = 256
    max_nonce_bytes: int = 32  # RFC 8954 §2.1

    @classmethod
    def for_count(cls, max_cert_ids: int) -> OcspLimits:
        """Limits for requests of up to ``max_cert_ids`` CertIDs (≤ 128 octets each)."""
        if not 1 <= max_cert_ids <= MAX_CERT_IDS_CEILING:
            raise ValueError(f"the CertID limit must be 1 to {MAX_CERT_IDS_CEILING}")
        return cls(max(64 * 1024, 128 * max_cert_ids), max_cert_ids)


#: The highest configurable CertID limit: one response for it stays well under 1 MB.
MAX_CERT_IDS_CEILING = 5000


@dataclass(frozen=True, slots=True)
class OcspRequest:
    cert_ids: tuple[CertId, ...]
    nonce: bytes | None = None


def parse_request(der: bytes, limits: OcspLimits = OcspLimits()) -> OcspRequest:
    """Read an OCSPRequest; :class:`OcspRequestRejected` (malformedRequest) on any problem.

    The plain shape every client sends (unsigned, v1 by default, no requestor name, CertIDs
    without single extensions, at most a nonce extension) is read by :func:`_read_simple`;
    anything else, and anything it finds odd, goes to asn1crypto's strict parser, which has the
    last word. tests/status check that both read the same requests alike."""
    if not isinstance(der, bytes | bytearray) or not der:
        raise OcspRequestRejected("empty OCSP request")
    if len(der) > limits.max_request_bytes:
        raise OcspRequestRejected(
            f"OCSP request of {len(der)} bytes exceeds the limit of {limits.max_request_bytes}"
        )
    try:
        return _read_simple(bytes(der), limits)
    except _der.NotSimple:
        return _parse_full(der, limits)


_NONCE_OID_CONTENT = _der.oid(Ocsp.NONCE.dotted)[2:]
_HASH_BY_OID_CONTENT = {_der.oid(h.oid.dotted)[2:]: h for h in CertIdHash}


def _read_simple(der: bytes, limits: OcspLimits) -> OcspRequest:
    """The plain OCSPRequest shape, or :class:`_der.NotSimple` (see :func:`parse_request`).
    Every check that may refuse a request is made by the full parser, never here."""
    tag, start, end = _der.read_tlv(der, 0, len(der))
    if tag != 0x30 or end != len(der):
        raise _der.NotSimple
    tag, pos, tbs_end = _der.read_tlv(der, start, end)
    if tag != 0x30 or tbs_end != end:  # optionalSignature present, or trailing bytes
        raise _der.NotSimple
    tag, pos, list_end = _der.read_tlv(der, pos, tbs_end)
    if tag != 0x30:  # version, requestorName: the full parser
        raise _der.NotSimple
    cert_ids = []
    while pos < list_end:
        tag, item, item_end = _der.read_tlv(der, pos, list_end)
        if tag != 0x30:
            raise _der.NotSimple
        tag, cid, cid_end = _der.read_tlv(der, item, item_end)
        if tag != 0x30 or cid_end != item_end:  # singleRequestExtensions
            raise _der.NotSimple
        cert_ids.append(_read_cert_id(der, cid, cid_end))
        if len(cert_ids) > limits.max_cert_ids:
            raise _der.NotSimple
        pos = item_end
    if not cert_ids:
        raise _der.NotSimple
    nonce = None
    pos = list_end
    if pos < tbs_end:
        tag, ext_start, ext_end = _der.read_tlv(der, pos, tbs_end)
        if tag != 0xA2 or ext_end != tbs_end:
            raise _der.NotSimple
        tag, pos, seq_end = _der.read_tlv(der, ext_start, ext_end)
        if tag != 0x30 or seq_end != ext_end:
            raise _der.NotSimple
        tag, pos, one_end = _der.read_tlv(der, pos, seq_end)  # exactly one extension
        if tag != 0x30 or one_end != seq_end:
            raise _der.NotSimple
        tag, oid_start, pos = _der.read_tlv(der, pos, one_end)
        if tag != 0x06 or der[oid_start:pos] != _NONCE_OID_CONTENT:
            raise _der.NotSimple
        tag, value, value_end = _der.read_tlv(der, pos, one_end)  # no "critical" here
        if tag != 0x04 or value_end != one_end:
            raise _der.NotSimple
        tag, inner, inner_end = _der.read_tlv(der, value, value_end)
        if tag != 0x04 or inner_end != value_end:
            raise _der.NotSimple
        nonce = der[inner:inner_end]
        if not 1 <= len(nonce) <= limits.max_nonce_bytes:
            raise _der.NotSimple
    return OcspRequest(tuple(cert_ids), nonce)


def _read_cert_id(der: bytes, pos: int, end: int) -> CertId:
    tag, alg, alg_end = _der.read_tlv(der, pos, end)
    if tag != 0x30:
        raise _der.NotSimple
    tag, oid_start, oid_end = _der.read_tlv(der, alg, alg_end)
    algorithm = _HASH_BY_OID_CONTENT.get(der[oid_start:oid_end]) if tag == 0x06 else None
    if algorithm is None or der[oid_end:alg_end] not in (b"", b"\x05\x00"):
        raise _der.NotSimple
    size = algorithm.value.size
    hashes = []
    pos = alg_end
    for _ in range(2):
        tag, start, pos = _der.read_tlv(der, pos, end)
        if tag != 0x04 or pos - start != size:
            raise _der.NotSimple
        hashes.append(der[start:pos])
    tag, start, pos = _der.read_tlv(der, pos, end)
    if tag != 0x02 or pos != end or start == pos or der[start] & 0x80:
        raise _der.NotSimple
    if pos - start > 1 and der[start] == 0 and not der[start + 1] & 0x80:
        raise _der.NotSimple  # not minimal
    return CertId(algorithm, hashes[0], hashes[1], int.from_bytes(der[start:pos], "big"))


def _parse_full(der: bytes, limits: OcspLimits) -> OcspRequest:
    try:
        parsed = ocsp.OCSPRequest.load(bytes(der), strict=True)
        tbs = parsed["tbs_request"]
        if tbs["version"].native != "v1":
            raise OcspRequestRejected("OCSP request version is not v1")
        items = list(tbs["request_list"])
        if not items:
            raise OcspRequestRejected("OCSP request lists no certificate")
        if len(items) > limits.max_cert_ids:
            raise OcspRequestRejected(
                f"OCSP request lists {len(items)} certificates; the limit is {limits.max_cert_ids}"
            )
        cert_ids = tuple(CertId.from_asn1(item["req_cert"]) for item in items)
        nonce: bytes | None = None
        for ext in tbs["request_extensions"] or []:
            if ext["extn_id"].dotted == Ocsp.NONCE.dotted:
                value = ext["extn_value"].parsed.native
                if not isinstance(value, bytes) or not 1 <= len(value) <= limits.max_nonce_bytes:
                    raise OcspRequestRejected(
                        f"nonce must be 1 to {limits.max_nonce_bytes} octets (RFC 8954 §2.1)"
                    )
                nonce = value
            elif ext["critical"].native:
                raise OcspRequestRejected(
                    f"critical request extension {ext['extn_id'].dotted} is not supported"
                )
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise OcspRequestRejected(f"OCSP request cannot be decoded ({type(exc).__name__})") from exc
    return OcspRequest(cert_ids, nonce)


def _nonce_extension(nonce: bytes, cls: type[core.Sequence]) -> core.Sequence:
    return cls(
        {
            "extn_id": Ocsp.NONCE.dotted,
            "critical": False,
            "extn_value": core.OctetString(nonce),
        }
    )


def build_request(cert_ids: Sequence[CertId], *, nonce: bytes | None = None) -> bytes:
    """DER of an unsigned OCSPRequest for ``cert_ids`` (with an RFC 8954 nonce if given)."""
    if not cert_ids:
        raise ValueError("an OCSP request needs at least one CertID")
    tbs: dict[str, object] = {
        "version": "v1",
        "request_list": [{"req_cert": c.to_asn1()} for c in cert_ids],
    }
    if nonce is not None:
        tbs["request_extensions"] = [_nonce_extension(nonce, ocsp.TBSRequestExtension)]
    der: bytes = ocsp.OCSPRequest({"tbs_request": tbs}).dump()
    return der


# --- responses ------------------------------------------------------------------------------


class CertState(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SingleStatus:
    """What the responder says of one certificate (RFC 6960 §2.2)."""

    state: CertState
    revoked_at: dt.datetime | None = None
    reason: RevocationReason | None = None

    def __post_init__(self) -> None:
        if (self.state is CertState.REVOKED) != (self.revoked_at is not None):
            raise ValueError("a revocation time goes with the revoked state, and only with it")


GOOD = SingleStatus(CertState.GOOD)
UNKNOWN = SingleStatus(CertState.UNKNOWN)

_REASON_NAMES = {
    RevocationReason.UNSPECIFIED: "unspecified",
    RevocationReason.KEY_COMPROMISE: "key_compromise",
    RevocationReason.CA_COMPROMISE: "ca_compromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliation_changed",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessation_of_operation",
    RevocationReason.CERTIFICATE_HOLD: "certificate_hold",
    RevocationReason.REMOVE_FROM_CRL: "remove_from_crl",
    RevocationReason.PRIVILEGE_WITHDRAWN: "privilege_withdrawn",
    RevocationReason.AA_COMPROMISE: "aa_compromise",
}


def _utc_seconds(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("OCSP times must be timezone-aware")
    return at.astimezone(dt.UTC).replace(microsecond=0)


def responder_key_hash(certificate: Certificate) -> bytes:
    """ResponderID byKey: SHA-1 of the responder's public key bits (RFC 6960 §4.2.2.3)."""
    return _key_hash(certificate.public_key_info)


@functools.lru_cache(maxsize=64)
def _key_hash(spki_der: bytes) -> bytes:
    return CertIdHash.SHA1.digest(subject_public_key_bits(spki_der))


@dataclass(frozen=True, slots=True)
class SingleResponse:
    cert_id: CertId
    status: SingleStatus
    this_update: dt.datetime
    next_update: dt.datetime | None


def build_response(
    key: SigningKey,
    signer: Certificate,
    answers: Sequence[tuple[CertId, SingleStatus]],
    *,
    produced_at: dt.datetime,
    this_update: dt.datetime,
    next_update: dt.datetime | None,
    nonce: bytes | None = None,
    include_signer: bool = True,
) -> bytes:
    """DER of a successful OCSPResponse with a BasicOCSPResponse signed by ``key``.

    ``signer`` certifies ``key`` (the CA itself or its delegated responder); it is embedded when
    ``include_signer`` (a client needs a delegated signer's certificate, RFC 6960 §4.2.2.2).

    The DER is spliced from encoded pieces (:mod:`._der`): only producedAt, the per-certificate
    fields and the nonce vary between two responses of one signer, and building asn1crypto
    objects for them cost ≈ 3 ms a response, three times the SoftHSM signature
    (docs/performance.md). tests/status check it byte for byte against asn1crypto's encoding.
    """
    if key.public_key_info != signer.public_key_info:
        raise ValueError("the OCSP signing key is not the key of the signer's certificate")
    this_time = _der.generalized_time(_utc_seconds(this_update))
    next_time = (
        b""
        if next_update is None
        else _der.explicit(0, _der.generalized_time(_utc_seconds(next_update)))
    )
    singles = b"".join(
        _der.sequence(_cert_id_der(cert_id), _cert_status_der(status), this_time, next_time)
        for cert_id, status in answers
    )
    fields = [
        _der.explicit(2, _der.octet_string(responder_key_hash(signer))),
        _der.generalized_time(_utc_seconds(produced_at)),
        _der.sequence(singles),
    ]
    if nonce is not None:
        fields.append(_der.explicit(1, _der.sequence(_nonce_extension_der(nonce))))
    tbs_der = _der.sequence(*fields)
    signature = key.sign(tbs_der)
    basic = [
        tbs_der,
        _der.sequence(_der.oid(key.signature_algorithm.oid.dotted)),
        _der.bit_string(signature),
    ]
    if include_signer:
        basic.append(_der.explicit(0, _der.sequence(signer.der)))
    return _der.sequence(
        _SUCCESSFUL,
        _der.explicit(0, _der.sequence(_BASIC_OID, _der.octet_string(_der.sequence(*basic)))),
    )


_SUCCESSFUL = _der.tlv(0x0A, b"\x00")
_BASIC_OID = _der.oid(Ocsp.BASIC.dotted)
_NONCE_OID = _der.oid(Ocsp.NONCE.dotted)
_NULL = _der.tlv(0x05, b"")
_GOOD = _der.tlv(0x80, b"")
_UNKNOWN = _der.tlv(0x82, b"")
_CRL_REASON = {  # CRLReason ENUMERATED values (RFC 5280 §5.3.1)
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.REMOVE_FROM_CRL: 8,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
    RevocationReason.AA_COMPROMISE: 10,
}
_HASH_ALGORITHM = {h: _der.sequence(_der.oid(h.oid.dotted), _NULL) for h in CertIdHash}


def _cert_id_der(cert_id: CertId) -> bytes:
    return _der.sequence(
        _HASH_ALGORITHM[cert_id.hash_algorithm],
        _der.octet_string(cert_id.issuer_name_hash),
        _der.octet_string(cert_id.issuer_key_hash),
        _der.integer(cert_id.serial),
    )


def _cert_status_der(status: SingleStatus) -> bytes:
    """CertStatus (RFC 6960 §4.2.1): good [0] / unknown [2] IMPLICIT NULL, revoked [1]."""
    if status.state is CertState.GOOD:
        return _GOOD
    if status.state is CertState.UNKNOWN:
        return _UNKNOWN
    assert status.revoked_at is not None
    info = _der.generalized_time(_utc_seconds(status.revoked_at))
    if status.reason is not None:
        info += _der.explicit(0, _der.tlv(0x0A, bytes([_CRL_REASON[status.reason]])))
    return _der.tlv(0xA1, info)


def _nonce_extension_der(nonce: bytes) -> bytes:
    """The id-pkix-ocsp-nonce extension: extnValue holds an OCTET STRING (RFC 8954 §2.1)."""
    return _der.sequence(_NONCE_OID, _der.octet_string(_der.octet_string(nonce)))


def error_response(status: OcspStatus) -> bytes:
    """DER of an unsigned OCSPResponse with an error status (RFC 6960 §2.3)."""
    if status is OcspStatus.SUCCESSFUL:
        raise ValueError("a successful response carries a signed BasicOCSPResponse")
    der: bytes = ocsp.OCSPResponse({"response_status": _STATUS_NAMES[status]}).dump()
    return der


@dataclass(frozen=True, slots=True)
class OcspResponseInfo:
    """A parsed OCSPResponse; for a successful one its signature and signer were checked."""

    status: OcspStatus
    responses: tuple[SingleResponse, ...] = ()
    produced_at: dt.datetime | None = None
    nonce: bytes | None = None
    signer: Certificate | None = None


_NAME_TO_STATUS = {v: k for k, v in _STATUS_NAMES.items()}
_NAME_TO_REASON = {v: k for k, v in _REASON_NAMES.items()}


def _has_ocsp_signing(cert: Certificate) -> bool:
    value = asn1_x509.Certificate.load(cert.der).extended_key_usage_value
    if value is None:
        return False
    return any(p.dotted == ExtendedKeyUsage.OCSP_SIGNING.dotted for p in value)


def parse_response(der: bytes, *, issuer: Certificate) -> OcspResponseInfo:
    """Read an OCSPResponse about certificates of ``issuer`` and check who signed it.

    The signer must be ``issuer`` or a certificate ``issuer`` signed with id-kp-OCSPSigning
    (RFC 6960 §4.2.2.2); the signature must verify. :class:`SignatureInvalid` otherwise,
    :class:`DecodeError` for undecodable input.
    """
    try:
        parsed = ocsp.OCSPResponse.load(bytes(der), strict=True)
        status = _NAME_TO_STATUS[parsed["response_status"].native]
        if status is not OcspStatus.SUCCESSFUL:
            return OcspResponseInfo(status)
        rb = parsed["response_bytes"]
        if rb["response_type"].dotted != Ocsp.BASIC.dotted:
            raise DecodeError("OCSP response is not a BasicOCSPResponse")
        basic = rb["response"].parsed
        tbs = basic["tbs_response_data"]
        tbs_der = tbs.dump()
        algorithm = SignatureAlgorithm.from_oid(basic["signature_algorithm"]["algorithm"].dotted)
        signature = bytes(basic["signature"].native)
        embedded = [Certificate.from_der(c.dump()) for c in (basic["certs"] or [])]
        rid = tbs["responder_id"]
        responses = []
        for single in tbs["responses"]:
            cert_status = single["cert_status"]
            if cert_status.name == "good":
                state = GOOD
            elif cert_status.name == "unknown":
                state = UNKNOWN
            else:
                info = cert_status.chosen
                reason_name = info["revocation_reason"].native
                state = SingleStatus(
                    CertState.REVOKED,
                    info["revocation_time"].native,
                    None if reason_name is None else _NAME_TO_REASON[reason_name],
                )
            cid = single["cert_id"]
            hash_alg = CertIdHash.from_dotted(cid["hash_algorithm"]["algorithm"].dotted)
            if hash_alg is None:
                raise DecodeError("OCSP response CertID uses an unknown hash algorithm")
            responses.append(
                SingleResponse(
                    CertId(
                        hash_alg,
                        bytes(cid["issuer_name_hash"].native),
                        bytes(cid["issuer_key_hash"].native),
                        cid["serial_number"].native,
                    ),
                    state,
                    single["this_update"].native,
                    single["next_update"].native,
                )
            )
        nonce = None
        for ext in tbs["response_extensions"] or []:
            if ext["extn_id"].dotted == Ocsp.NONCE.dotted:
                nonce = bytes(ext["extn_value"].parsed.native)
        produced_at = tbs["produced_at"].native
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise DecodeError(f"OCSP response cannot be decoded ({type(exc).__name__})") from exc
    if algorithm is None:
        raise SignatureInvalid("OCSP response signed with an unsupported algorithm")
    signer = _find_signer(rid, [issuer, *embedded])
    if signer is None:
        raise SignatureInvalid("OCSP response names a responder whose certificate is not known")
    if signer != issuer:
        try:
            signer.verify_signed_by(issuer.public_key_info)
        except SignatureInvalid as exc:
            raise SignatureInvalid("the OCSP responder's certificate is not the CA's") from exc
        if not _has_ocsp_signing(signer):
            raise SignatureInvalid("the OCSP responder's certificate lacks id-kp-OCSPSigning")
    try:
        verify_signature(signer.public_key_info, algorithm, tbs_der, signature)
    except SignatureInvalid as exc:
        raise SignatureInvalid(f"OCSP response signature does not verify: {exc}") from exc
    return OcspResponseInfo(status, tuple(responses), produced_at, nonce, signer)


def _find_signer(rid: ocsp.ResponderId, candidates: Iterable[Certificate]) -> Certificate | None:
    for cert in candidates:
        if rid.name == "by_key":
            if bytes(rid.chosen.native) == responder_key_hash(cert):
                return cert
        elif rid.chosen.hashable == asn1_x509.Certificate.load(cert.der).subject.hashable:
            return cert
    return None


# --- the responder --------------------------------------------------------------------------


class StatusSource:
    """What the responder reads of the register: a certificate's status and the issuer's
    change counter (:meth:`atlas_ca.storage.ports.Register.change_mark`)."""

    def __init__(self, register: Register) -> None:
        self._register = register

    def status(self, issuer: IssuerKeyId, serial: int) -> SingleStatus:
        if serial <= 0 or serial.bit_length() > 159:
            return UNKNOWN
        try:
            record = self._register.get_certificate(issuer, serial)
        except RecordNotFound:
            return UNKNOWN
        if record.status is CertificateStatus.VALID or record.revocation is None:
            return GOOD
        rev = record.revocation
        if record.status is CertificateStatus.SUSPENDED:
            return SingleStatus(
                CertState.REVOKED, rev.revocation_date, RevocationReason.CERTIFICATE_HOLD
            )
        reason = None if rev.reason is RevocationReason.UNSPECIFIED else rev.reason
        return SingleStatus(CertState.REVOKED, rev.revocation_date, reason)

    def change_mark(self, issuer: IssuerKeyId) -> int:
        return self._register.change_mark(issuer)


@dataclass(frozen=True)
class OcspIssuer:
    """A CA the responder answers for, and the key that signs its responses: a delegated
    responder certificate of the ``ocsp`` profile, or the CA certificate itself."""

    certificate: Certificate
    signer_key: SigningKey = field(repr=False)
    signer_certificate: Certificate
    issuer_id: IssuerKeyId = field(init=False)
    hashes: Mapping[tuple[CertIdHash, bytes, bytes], None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.signer_key.public_key_info != self.signer_certificate.public_key_info:
            raise ValueError("the OCSP signing key is not the key of its certificate")
        if self.signer_certificate != self.certificate:
            self.signer_certificate.verify_signed_by(self.certificate.public_key_info)
            if not _has_ocsp_signing(self.signer_certificate):
                raise ValueError("the responder certificate lacks id-kp-OCSPSigning")
        facts = issuer_facts(self.certificate.der)
        object.__setattr__(self, "issuer_id", IssuerKeyId.from_bytes(facts.key_identifier))
        table = {(h, *issuer_hashes(self.certificate, h)): None for h in CertIdHash}
        object.__setattr__(self, "hashes", table)


@dataclass(frozen=True, slots=True)
class OcspAnswer:
    """A response to send: the DER, its OCSP status and, for a cacheable one (no nonce,
    successful), the times for Cache-Control/Expires/Last-Modified (RFC 5019 §6)."""

    der: bytes
    status: OcspStatus
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    cacheable: bool = False
    from_cache: bool = False


@dataclass(frozen=True, slots=True)
class _Cached:
    answer: OcspAnswer
    status: SingleStatus
    mark: int
    refresh_at: dt.datetime


class OcspResponder:
    """Answers OCSP requests for ``issuers`` from the register (see the module docstring).

    ``validity`` is nextUpdate - thisUpdate; a cached response is re-signed once half of it
    has passed, so a client never receives one with less than half its validity left.
    Thread-safe: a gthread worker shares one responder between its threads.
    """

    def __init__(
        self,
        source: StatusSource,
        issuers: Sequence[OcspIssuer],
        *,
        now: Callable[[], dt.datetime],
        validity: dt.timedelta = dt.timedelta(hours=4),
        limits: OcspLimits = OcspLimits(),
        max_cached: int = 100_000,
    ) -> None:
        if not issuers:
            raise ValueError("an OCSP responder needs at least one issuer")
        self._source = source
        self.issuers = tuple(issuers)
        #: Requests answered tryLater because the register or the token failed.
        self.unavailable_count = 0
        self._now = now
        self.validity = validity
        self.limits = limits
        self._max_cached = max_cached
        self._by_hash: dict[tuple[CertIdHash, bytes, bytes], OcspIssuer] = {}
        for issuer in issuers:
            for key in issuer.hashes:
                self._by_hash[key] = issuer
        self._cache: dict[CertId, _Cached] = {}
        #: DER of nonce-less single requests already parsed -> what they ask (RFC 5019 clients
        #: send the same bytes for the same certificate, so the hot path skips the parser).
        self._requests: dict[bytes, tuple[OcspIssuer, CertId]] = {}
        self._lock = threading.Lock()

    def issuer_of(self, cert_id: CertId) -> OcspIssuer | None:
        key = (cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash)
        return self._by_hash.get(key)

    def respond(self, der: bytes) -> OcspAnswer:
        """The answer to one OCSPRequest: never raises for bad input or a failing backend."""
        try:
            hit = self._requests.get(bytes(der))
            if hit is not None:  # a request seen before: no need to parse it again
                return self._cached(*hit)
            request = parse_request(der, self.limits)
            return self._answer(request, bytes(der))
        except OcspRequestRejected as exc:
            return OcspAnswer(error_response(exc.status), exc.status)
        except (Unavailable, HsmError) as exc:
            self.unavailable_count += 1
            log.warning("OCSP: tryLater: %s", exc)
            return OcspAnswer(error_response(OcspStatus.TRY_LATER), OcspStatus.TRY_LATER)
        except Exception:
            log.exception("OCSP: internal error")
            return OcspAnswer(error_response(OcspStatus.INTERNAL_ERROR), OcspStatus.INTERNAL_ERROR)

    def _answer(self, request: OcspRequest, der: bytes) -> OcspAnswer:
        issuers = [self.issuer_of(c) for c in request.cert_ids]
        if any(i is None for i in issuers):
            raise OcspRequestRejected(
                "this responder does not answer for the issuer named", OcspStatus.UNAUTHORIZED
            )
        issuer = issuers[0]
        assert issuer is not None
        if any(i is not issuer for i in issuers):
            raise OcspRequestRejected("one request must name certificates of one issuer")
        if len(request.cert_ids) == 1 and request.nonce is None:
            with self._lock:
                if len(self._requests) >= self._max_cached:
                    self._requests.pop(next(iter(self._requests)))
                self._requests[der] = (issuer, request.cert_ids[0])
            return self._cached(issuer, request.cert_ids[0])
        statuses = [self._source.status(issuer.issuer_id, c.serial) for c in request.cert_ids]
        return self._sign(issuer, list(zip(request.cert_ids, statuses, strict=True)), request.nonce)

    def _sign(
        self,
        issuer: OcspIssuer,
        answers: list[tuple[CertId, SingleStatus]],
        nonce: bytes | None,
    ) -> OcspAnswer:
        now = _utc_seconds(self._now())
        next_update = now + self.validity
        der = build_response(
            issuer.signer_key,
            issuer.signer_certificate,
            answers,
            produced_at=now,
            this_update=now,
            next_update=next_update,
            nonce=nonce,
            include_signer=issuer.signer_certificate != issuer.certificate,
        )
        return OcspAnswer(der, OcspStatus.SUCCESSFUL, now, next_update, cacheable=nonce is None)

    def _cached(self, issuer: OcspIssuer, cert_id: CertId) -> OcspAnswer:
        key = cert_id
        mark = self._source.change_mark(issuer.issuer_id)
        now = self._now()
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None and entry.mark == mark and now < entry.refresh_at:
            return _replace_from_cache(entry.answer)
        status = self._source.status(issuer.issuer_id, cert_id.serial)
        if entry is not None and entry.status == status and now < entry.refresh_at:
            with self._lock:
                self._cache[key] = _Cached(entry.answer, status, mark, entry.refresh_at)
            return _replace_from_cache(entry.answer)
        answer = self._sign(issuer, [(cert_id, status)], None)
        if status.state is not CertState.UNKNOWN:  # a serial unknown now may be issued later
            assert answer.this_update is not None
            refresh_at = answer.this_update + self.validity / 2
            with self._lock:
                if len(self._cache) >= self._max_cached:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = _Cached(answer, status, mark, refresh_at)
        return answer


def _replace_from_cache(answer: OcspAnswer) -> OcspAnswer:
    return OcspAnswer(
        answer.der,
        answer.status,
        answer.this_update,
        answer.next_update,
        cacheable=True,
        from_cache=True,
    )

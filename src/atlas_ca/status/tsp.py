"""Time-stamp authority (RFC 3161): requests, GOST-signed tokens, verification.

* :func:`parse_request` / :func:`build_request`: TimeStampReq DER <-> :class:`TimeStampRequest`
  (message imprint in GOST R 34.11-2012 256/512 or SHA-256, policy, nonce, certReq).
* :class:`TimeStampAuthority` answers a request with a TimeStampResp: granted with a token —
  CMS SignedData (RFC 5652) encapsulating TSTInfo (policy, unique serial, genTime, accuracy,
  nonce, tsa name), signed with GOST R 34.10-2012 through the HSM port, with ESS
  signingCertificateV2 (RFC 5035, ESSCertIDv2 over the TSA certificate, Streebog-256) in the
  signed attributes — or rejected with the PKIFailureInfo bit RFC 3161 §2.4.2 names.
* :func:`verify_token` checks a token against the data's imprint and the TSA certificate.

The CMS is built by :func:`atlas_ca.x509.cms.sign_signed_data`, shared with the registrar's
attestation. Serial numbers are 159-bit random integers (RFC 3161 §2.4.2 asks for unique ones;
a collision among random 159-bit values is negligible and no register write is needed per token).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509

from atlas_ca import gost
from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1.gost import register_gost
from atlas_ca.asn1.oids import Cms, Digest, ExtendedKeyUsage, GostAlgorithm, Oid, Tsp
from atlas_ca.errors import (
    AtlasCaError,
    DecodeError,
    HsmError,
    InvalidInput,
    SignatureInvalid,
    Unavailable,
)
from atlas_ca.hsm.base import SigningKey
from atlas_ca.status import digests
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.cms import GOST_CMS_ALGORITHMS, gost_digest, sign_signed_data
from atlas_ca.x509.signatures import verify_signature

__all__ = [
    "FailureInfo",
    "ImprintHash",
    "TimeStampAuthority",
    "TimeStampRejected",
    "TimeStampRequest",
    "TimeStampToken",
    "TsaSigner",
    "build_request",
    "new_nonce",
    "parse_request",
    "parse_response",
    "rejection",
    "verify_token",
]

log = logging.getLogger(__name__)
register_gost()


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """TimeStampResp (RFC 3161 §2.4.2) with the token OPTIONAL, as the RFC has it
    (asn1crypto 1.5 declares it required, so a rejection could not be encoded or read)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class ImprintHash(enum.Enum):
    """Hash algorithms accepted for the message imprint (:mod:`.digests` declares them)."""

    STREEBOG256 = digests.STREEBOG256
    STREEBOG512 = digests.STREEBOG512
    SHA256 = digests.SHA256

    @property
    def oid(self) -> Oid:
        spec: digests.DigestSpec = self.value
        return spec.oid

    @property
    def size(self) -> int:
        spec: digests.DigestSpec = self.value
        return spec.size

    def digest(self, data: bytes) -> bytes:
        spec: digests.DigestSpec = self.value
        return spec.compute(data)

    @classmethod
    def from_dotted(cls, dotted: str) -> ImprintHash | None:
        return next((h for h in cls if h.oid.dotted == dotted), None)


class FailureInfo(enum.Enum):
    """PKIFailureInfo bits (RFC 3161 §2.4.2), by asn1crypto's names."""

    BAD_ALG = "bad_alg"
    BAD_REQUEST = "bad_request"
    BAD_DATA_FORMAT = "bad_data_format"
    TIME_NOT_AVAILABLE = "time_not_available"
    UNACCEPTED_POLICY = "unaccepted_policy"
    UNACCEPTED_EXTENSION = "unaccepted_extension"
    SYSTEM_FAILURE = "system_failure"


class TimeStampRejected(InvalidInput):
    """A request the TSA answers with status rejection and ``failure``."""

    def __init__(self, message: str, failure: FailureInfo) -> None:
        super().__init__(message, failure=failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class TimeStampRequest:
    hash_algorithm: ImprintHash
    imprint: bytes
    policy: str | None = None
    nonce: int | None = None
    cert_req: bool = False


MAX_REQUEST_BYTES = 16 * 1024


def parse_request(der: bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> TimeStampRequest:
    """Read a TimeStampReq; :class:`TimeStampRejected` with the failure bit on any problem."""
    if not der:
        raise TimeStampRejected("empty time-stamp request", FailureInfo.BAD_DATA_FORMAT)
    if len(der) > max_bytes:
        raise TimeStampRejected(
            f"time-stamp request of {len(der)} bytes exceeds {max_bytes}", FailureInfo.BAD_REQUEST
        )
    try:
        req = tsp.TimeStampReq.load(bytes(der), strict=True)
        if req["version"].native != "v1":
            raise TimeStampRejected("TimeStampReq version is not v1", FailureInfo.BAD_REQUEST)
        imprint = req["message_imprint"]
        dotted = imprint["hash_algorithm"]["algorithm"].dotted
        algorithm = ImprintHash.from_dotted(dotted)
        if algorithm is None:
            raise TimeStampRejected(f"imprint hash {dotted} is not accepted", FailureInfo.BAD_ALG)
        value = bytes(imprint["hashed_message"].native)
        if len(value) != algorithm.size:
            raise TimeStampRejected(
                f"imprint is {len(value)} bytes, {algorithm.name} gives {algorithm.size}",
                FailureInfo.BAD_DATA_FORMAT,
            )
        if len(req["extensions"]) if req["extensions"].native is not None else 0:
            raise TimeStampRejected(
                "time-stamp request extensions are not supported", FailureInfo.UNACCEPTED_EXTENSION
            )
        policy = req["req_policy"].dotted if req["req_policy"].native is not None else None
        nonce = req["nonce"].native
        cert_req = bool(req["cert_req"].native)
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise TimeStampRejected(
            f"time-stamp request cannot be decoded ({type(exc).__name__})",
            FailureInfo.BAD_DATA_FORMAT,
        ) from exc
    return TimeStampRequest(algorithm, value, policy, nonce, cert_req)


def build_request(
    data: bytes | None = None,
    *,
    imprint: bytes | None = None,
    hash_algorithm: ImprintHash = ImprintHash.STREEBOG256,
    nonce: int | None = None,
    cert_req: bool = True,
    policy: Oid | None = None,
) -> bytes:
    """DER of a TimeStampReq over ``data`` (hashed here) or a ready ``imprint``."""
    if (data is None) == (imprint is None):
        raise ValueError("give either data or imprint")
    value = hash_algorithm.digest(data) if data is not None else imprint
    req: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm(
                {"algorithm": hash_algorithm.oid.dotted, "parameters": core.Null()}
            ),
            "hashed_message": value,
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        req["nonce"] = nonce
    if policy is not None:
        req["req_policy"] = policy.dotted
    der: bytes = tsp.TimeStampReq(req).dump()
    return der


@dataclass(frozen=True)
class TsaSigner:
    """The TSA's key on the token, its certificate (``tsa`` profile: critical EKU
    id-kp-timeStamping only), the policy it stamps under and the accuracy it claims."""

    key: SigningKey = field(repr=False)
    certificate: Certificate
    policy: Oid
    accuracy: dt.timedelta = dt.timedelta(seconds=1)

    def __post_init__(self) -> None:
        if self.key.public_key_info != self.certificate.public_key_info:
            raise ValueError("the TSA key is not the key of the TSA certificate")
        if self.key.key_type not in GOST_CMS_ALGORITHMS:
            raise ValueError("the TSA signs with GOST R 34.10-2012")
        eku = asn1_x509.Certificate.load(self.certificate.der).extended_key_usage_value
        if eku is None or [p.dotted for p in eku] != [ExtendedKeyUsage.TIME_STAMPING.dotted]:
            raise ValueError("the TSA certificate must have EKU id-kp-timeStamping only")


def _signing_certificate_v2(certificate: Certificate) -> cms.CMSAttribute:
    """ESS signingCertificateV2 (RFC 5035 §3) naming the TSA certificate by its Streebog-256
    hash and issuer/serial (RFC 3161 §2.4.1 requires the signing-certificate attribute)."""
    parsed = asn1_x509.Certificate.load(certificate.der)
    ess = tsp.ESSCertIDv2(
        {
            "hash_algorithm": algos.DigestAlgorithm(
                {"algorithm": GostAlgorithm.GOST3411_2012_256.dotted, "parameters": core.Null()}
            ),
            "cert_hash": gost.streebog256(certificate.der),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName(name="directory_name", value=parsed.issuer)],
                "serial_number": certificate.serial_number,
            },
        }
    )
    return cms.CMSAttribute(
        {
            "type": Cms.SIGNING_CERTIFICATE_V2.dotted,
            "values": [tsp.SigningCertificateV2({"certs": [ess]})],
        }
    )


class TimeStampAuthority:
    """Answers TimeStampReq DER with TimeStampResp DER (never raises for bad input)."""

    def __init__(
        self,
        signer: TsaSigner,
        *,
        now: Callable[[], dt.datetime],
        serial: Callable[[], int] = random_serial,
        accepted_policies: frozenset[str] = frozenset(),
    ) -> None:
        self.signer = signer
        #: Requests rejected with systemFailure because the token failed.
        self.unavailable_count = 0
        self._now = now
        self._serial = serial
        self._policies = accepted_policies | {signer.policy.dotted}
        self._ess = _signing_certificate_v2(signer.certificate).dump()
        self._tsa_name = asn1_x509.GeneralName(
            name="directory_name",
            value=asn1_x509.Certificate.load(signer.certificate.der).subject,
        ).dump()

    def respond(self, der: bytes) -> bytes:
        try:
            request = parse_request(der)
            if request.policy is not None and request.policy not in self._policies:
                raise TimeStampRejected(
                    f"policy {request.policy} is not this TSA's", FailureInfo.UNACCEPTED_POLICY
                )
            return self._granted(request)
        except TimeStampRejected as exc:
            return rejection(str(exc), exc.failure)
        except (Unavailable, HsmError) as exc:
            self.unavailable_count += 1
            log.warning("TSA: unavailable: %s", exc)
            return rejection("the TSA's key is unavailable; try later", FailureInfo.SYSTEM_FAILURE)
        except Exception:
            log.exception("TSA: internal error")
            return rejection("internal error", FailureInfo.SYSTEM_FAILURE)

    def stamp(self, request: TimeStampRequest) -> bytes:
        """The token (ContentInfo DER) for a parsed request."""
        at = self._now().astimezone(dt.UTC).replace(microsecond=0)
        info: dict[str, object] = {
            "version": "v1",
            "policy": self.signer.policy.dotted,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm(
                    {"algorithm": request.hash_algorithm.oid.dotted, "parameters": core.Null()}
                ),
                "hashed_message": request.imprint,
            },
            "serial_number": self._serial(),
            "gen_time": at,
            "accuracy": _accuracy(self.signer.accuracy),
            "tsa": asn1_x509.GeneralName.load(self._tsa_name),
        }
        if request.nonce is not None:
            info["nonce"] = request.nonce
        tst = tsp.TSTInfo(info).dump()
        return sign_signed_data(
            tst,
            self.signer.key,
            self.signer.certificate,
            content_type=Tsp.TST_INFO,
            detached=False,
            signing_time=at,
            extra_attributes=[self._ess],
            include_certificate=request.cert_req,
        )

    def _granted(self, request: TimeStampRequest) -> bytes:
        token = self.stamp(request)
        resp = _TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)}
        )
        der: bytes = resp.dump()
        return der


def _accuracy(value: dt.timedelta) -> dict[str, int]:
    micros = round(value.total_seconds() * 1_000_000)
    seconds, rest = divmod(micros, 1_000_000)
    millis, micro = divmod(rest, 1000)
    out = {}
    if seconds:
        out["seconds"] = seconds
    if millis:
        out["millis"] = millis
    if micro:
        out["micros"] = micro
    return out or {"seconds": 0}


def rejection(text: str, failure: FailureInfo) -> bytes:
    der: bytes = _TimeStampResp(
        {
            "status": {
                "status": "rejection",
                "status_string": [text[:200]],
                "fail_info": tsp.PKIFailureInfo({failure.value}),
            }
        }
    ).dump()
    return der


# --- reading and verifying ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeStampToken:
    """What a verified token says."""

    policy: str
    serial: int
    gen_time: dt.datetime
    hash_algorithm: ImprintHash
    imprint: bytes
    nonce: int | None
    signer: Certificate
    der: bytes


def parse_response(der: bytes) -> tuple[str, bytes | None, str | None]:
    """(status, token DER or None, failure bit name or None) of a TimeStampResp."""
    try:
        resp = _TimeStampResp.load(bytes(der), strict=True)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
        fail = resp["status"]["fail_info"].native
        failure = None if not fail else sorted(fail)[0]
        return status, (None if token.native is None else token.dump()), failure
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DecodeError(f"TimeStampResp cannot be decoded ({type(exc).__name__})") from exc


def _attr(attrs: cms.CMSAttributes, oid: Oid) -> object:
    found = [a for a in attrs if a["type"].dotted == oid.dotted]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise SignatureInvalid(f"time-stamp token needs exactly one signed attribute {oid.name}")
    return found[0]["values"][0]


def verify_token(
    token_der: bytes,
    *,
    data: bytes | None = None,
    imprint: bytes | None = None,
    tsa_certificate: Certificate,
) -> TimeStampToken:
    """Check a token: the imprint matches ``data`` (or equals ``imprint``), the content digest,
    the ESSCertIDv2 and the GOST signature by ``tsa_certificate``. :class:`SignatureInvalid`
    when anything does not match, :class:`DecodeError` for undecodable input."""
    try:
        info = cms.ContentInfo.load(bytes(token_der), strict=True)
        if info["content_type"].dotted != Cms.SIGNED_DATA.dotted:
            raise SignatureInvalid("time-stamp token is not a SignedData")
        sd = info["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].dotted != Tsp.TST_INFO.dotted:
            raise SignatureInvalid("time-stamp token does not encapsulate TSTInfo")
        tst_der = bytes(eci["content"].contents)
        tst = tsp.TSTInfo.load(tst_der)
        (si,) = list(sd["signer_infos"])
        attrs = si["signed_attrs"]
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        key_oid = si["signature_algorithm"]["algorithm"].dotted
        claimed = bytes(_attr(attrs, Cms.MESSAGE_DIGEST).native)  # type: ignore[attr-defined]
        ess = _attr(attrs, Cms.SIGNING_CERTIFICATE_V2)["certs"][0]  # type: ignore[index]
        signed_attrs_der = b"\x31" + attrs.dump()[1:]
        signature = bytes(si["signature"].native)
        mi = tst["message_imprint"]
        algorithm = ImprintHash.from_dotted(mi["hash_algorithm"]["algorithm"].dotted)
        stamped = bytes(mi["hashed_message"].native)
        result_fields = (
            tst["policy"].dotted,
            tst["serial_number"].native,
            tst["gen_time"].native,
            tst["nonce"].native,
        )
        ess_alg = ess["hash_algorithm"]["algorithm"].dotted
        ess_hash = bytes(ess["cert_hash"].native)
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise DecodeError(f"time-stamp token cannot be decoded ({type(exc).__name__})") from exc
    if algorithm is None:
        raise SignatureInvalid("time-stamp imprint uses an unknown hash")
    expected = algorithm.digest(data) if data is not None else imprint
    if expected is None or not hmac.compare_digest(expected, stamped):
        raise SignatureInvalid("the time-stamp imprint does not match the data")
    pairs = {k.dotted: (d.dotted, s) for s, (d, k) in GOST_CMS_ALGORITHMS.items()}
    if key_oid not in pairs or pairs[key_oid][0] != digest_oid:
        raise SignatureInvalid(f"algorithms {key_oid}/{digest_oid} are not a GOST pair")
    if not hmac.compare_digest(gost_digest(digest_oid, tst_der), claimed):
        raise SignatureInvalid("TSTInfo does not match the signed message digest")
    if ess_alg == GostAlgorithm.GOST3411_2012_256.dotted:
        cert_hash = gost.streebog256(tsa_certificate.der)
    elif ess_alg == Digest.SHA256.dotted:
        cert_hash = hashlib.sha256(tsa_certificate.der).digest()
    else:
        raise SignatureInvalid(f"ESSCertIDv2 hash {ess_alg} is not supported")
    if not hmac.compare_digest(cert_hash, ess_hash):
        raise SignatureInvalid("the token's ESSCertIDv2 names another certificate")
    sig_alg = (
        SignatureAlgorithm.GOST3410_2012_256
        if pairs[key_oid][1] is KeyType.GOST3410_2012_256
        else SignatureAlgorithm.GOST3410_2012_512
    )
    verify_signature(tsa_certificate.public_key_info, sig_alg, signed_attrs_der, signature)
    policy, serial, gen_time, nonce = result_fields
    return TimeStampToken(
        policy, serial, gen_time, algorithm, stamped, nonce, tsa_certificate, bytes(token_der)
    )


def new_nonce() -> int:
    """A 64-bit random nonce for a request."""
    return secrets.randbits(63) + 1

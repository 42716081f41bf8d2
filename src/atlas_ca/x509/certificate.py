"""X.509 v3 certificates: an immutable builder, the TBS as a separate step, the parsed form.

Issuance is explicit steps (style lesson 10): ``CertificateBuilder`` → :meth:`build_tbs`
(:class:`TbsCertificate`, whose ``der`` the pipeline can hash and record) → :meth:`TbsCertificate.
sign` with a :class:`~atlas_ca.hsm.base.SigningKey` → the signature is verified with the signer's
public key before a :class:`Certificate` is returned.

Rules applied (RFC 5280): v3 only; serial positive, at most 20 octets, with at least 64 random
bits (§4.1.2.2); UTCTime through 2049, GeneralizedTime from 2050 (§4.1.2.5); issuer name copied
byte-for-byte from the issuer certificate's subject (§4.1.2.4); notAfter never beyond the
issuer's; at most one extension per OID (§4.2).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import specs
from atlas_ca.errors import AtlasCaError, DecodeError, Refused, SignatureInvalid, X509Error
from atlas_ca.hsm.base import SigningKey
from atlas_ca.limits import InputKind, check_size
from atlas_ca.x509.der import (
    check_der,
    children,
    decode_integer,
    decode_oid,
    decode_time,
    encode_integer,
    encode_oid,
    split_tlv,
    tlv,
)
from atlas_ca.x509.extensions import (
    AuthorityKeyIdentifier,
    BasicConstraints,
    Extension,
    Extensions,
    KeyUsage,
    SubjectKeyIdentifier,
    UnrecognizedExtension,
)
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, is_pem, pem_decode, pem_encode
from atlas_ca.x509.signatures import gost_digest, verify_gost_digest, verify_signature

specs.register()

#: RFC 5280 §4.1.2.2: a serial number is at most 20 octets.
MAX_SERIAL_OCTETS = 20
#: Random bits in a serial number we generate (≥ 64 required by CA/B Forum BR §7.1).
SERIAL_RANDOM_BITS = 127


class ValidityBeyondIssuer(X509Error, Refused):
    """The requested notAfter lies after the issuer certificate's notAfter."""


RandomBytes = Callable[[int], bytes]
T = TypeVar("T")


def random_serial(random_bytes: RandomBytes = secrets.token_bytes) -> int:
    """A positive serial with :data:`SERIAL_RANDOM_BITS` bits from ``random_bytes`` (a CSPRNG).

    16 octets are drawn and the top bit cleared, so the DER INTEGER is at most 16 octets.
    """
    raw = random_bytes(16)
    if len(raw) != 16:
        raise ValueError(f"random source returned {len(raw)} bytes instead of 16")
    value = int.from_bytes(raw, "big") & ((1 << SERIAL_RANDOM_BITS) - 1)
    if value < 1 << 63:
        # Fewer than 64 significant bits: astronomically rare from a CSPRNG, a broken source
        # otherwise. Refuse rather than issue a guessable serial.
        raise ValueError("random source produced a serial with fewer than 64 significant bits")
    return value


def check_serial(serial: int) -> int:
    if not isinstance(serial, int) or isinstance(serial, bool):
        raise TypeError("serial number must be an int")
    if serial <= 0:
        raise ValueError("serial number must be positive (RFC 5280 §4.1.2.2)")
    if len(encode_integer(serial)) - 2 > MAX_SERIAL_OCTETS:
        raise ValueError("serial number exceeds 20 octets (RFC 5280 §4.1.2.2)")
    return serial


def _utc(t: datetime, what: str) -> datetime:
    if not isinstance(t, datetime):
        raise TypeError(f"{what} must be a datetime")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return t.astimezone(UTC).replace(microsecond=0)


def encode_time(t: datetime) -> bytes:
    """RFC 5280 §4.1.2.5: UTCTime for 1950–2049, GeneralizedTime otherwise (DER, Z, seconds)."""
    t = _utc(t, "time")
    if 1950 <= t.year <= 2049:
        return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(0x18, f"{t.year:04d}{t.strftime('%m%d%H%M%S')}Z".encode("ascii"))


def algorithm_identifier(algorithm: SignatureAlgorithm) -> bytes:
    oid = encode_oid(algorithm.oid.dotted)
    return tlv(0x30, oid + (b"\x05\x00" if algorithm.null_params else b""))


_GOST_SIGS = frozenset(
    {
        SignatureAlgorithm.GOST3410_2012_256.oid.dotted,
        SignatureAlgorithm.GOST3410_2012_512.oid.dotted,
    }
)


@dataclass(frozen=True, slots=True)
class Validity:
    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "not_before", _utc(self.not_before, "notBefore"))
        object.__setattr__(self, "not_after", _utc(self.not_after, "notAfter"))
        if self.not_after <= self.not_before:
            raise ValueError("notAfter must be later than notBefore")

    def contains(self, at: datetime) -> bool:
        at = _utc(at, "time")
        return self.not_before <= at <= self.not_after

    def der(self) -> bytes:
        return _validity_der(self.not_before, self.not_after)


@functools.lru_cache(maxsize=256)
def _validity(not_before: datetime, not_after: datetime) -> Validity:
    # A CA issues batches with the same validity: one checked (immutable) value per pair.
    return Validity(not_before, not_after)


@functools.lru_cache(maxsize=256)
def _validity_der(not_before: datetime, not_after: datetime) -> bytes:
    # A CA issues batches with the same validity: encode each pair once (both times are UTC).
    return tlv(0x30, encode_time(not_before) + encode_time(not_after))


# --- parsed certificate ----------------------------------------------------------------------


def wrap_parse(what: str, fn: Callable[[], T]) -> T:
    """Run a parser, turning asn1crypto's exceptions into :class:`DecodeError` (internal)."""
    try:
        return fn()
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise DecodeError(f"{what} is malformed: {exc}") from exc
    except RecursionError:
        raise DecodeError(f"{what} is nested too deeply") from None


def parse_algorithm(tag: int, content: bytes, what: str) -> SignatureAlgorithm:
    """Our enum for a DER AlgorithmIdentifier, checking its parameters (internal)."""
    parts = children(content, what)
    if tag != 0x30 or not 1 <= len(parts) <= 2 or parts[0][0] != 0x06:
        raise DecodeError(f"{what}: signature AlgorithmIdentifier is malformed")
    dotted = decode_oid(parts[0][2], what)
    algorithm = SignatureAlgorithm.from_oid(dotted)
    if algorithm is None:
        raise DecodeError(f"{what}: signature algorithm {dotted} is not supported")
    raw = parts[1][1] if len(parts) == 2 else b""
    # RFC 9215 §3.2 says absent for GOST, but OpenSSL's gost engine writes NULL: accept both.
    lenient = (
        algorithm.null_params
        or algorithm.oid.dotted in _GOST_SIGS
        or algorithm is SignatureAlgorithm.GOST3410_2001
    )
    if raw and not (raw == b"\x05\x00" and lenient):
        raise DecodeError(f"{what}: unexpected parameters for {algorithm.value}")
    return algorithm


def signature_bits(tag: int, content: bytes, what: str) -> bytes:
    if tag != 0x03 or not content or content[0] != 0:
        raise DecodeError(f"{what}: signature is not a BIT STRING without unused bits")
    return content[1:]


@dataclass(frozen=True, slots=True, eq=False)
class Certificate:
    """A parsed X.509 certificate. Equality is on the DER."""

    der: bytes
    tbs_der: bytes
    version: int
    serial_number: int
    signature_algorithm: SignatureAlgorithm
    issuer: Name
    validity: Validity
    subject: Name
    public_key: PublicKeyInfo
    extensions: Extensions
    signature: bytes = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __repr__(self) -> str:
        # Names hold personal data (R21): the repr shows only what identifies the certificate.
        return (
            f"Certificate(serial={self.serial_number:x}, "
            f"not_after={self.not_after:%Y-%m-%dT%H:%M:%SZ}, key={self.public_key.describe()})"
        )

    @property
    def not_before(self) -> datetime:
        return self.validity.not_before

    @property
    def not_after(self) -> datetime:
        return self.validity.not_after

    @property
    def public_key_info(self) -> bytes:
        """DER of the SubjectPublicKeyInfo (what :func:`verify_signature` takes)."""
        return self.public_key.der

    @property
    def subject_der(self) -> bytes:
        return self.subject.der

    @property
    def is_ca(self) -> bool:
        bc = self.extensions.get(BasicConstraints)
        return bc is not None and bc.ca

    @property
    def is_self_issued(self) -> bool:
        return self.issuer == self.subject

    def fingerprint(self, algorithm: str = "sha256") -> bytes:
        return hashlib.new(algorithm, self.der).digest()

    def verify_signed_by(self, issuer_public_key_info: bytes) -> None:
        """Raise :class:`SignatureInvalid` unless the issuer's key signed this certificate."""
        verify_signature(
            issuer_public_key_info, self.signature_algorithm, self.tbs_der, self.signature
        )

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        der = bytes(der)
        check_size(der, InputKind.CERTIFICATE, der=True)
        check_der(der, "certificate")
        return wrap_parse("certificate", lambda: _parse_certificate(der))

    @classmethod
    def from_pem(cls, data: bytes) -> Certificate:
        return cls.from_der(pem_decode(data, PemLabel.CERTIFICATE))

    @classmethod
    def load(cls, data: bytes) -> Certificate:
        """PEM or DER."""
        return cls.from_der(pem_decode(data, PemLabel.CERTIFICATE) if is_pem(data) else data)

    def pem(self) -> bytes:
        return pem_encode(self.der, PemLabel.CERTIFICATE)


def _parse_certificate(der: bytes) -> Certificate:
    tag, content = split_tlv(der)
    if tag != 0x30:
        raise DecodeError(f"certificate is not a SEQUENCE (tag 0x{tag:02x})")
    top = children(content, "certificate")
    if tag != 0x30 or len(top) != 3 or top[0][0] != 0x30:
        raise DecodeError("certificate is not SEQUENCE { tbsCertificate, algorithm, signature }")
    algorithm = parse_algorithm(top[1][0], top[1][2], "certificate")
    signature = signature_bits(top[2][0], top[2][2], "certificate")
    tbs = children(top[0][2], "tbsCertificate")
    i, version = 0, 1
    if tbs and tbs[0][0] == 0xA0:
        inner = children(tbs[0][2], "certificate version")
        if len(inner) != 1 or inner[0][0] != 0x02:
            raise DecodeError("certificate version is not an INTEGER")
        version = decode_integer(inner[0][2], "certificate version") + 1
        if version not in (2, 3):
            raise DecodeError(f"certificate version {version} is not v1, v2 or v3")
        i = 1
    if len(tbs) < i + 6:
        raise DecodeError("tbsCertificate lacks fields (serial ... subjectPublicKeyInfo)")
    serial_tag, _, serial_content = tbs[i]
    if serial_tag != 0x02:
        raise DecodeError("certificate serialNumber is not an INTEGER")
    if len(serial_content) > MAX_SERIAL_OCTETS:
        raise DecodeError(
            f"certificate: serial number of {len(serial_content)} octets exceeds 20 "
            "(RFC 5280 §4.1.2.2)"
        )
    serial = decode_integer(serial_content, "serialNumber")
    if parse_algorithm(tbs[i + 1][0], tbs[i + 1][2], "certificate") is not algorithm:
        raise DecodeError(
            "certificate: signatureAlgorithm differs from the TBS signature field "
            "(RFC 5280 §4.1.1.2)"
        )
    validity = children(tbs[i + 3][2], "validity")
    if tbs[i + 3][0] != 0x30 or len(validity) != 2:
        raise DecodeError("certificate validity is not SEQUENCE { notBefore, notAfter }")
    not_before = decode_time(validity[0][0], validity[0][2], "notBefore")
    not_after = decode_time(validity[1][0], validity[1][2], "notAfter")
    try:
        val = Validity(not_before, not_after)
    except ValueError as exc:
        raise DecodeError(f"certificate validity: {exc}") from exc
    exts = Extensions()
    for extra_tag, _, extra in tbs[i + 6 :]:
        if extra_tag in (0x81, 0x82) and version >= 2:
            continue  # issuerUniqueID / subjectUniqueID: read past, not used
        if extra_tag == 0xA3 and version != 3:
            raise DecodeError(
                f"a v{version} certificate carries extensions: only v3 may (RFC 5280 §4.1.2.1); "
                "the issuer wrote the wrong version"
            )
        if extra_tag != 0xA3 or len(exts):
            raise DecodeError(f"tbsCertificate has an unexpected field (tag 0x{extra_tag:02x})")
        inner = children(extra, "extensions")
        if len(inner) != 1:
            raise DecodeError("certificate [3] extensions does not wrap one SEQUENCE")
        exts = Extensions.from_der(inner[0][1])
        if not len(exts):
            raise DecodeError("certificate has an empty extensions SEQUENCE (RFC 5280 §4.1)")
    return Certificate(
        der=der,
        tbs_der=top[0][1],
        version=version,
        serial_number=serial,
        signature_algorithm=algorithm,
        issuer=Name.from_checked_der(tbs[i + 2][1]),
        validity=val,
        subject=Name.from_checked_der(tbs[i + 4][1]),
        public_key=PublicKeyInfo.from_checked_der(tbs[i + 5][1], where="certificate"),
        extensions=exts,
        signature=signature,
    )


# --- builder ----------------------------------------------------------------------------------


def assemble_signed(tbs_der: bytes, algorithm: SignatureAlgorithm, signature: bytes) -> bytes:
    """``SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING signature }``: certificate, CSR, CRL."""
    return tlv(0x30, tbs_der + algorithm_identifier(algorithm) + tlv(0x03, b"\x00" + signature))


def sign_and_check(
    tbs_der: bytes,
    algorithm: SignatureAlgorithm,
    key: SigningKey,
    what: str,
    *,
    check: bool = True,
) -> tuple[bytes, bytes]:
    """Sign ``tbs_der`` with ``key`` and verify the signature with the key's public half.

    Returns ``(der of the signed object, signature)``. ``check=False`` leaves the verification
    to the caller, who must make it before using the result (the issuance pipeline's *verify*
    step checks against the CA certificate's key: one verification per certificate, issue 17).
    """
    if key.signature_algorithm is not algorithm:
        raise ValueError(
            f"{what} was prepared for {algorithm.value} but the key signs with "
            f"{key.signature_algorithm.value}"
        )
    sign_digest = getattr(key, "sign_digest", None)
    digest: bytes | None = None
    if algorithm.oid.dotted in _GOST_SIGS and callable(sign_digest):
        # Hash once: the key signs the Streebog digest of tbs_der and the check verifies the
        # new signature against that same digest (the curve arithmetic runs in full).
        digest = gost_digest(algorithm, tbs_der)
        signature = sign_digest(digest)
    else:
        signature = key.sign(tbs_der)
    if not check:
        return assemble_signed(tbs_der, algorithm, signature), signature
    try:
        if digest is not None:
            verify_gost_digest(key.public_key_info, algorithm, digest, signature)
        else:
            verify_signature(key.public_key_info, algorithm, tbs_der, signature)
    except SignatureInvalid as exc:
        raise SignatureInvalid(
            f"the signing key produced a {what} signature that does not verify: {exc}"
        ) from exc
    return assemble_signed(tbs_der, algorithm, signature), signature


@dataclass(frozen=True, slots=True)
class TbsCertificate:
    """A prepared, unsigned certificate: ``der`` is exactly what the key will sign."""

    der: bytes
    signature_algorithm: SignatureAlgorithm
    serial_number: int
    issuer: Name
    validity: Validity
    subject: Name
    public_key: PublicKeyInfo
    extensions: Extensions
    issuer_public_key_info: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"TbsCertificate(serial={self.serial_number:x}, "
            f"algorithm={self.signature_algorithm.value}, bytes={len(self.der)})"
        )

    def sign(self, key: SigningKey, *, check: bool = True) -> Certificate:
        """Sign with ``key``; the signature is verified before the certificate is returned.

        ``check=False``: not verified here — the caller verifies it (``verify_signed_by``)
        before the certificate goes anywhere, as the issuance pipeline's *verify* step does.
        """
        if (
            self.issuer_public_key_info is not None
            and key.public_key_info != self.issuer_public_key_info
        ):
            raise ValueError("the signing key is not the key of the issuer certificate")
        der, signature = sign_and_check(
            self.der, self.signature_algorithm, key, "certificate", check=check
        )
        return Certificate(
            der=der,
            tbs_der=self.der,
            version=3,
            serial_number=self.serial_number,
            signature_algorithm=self.signature_algorithm,
            issuer=self.issuer,
            validity=self.validity,
            subject=self.subject,
            public_key=self.public_key,
            extensions=self.extensions,
            signature=signature,
        )


@dataclass(frozen=True, slots=True)
class CertificateBuilder:
    """Immutable builder: every setter returns a new builder; each field may be set once."""

    _subject: Name | None = None
    _issuer: Name | None = None
    _issuer_certificate: Certificate | None = None
    _public_key: PublicKeyInfo | None = None
    _serial: int | None = None
    _not_before: datetime | None = None
    _not_after: datetime | None = None
    _extensions: tuple[Extension, ...] = ()

    def _set(self, name: str, value: Any) -> CertificateBuilder:
        if getattr(self, name) is not None:
            raise ValueError(f"{name.lstrip('_').replace('_', ' ')} is already set")
        return self._with(name, value)

    def _with(self, name: str, value: Any) -> CertificateBuilder:
        """A copy with one field changed: ``dataclasses.replace`` without its per-call field
        introspection (the issuance path copies the builder five times per certificate)."""
        new = object.__new__(CertificateBuilder)
        for slot in _BUILDER_FIELDS:
            object.__setattr__(new, slot, value if slot == name else getattr(self, slot))
        return new

    def subject_name(self, name: Name) -> CertificateBuilder:
        if not isinstance(name, Name):
            raise TypeError("subject must be a Name")
        return self._set("_subject", name)

    def issuer_name(self, name: Name) -> CertificateBuilder:
        """The issuer name of a self-signed certificate (else use :meth:`issuer_certificate`)."""
        if not isinstance(name, Name):
            raise TypeError("issuer must be a Name")
        return self._set("_issuer", name)

    def issuer_certificate(self, issuer: Certificate) -> CertificateBuilder:
        """Issue under ``issuer``: its subject DER becomes our issuer, its notAfter our cap."""
        if not isinstance(issuer, Certificate):
            raise TypeError("issuer_certificate takes a Certificate")
        return self._set("_issuer", issuer.subject)._set("_issuer_certificate", issuer)

    def public_key(self, public_key_info: bytes | PublicKeyInfo) -> CertificateBuilder:
        info = (
            public_key_info
            if isinstance(public_key_info, PublicKeyInfo)
            else PublicKeyInfo.from_der(public_key_info)
        )
        return self._set("_public_key", info)

    def serial_number(self, serial: int) -> CertificateBuilder:
        return self._set("_serial", check_serial(serial))

    def random_serial_number(
        self, random_bytes: RandomBytes = secrets.token_bytes
    ) -> CertificateBuilder:
        return self.serial_number(random_serial(random_bytes))

    def not_valid_before(self, t: datetime) -> CertificateBuilder:
        return self._set("_not_before", _utc(t, "notBefore"))

    def not_valid_after(self, t: datetime) -> CertificateBuilder:
        return self._set("_not_after", _utc(t, "notAfter"))

    def add_extension(self, extension: Extension) -> CertificateBuilder:
        """Add a typed extension; at most one per OID.

        An :class:`UnrecognizedExtension` that was *parsed* (from a CSR or certificate) is
        refused: nothing we cannot interpret goes from input into a certificate by accident.
        """
        return self.add_extensions((extension,))

    def add_extensions(self, extensions: Iterable[Extension]) -> CertificateBuilder:
        """:meth:`add_extension` of each, in order, with the same refusals; one copy of the
        builder for all of them (issue 17: a subscriber certificate has ten)."""
        added = list(self._extensions)
        seen = {e.oid_dotted for e in added}
        for extension in extensions:
            if not isinstance(extension, Extension):
                raise TypeError("add_extension takes a typed Extension")
            if isinstance(extension, UnrecognizedExtension) and extension.parsed:
                raise TypeError(
                    f"extension {extension.oid_dotted} from parsed input is not one atlas_ca "
                    "models; it is not copied into a certificate"
                )
            if extension.oid_dotted in seen:
                raise ValueError(f"extension {extension.oid.name} is already added")
            seen.add(extension.oid_dotted)
            added.append(extension)
        return self._with("_extensions", tuple(added))

    def build_tbs(self, signature_algorithm: SignatureAlgorithm) -> TbsCertificate:
        """The DER TBSCertificate, every rule checked; nothing is signed yet."""
        missing = [
            n
            for n, v in (
                ("subject", self._subject),
                ("issuer", self._issuer),
                ("public key", self._public_key),
                ("serial number", self._serial),
                ("notBefore", self._not_before),
                ("notAfter", self._not_after),
            )
            if v is None
        ]
        if missing:
            raise ValueError(f"certificate builder lacks: {', '.join(missing)}")
        assert self._subject is not None
        assert self._issuer is not None
        assert self._public_key is not None
        assert self._serial is not None
        assert self._not_before is not None
        assert self._not_after is not None
        validity = _validity(self._not_before, self._not_after)
        issuer_spki: bytes | None = None
        if self._issuer_certificate is not None:
            cap = self._issuer_certificate.not_after
            if validity.not_after > cap:
                raise ValidityBeyondIssuer(
                    f"notAfter {validity.not_after:%Y-%m-%d %H:%M:%SZ} is after the issuer's "
                    f"notAfter {cap:%Y-%m-%d %H:%M:%SZ}"
                )
            issuer_spki = self._issuer_certificate.public_key_info
        # add_extension has refused a second extension of any OID: the tuple is a valid
        # Extensions as it stands, no need to check it again (issue 17)
        exts = Extensions.trusted(self._extensions)
        body = (
            b"\xa0\x03\x02\x01\x02"
            + encode_integer(self._serial)
            + algorithm_identifier(signature_algorithm)
            + self._issuer.der
            + validity.der()
            + self._subject.der
            + self._public_key.der
        )
        if len(exts):
            body += tlv(0xA3, exts.der())
        return TbsCertificate(
            der=tlv(0x30, body),
            signature_algorithm=signature_algorithm,
            serial_number=self._serial,
            issuer=self._issuer,
            validity=validity,
            subject=self._subject,
            public_key=self._public_key,
            extensions=exts,
            issuer_public_key_info=issuer_spki,
        )

    def sign(self, key: SigningKey) -> Certificate:
        """Shortcut: :meth:`build_tbs` with the key's algorithm, then sign the TBS."""
        return self.build_tbs(key.signature_algorithm).sign(key)


_BUILDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CertificateBuilder))


def authority_key_identifier_for(issuer: Certificate) -> AuthorityKeyIdentifier:
    """The AKI for certificates ``issuer`` signs: its SKI if present, else one from its key."""
    ski = issuer.extensions.get(SubjectKeyIdentifier)
    if ski is not None:
        return AuthorityKeyIdentifier(False, ski.digest)
    return AuthorityKeyIdentifier.from_issuer_public_key_info(issuer.public_key_info)


def key_usage_of(cert: Certificate) -> KeyUsage | None:
    return cert.extensions.get(KeyUsage)


__all__ = [
    "MAX_SERIAL_OCTETS",
    "Certificate",
    "CertificateBuilder",
    "TbsCertificate",
    "Validity",
    "ValidityBeyondIssuer",
    "algorithm_identifier",
    "assemble_signed",
    "authority_key_identifier_for",
    "check_serial",
    "encode_time",
    "key_usage_of",
    "random_serial",
    "sign_and_check",
]

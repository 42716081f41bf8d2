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

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from asn1crypto import core
from asn1crypto import x509 as asn1_x509

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import specs
from atlas_ca.errors import AtlasCaError, DecodeError, Refused, SignatureInvalid, X509Error
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509.der import check_der, tlv
from atlas_ca.x509.extensions import (
    AuthorityKeyIdentifier,
    BasicConstraints,
    Extension,
    Extensions,
    KeyUsage,
    SubjectKeyIdentifier,
)
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, is_pem, pem_decode, pem_encode
from atlas_ca.x509.signatures import verify_signature

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
    if len(core.Integer(serial).contents) > MAX_SERIAL_OCTETS:
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
    oid = core.ObjectIdentifier(algorithm.oid.dotted).dump()
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
        return tlv(0x30, encode_time(self.not_before) + encode_time(self.not_after))


# --- parsed certificate ----------------------------------------------------------------------


def wrap_parse(what: str, fn: Callable[[], T]) -> T:
    """Run a parser, turning asn1crypto's exceptions into :class:`DecodeError` (internal)."""
    try:
        return fn()
    except AtlasCaError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise DecodeError(f"{what} is malformed: {exc}") from exc


def signature_algorithm_of(alg_id: Any, what: str) -> SignatureAlgorithm:
    """Our enum for an asn1crypto AlgorithmIdentifier, checking its parameters (internal)."""
    dotted = alg_id["algorithm"].dotted
    algorithm = SignatureAlgorithm.from_oid(dotted)
    if algorithm is None:
        raise DecodeError(f"{what}: signature algorithm {dotted} is not supported")
    raw = bytes(alg_id["parameters"].dump())
    # RFC 9215 §3.2 says absent for GOST, but OpenSSL's gost engine writes NULL: accept both.
    lenient = algorithm.null_params or algorithm.oid.dotted in _GOST_SIGS
    if raw and not (raw == b"\x05\x00" and lenient):
        raise DecodeError(f"{what}: unexpected parameters for {algorithm.value}")
    return algorithm


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
    cert = asn1_x509.Certificate.load(der, strict=True)
    tbs = cert["tbs_certificate"]
    version = {"v1": 1, "v2": 2, "v3": 3}.get(tbs["version"].native)
    if version is None:
        raise DecodeError(f"certificate version {tbs['version'].native} is not v1, v2 or v3")
    algorithm = signature_algorithm_of(cert["signature_algorithm"], "certificate")
    inner = signature_algorithm_of(tbs["signature"], "certificate")
    if inner is not algorithm:
        raise DecodeError(
            "certificate: signatureAlgorithm differs from the TBS signature field "
            "(RFC 5280 §4.1.1.2)"
        )
    serial = tbs["serial_number"].native
    if len(tbs["serial_number"].contents) > MAX_SERIAL_OCTETS:
        raise DecodeError(
            f"certificate: serial number of {len(tbs['serial_number'].contents)} octets "
            "exceeds 20 (RFC 5280 §4.1.2.2)"
        )
    validity = tbs["validity"]
    try:
        val = Validity(validity["not_before"].native, validity["not_after"].native)
    except ValueError as exc:
        raise DecodeError(f"certificate validity: {exc}") from exc
    if tbs["extensions"].native is not None and version != 3:
        raise DecodeError("certificate: extensions in a certificate that is not v3")
    exts = (
        Extensions.from_asn1(tbs["extensions"])
        if tbs["extensions"].native is not None
        else Extensions()
    )
    sig = cert["signature_value"]
    if bytes(sig.contents)[:1] != b"\x00":
        raise DecodeError("certificate: signatureValue has unused bits")
    return Certificate(
        der=der,
        tbs_der=bytes(tbs.dump()),
        version=version,
        serial_number=serial,
        signature_algorithm=algorithm,
        issuer=Name.from_der(bytes(tbs["issuer"].dump())),
        validity=val,
        subject=Name.from_der(bytes(tbs["subject"].dump())),
        public_key=PublicKeyInfo.from_der(bytes(tbs["subject_public_key_info"].dump())),
        extensions=exts,
        signature=bytes(sig.contents)[1:],
    )


# --- builder ----------------------------------------------------------------------------------


def assemble_signed(tbs_der: bytes, algorithm: SignatureAlgorithm, signature: bytes) -> bytes:
    """``SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING signature }``: certificate, CSR, CRL."""
    return tlv(0x30, tbs_der + algorithm_identifier(algorithm) + tlv(0x03, b"\x00" + signature))


def sign_and_check(
    tbs_der: bytes, algorithm: SignatureAlgorithm, key: SigningKey, what: str
) -> bytes:
    """Sign ``tbs_der`` with ``key``, verify the signature with the key's public half, assemble."""
    if key.signature_algorithm is not algorithm:
        raise ValueError(
            f"{what} was prepared for {algorithm.value} but the key signs with "
            f"{key.signature_algorithm.value}"
        )
    signature = key.sign(tbs_der)
    try:
        verify_signature(key.public_key_info, algorithm, tbs_der, signature)
    except SignatureInvalid as exc:
        raise SignatureInvalid(
            f"the signing key produced a {what} signature that does not verify: {exc}"
        ) from exc
    return assemble_signed(tbs_der, algorithm, signature)


@dataclass(frozen=True, slots=True)
class TbsCertificate:
    """A prepared, unsigned certificate: ``der`` is exactly what the key will sign."""

    der: bytes
    signature_algorithm: SignatureAlgorithm
    issuer_public_key_info: bytes | None = field(default=None, repr=False)

    def sign(self, key: SigningKey) -> Certificate:
        """Sign with ``key``; the signature is verified before the certificate is returned."""
        if (
            self.issuer_public_key_info is not None
            and key.public_key_info != self.issuer_public_key_info
        ):
            raise ValueError("the signing key is not the key of the issuer certificate")
        return Certificate.from_der(
            sign_and_check(self.der, self.signature_algorithm, key, "certificate")
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
        return replace(self, **{name: value})

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
        if not isinstance(extension, Extension):
            raise TypeError("add_extension takes a typed Extension")
        if any(e.oid_dotted == extension.oid_dotted for e in self._extensions):
            raise ValueError(f"extension {extension.oid.name} is already added")
        return replace(self, _extensions=(*self._extensions, extension))

    def add_extensions(self, extensions: Iterable[Extension]) -> CertificateBuilder:
        builder = self
        for e in extensions:
            builder = builder.add_extension(e)
        return builder

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
        validity = Validity(self._not_before, self._not_after)
        issuer_spki: bytes | None = None
        if self._issuer_certificate is not None:
            cap = self._issuer_certificate.not_after
            if validity.not_after > cap:
                raise ValidityBeyondIssuer(
                    f"notAfter {validity.not_after:%Y-%m-%d %H:%M:%SZ} is after the issuer's "
                    f"notAfter {cap:%Y-%m-%d %H:%M:%SZ}"
                )
            issuer_spki = self._issuer_certificate.public_key_info
        exts = Extensions(self._extensions)
        body = (
            b"\xa0\x03\x02\x01\x02"
            + core.Integer(self._serial).dump()
            + algorithm_identifier(signature_algorithm)
            + self._issuer.der
            + validity.der()
            + self._subject.der
            + self._public_key.der
        )
        if len(exts):
            body += tlv(0xA3, exts.der())
        return TbsCertificate(tlv(0x30, body), signature_algorithm, issuer_spki)

    def sign(self, key: SigningKey) -> Certificate:
        """Shortcut: :meth:`build_tbs` with the key's algorithm, then sign the TBS."""
        return self.build_tbs(key.signature_algorithm).sign(key)


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

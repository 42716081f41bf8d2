"""PKCS#10 certification requests (RFC 2986): parse, verify proof of possession, build.

Hostile input is expected here: anything that is not a well-formed DER request with a supported,
valid key raises :class:`~atlas_ca.errors.DecodeError`; a request signed by another key raises
:class:`~atlas_ca.errors.SignatureInvalid`. Requested extensions are exposed as typed values;
nothing in a request reaches a certificate unless a profile copies it on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import oids, specs
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.hsm.base import SigningKey
from atlas_ca.limits import MAX_DER, InputKind, check_size
from atlas_ca.x509.certificate import (
    parse_algorithm,
    sign_and_check,
    signature_bits,
    wrap_parse,
)
from atlas_ca.x509.der import (
    check_der,
    children,
    decode_integer,
    decode_oid,
    encode_oid,
    split_tlv,
    tlv,
)
from atlas_ca.x509.extensions import Extension, Extensions
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, is_pem, pem_decode, pem_encode
from atlas_ca.x509.signatures import verify_signature

specs.register()

#: The largest request we parse (DER): real ones are a few kilobytes (atlas_ca.limits).
MAX_CSR_BYTES = MAX_DER[InputKind.CERTIFICATION_REQUEST]


@dataclass(frozen=True, slots=True, eq=False)
class CertificationRequest:
    """A parsed PKCS#10 request. :meth:`verify` checks its proof of possession."""

    der: bytes
    info_der: bytes
    subject: Name
    public_key: PublicKeyInfo
    extensions: Extensions
    attribute_oids: tuple[str, ...]
    signature_algorithm: SignatureAlgorithm
    signature: bytes = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CertificationRequest) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __repr__(self) -> str:
        return (
            f"CertificationRequest(key={self.public_key.describe()}, "
            f"algorithm={self.signature_algorithm.value}, extensions={len(self.extensions)})"
        )

    @property
    def public_key_info(self) -> bytes:
        return self.public_key.der

    def verify(self) -> None:
        """Proof of possession: the request is signed by the key it carries."""
        if not self.public_key.fits(self.signature_algorithm):
            raise SignatureInvalid(
                f"request is signed with {self.signature_algorithm.value} but carries a "
                f"{self.public_key.describe()} key"
            )
        try:
            verify_signature(
                self.public_key.der, self.signature_algorithm, self.info_der, self.signature
            )
        except SignatureInvalid as exc:
            raise SignatureInvalid(
                f"proof of possession failed: the request is not signed by its own key ({exc})"
            ) from exc

    @classmethod
    def from_der(cls, der: bytes) -> CertificationRequest:
        der = bytes(der)
        check_size(der, InputKind.CERTIFICATION_REQUEST, der=True)
        check_der(der, "certification request")
        return wrap_parse("certification request", lambda: _parse(der))

    @classmethod
    def from_pem(cls, data: bytes) -> CertificationRequest:
        return cls.from_der(pem_decode(data, PemLabel.CERTIFICATE_REQUEST))

    @classmethod
    def load(cls, data: bytes) -> CertificationRequest:
        """PEM or DER."""
        return cls.from_pem(data) if is_pem(data) else cls.from_der(data)

    def pem(self) -> bytes:
        return pem_encode(self.der, PemLabel.CERTIFICATE_REQUEST)


def _parse(der: bytes) -> CertificationRequest:
    tag, content = split_tlv(der)
    if tag != 0x30:
        raise DecodeError(f"certification request is not a SEQUENCE (tag 0x{tag:02x})")
    top = children(content, "certification request")
    if tag != 0x30 or len(top) != 3 or top[0][0] != 0x30:
        raise DecodeError(
            "certification request is not SEQUENCE { certificationRequestInfo, algorithm, "
            "signature }"
        )
    algorithm = parse_algorithm(top[1][0], top[1][2], "certification request")
    signature = signature_bits(top[2][0], top[2][2], "certification request")
    info = children(top[0][2], "certificationRequestInfo")
    if len(info) != 4 or info[0][0] != 0x02 or info[3][0] != 0xA0:
        raise DecodeError(
            "certificationRequestInfo is not { version, subject, subjectPKInfo, [0] attributes }"
        )
    version = decode_integer(info[0][2], "request version")
    if version != 0:
        raise DecodeError(f"request version {version} is not v1 (0)")
    subject = Name.from_checked_der(info[1][1])
    key = PublicKeyInfo.from_checked_der(info[2][1], where="certification request")
    extensions = Extensions()
    attr_oids: list[str] = []
    for atag, _, acontent in children(info[3][2], "request attributes"):
        parts = children(acontent, "request attribute")
        if atag != 0x30 or len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0x31:
            raise DecodeError("request attribute is not SEQUENCE { OID, SET OF values }")
        dotted = decode_oid(parts[0][2], "request attribute")
        if dotted == oids.Cms.EXTENSION_REQUEST.dotted:
            if dotted in attr_oids:
                raise DecodeError("request carries extensionRequest twice")
            values = children(parts[1][2], "extensionRequest")
            if len(values) != 1:
                raise DecodeError(f"extensionRequest has {len(values)} values, expected 1")
            extensions = Extensions.from_der(values[0][1])
        attr_oids.append(dotted)
    return CertificationRequest(
        der=der,
        info_der=top[0][1],
        subject=subject,
        public_key=key,
        extensions=extensions,
        attribute_oids=tuple(attr_oids),
        signature_algorithm=algorithm,
        signature=signature,
    )


@dataclass(frozen=True, slots=True)
class CsrBuilder:
    """Immutable PKCS#10 builder: subject once, extensions at most one per OID, then sign."""

    _subject: Name | None = None
    _extensions: tuple[Extension, ...] = ()

    def subject_name(self, name: Name) -> CsrBuilder:
        if not isinstance(name, Name):
            raise TypeError("subject must be a Name")
        if self._subject is not None:
            raise ValueError("subject is already set")
        return replace(self, _subject=name)

    def add_extension(self, extension: Extension) -> CsrBuilder:
        if not isinstance(extension, Extension):
            raise TypeError("add_extension takes a typed Extension")
        if any(e.oid_dotted == extension.oid_dotted for e in self._extensions):
            raise ValueError(f"extension {extension.oid.name} is already added")
        return replace(self, _extensions=(*self._extensions, extension))

    def add_extensions(self, extensions: Iterable[Extension]) -> CsrBuilder:
        builder = self
        for e in extensions:
            builder = builder.add_extension(e)
        return builder

    def info_der(self, public_key_info: bytes) -> bytes:
        """The DER CertificationRequestInfo for ``public_key_info``."""
        if self._subject is None:
            raise ValueError("request builder lacks a subject")
        attributes = b""
        if self._extensions:
            ext_der = Extensions(self._extensions).der()
            attributes = tlv(
                0x30,
                encode_oid(oids.Cms.EXTENSION_REQUEST.dotted) + tlv(0x31, ext_der),
            )
        return tlv(
            0x30,
            b"\x02\x01\x00" + self._subject.der + public_key_info + tlv(0xA0, attributes),
        )

    def sign(self, key: SigningKey) -> CertificationRequest:
        """Sign with ``key`` (whose public key the request carries); verified before return."""
        PublicKeyInfo.from_der(key.public_key_info)
        info = self.info_der(key.public_key_info)
        der, _ = sign_and_check(info, key.signature_algorithm, key, "request")
        return CertificationRequest.from_der(der)


__all__ = ["MAX_CSR_BYTES", "CertificationRequest", "CsrBuilder"]

"""PKCS#10 certification requests (RFC 2986): parse, verify proof of possession, build.

Hostile input is expected here: anything that is not a well-formed DER request with a supported,
valid key raises :class:`~atlas_ca.errors.DecodeError`; a request signed by another key raises
:class:`~atlas_ca.errors.SignatureInvalid`. Requested extensions are exposed as typed values;
nothing in a request reaches a certificate unless a profile copies it on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from asn1crypto import core
from asn1crypto import csr as asn1_csr

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import oids, specs
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509.certificate import sign_and_check, signature_algorithm_of, wrap_parse
from atlas_ca.x509.der import check_der, tlv
from atlas_ca.x509.extensions import Extension, Extensions
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, is_pem, pem_decode, pem_encode
from atlas_ca.x509.signatures import verify_signature

specs.register()

#: The largest request we parse: real ones are a few kilobytes.
MAX_CSR_BYTES = 64 * 1024


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
        if len(der) > MAX_CSR_BYTES:
            raise DecodeError(f"request of {len(der)} bytes exceeds {MAX_CSR_BYTES}")
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
    req = asn1_csr.CertificationRequest.load(der, strict=True)
    info = req["certification_request_info"]
    if info["version"].native != "v1":
        raise DecodeError(f"request version {info['version'].native} is not v1 (0)")
    algorithm = signature_algorithm_of(req["signature_algorithm"], "certification request")
    subject = Name.from_der(bytes(info["subject"].dump()))
    key = PublicKeyInfo.from_der(bytes(info["subject_pk_info"].dump()))
    extensions = Extensions()
    attr_oids: list[str] = []
    seen_ext_request = False
    for attr in info["attributes"]:
        dotted = attr["type"].dotted
        attr_oids.append(dotted)
        if dotted != oids.Cms.EXTENSION_REQUEST.dotted:
            continue
        if seen_ext_request:
            raise DecodeError("request carries extensionRequest twice")
        seen_ext_request = True
        values = attr["values"]
        if len(values) != 1:
            raise DecodeError(f"extensionRequest has {len(values)} values, expected 1")
        extensions = Extensions.from_asn1(values[0])
    sig = req["signature"]
    if bytes(sig.contents)[:1] != b"\x00":
        raise DecodeError("request signature BIT STRING has unused bits")
    return CertificationRequest(
        der=der,
        info_der=bytes(info.dump()),
        subject=subject,
        public_key=key,
        extensions=extensions,
        attribute_oids=tuple(attr_oids),
        signature_algorithm=algorithm,
        signature=bytes(sig.contents)[1:],
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
                core.ObjectIdentifier(oids.Cms.EXTENSION_REQUEST.dotted).dump()
                + tlv(0x31, ext_der),
            )
        return tlv(
            0x30,
            b"\x02\x01\x00" + self._subject.der + public_key_info + tlv(0xA0, attributes),
        )

    def sign(self, key: SigningKey) -> CertificationRequest:
        """Sign with ``key`` (whose public key the request carries); verified before return."""
        PublicKeyInfo.from_der(key.public_key_info)
        info = self.info_der(key.public_key_info)
        der = sign_and_check(info, key.signature_algorithm, key, "request")
        return CertificationRequest.from_der(der)


__all__ = ["MAX_CSR_BYTES", "CertificationRequest", "CsrBuilder"]

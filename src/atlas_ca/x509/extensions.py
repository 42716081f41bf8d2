"""Certificate extensions as typed values (RFC 5280 §4.2; FSB Order 795 §§ 18–20).

Each extension is a frozen dataclass with a class attribute ``oid``, a ``critical`` flag, its
invariants checked in the constructor, ``value_der()`` (the DER inside ``extnValue``) and
``from_value_der()``. asn1crypto is used inside this module only. An extension we do not model
parses as :class:`UnrecognizedExtension`, which keeps its bytes for display and is never copied
into a certificate unless a caller builds one on purpose.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from asn1crypto import core, x509

from atlas_ca.asn1 import oids, ru
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import DecodeError
from atlas_ca.x509.der import (
    check_der,
    children,
    decode_oid,
    encode_integer,
    encode_oid,
    split_tlv,
    tlv,
)
from atlas_ca.x509.names import Name, oid_of

# --- general names -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DnsName:
    value: str

    def __post_init__(self) -> None:
        if not self.value or not self.value.isascii():
            raise ValueError("a dNSName is a non-empty ASCII (IA5) string")

    def der(self) -> bytes:
        return tlv(0x82, self.value.encode("ascii"))

    def __str__(self) -> str:
        return f"DNS:{self.value}"


@dataclass(frozen=True, slots=True)
class Uri:
    value: str

    def __post_init__(self) -> None:
        if not self.value or not self.value.isascii() or ":" not in self.value:
            raise ValueError("a URI general name is a non-empty ASCII URI with a scheme")

    def der(self) -> bytes:
        return tlv(0x86, self.value.encode("ascii"))

    def __str__(self) -> str:
        return f"URI:{self.value}"


@dataclass(frozen=True, slots=True)
class Rfc822Name:
    value: str

    def __post_init__(self) -> None:
        if not self.value or not self.value.isascii() or "@" not in self.value:
            raise ValueError("an rfc822Name is an ASCII mailbox with an @")

    def der(self) -> bytes:
        return tlv(0x81, self.value.encode("ascii"))

    def __str__(self) -> str:
        return f"email:{self.value}"


@dataclass(frozen=True, slots=True)
class IpAddress:
    value: ipaddress.IPv4Address | ipaddress.IPv6Address

    def der(self) -> bytes:
        return tlv(0x87, self.value.packed)

    def __str__(self) -> str:
        return f"IP:{self.value}"


@dataclass(frozen=True, slots=True)
class DirectoryName:
    value: Name

    def der(self) -> bytes:
        return tlv(0xA4, self.value.der)

    def __str__(self) -> str:
        return f"DirName:{self.value}"


@dataclass(frozen=True, slots=True)
class OtherGeneralName:
    """A general name form we do not model (otherName, x400Address, ...), kept as DER."""

    raw: bytes

    def der(self) -> bytes:
        return self.raw

    def __str__(self) -> str:
        return f"othername:<{len(self.raw)} bytes, tag 0x{self.raw[0]:02x}>"


GeneralName = DnsName | Uri | Rfc822Name | IpAddress | DirectoryName | OtherGeneralName


def general_name_from_der(raw: bytes) -> GeneralName:
    tag, content = split_tlv(raw)
    try:
        if tag == 0x82:
            return DnsName(content.decode("ascii"))
        if tag == 0x86:
            return Uri(content.decode("ascii"))
        if tag == 0x81:
            return Rfc822Name(content.decode("ascii"))
        if tag == 0x87:
            if len(content) not in (4, 16):
                raise DecodeError(f"iPAddress of {len(content)} octets (4 or 16 expected)")
            return IpAddress(ipaddress.ip_address(content))
        if tag == 0xA4:
            return DirectoryName(Name.from_der(content))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"general name is malformed: {exc}") from exc
    return OtherGeneralName(raw)


def _general_names_der(names: Iterable[GeneralName], tag: int = 0x30) -> bytes:
    return tlv(tag, b"".join(n.der() for n in names))


def _general_names_from(seq: Any) -> tuple[GeneralName, ...]:
    return tuple(general_name_from_der(bytes(child.dump())) for child in seq)


# --- the extension base ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Extension:
    """Base of the typed extensions; subclasses set ``oid`` and implement the two codecs."""

    oid: ClassVar[Oid]
    critical: bool

    def value_der(self) -> bytes:
        raise TypeError(f"{type(self).__name__} does not encode")  # pragma: no cover

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> Extension:
        raise TypeError(f"{cls.__name__} does not decode")  # pragma: no cover

    @property
    def oid_dotted(self) -> str:
        return self.oid.dotted

    def der(self) -> bytes:
        """The DER of the whole ``Extension`` SEQUENCE (criticality FALSE omitted, DER)."""
        hit = _DER_BY_ID.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        der = _extension_der(self)
        if len(_DER_BY_ID) >= _DER_BY_ID_MAX:
            for key in list(_DER_BY_ID)[: _DER_BY_ID_MAX // 2]:
                _DER_BY_ID.pop(key, None)
        _DER_BY_ID[id(self)] = (self, der)
        return der


@functools.lru_cache(maxsize=4096)
def _extension_der(ext: Extension) -> bytes:
    # Extensions are immutable values and the CA writes the same ones into every certificate.
    crit = b"\x01\x01\xff" if ext.critical else b""
    body = encode_oid(ext.oid_dotted) + crit
    return tlv(0x30, body + tlv(0x04, ext.value_der()))


#: The DER of extension *objects* by identity, before the cache by value above: a profile's
#: extensions are the same objects in every certificate, and hashing one by value (all its
#: fields, nested tuples, enums) cost up to ≈ 1.3 µs each, twelve times per certificate
#: (issue 17). The entry holds the object, so its ``id`` cannot be reused while it is here.
_DER_BY_ID_MAX = 1024
_DER_BY_ID: dict[int, tuple[Extension, bytes]] = {}


@dataclass(frozen=True, slots=True)
class UnrecognizedExtension(Extension):
    """An extension we do not model: its OID and raw ``extnValue`` content.

    ``parsed`` is True when it came out of a parsed CSR or certificate: the certificate builder
    refuses those, so an extension we cannot interpret is never copied from input blindly. One
    constructed on purpose (``parsed=False``, e.g. id-pkix-ocsp-nocheck's NULL) is accepted.
    """

    dotted: str = ""
    value: bytes = b""
    parsed: bool = field(default=False, compare=False)

    oid: ClassVar[Oid] = Oid("0.0", "unrecognized")

    @property
    def oid_dotted(self) -> str:
        return self.dotted

    def value_der(self) -> bytes:
        return self.value


class KeyUsageBit(enum.Enum):
    """keyUsage bits (RFC 5280 §4.2.1.3); ``value`` is the bit number."""

    DIGITAL_SIGNATURE = 0
    CONTENT_COMMITMENT = 1
    KEY_ENCIPHERMENT = 2
    DATA_ENCIPHERMENT = 3
    KEY_AGREEMENT = 4
    KEY_CERT_SIGN = 5
    CRL_SIGN = 6
    ENCIPHER_ONLY = 7
    DECIPHER_ONLY = 8


_KU_NAMES = {
    KeyUsageBit.DIGITAL_SIGNATURE: "digital_signature",
    KeyUsageBit.CONTENT_COMMITMENT: "non_repudiation",
    KeyUsageBit.KEY_ENCIPHERMENT: "key_encipherment",
    KeyUsageBit.DATA_ENCIPHERMENT: "data_encipherment",
    KeyUsageBit.KEY_AGREEMENT: "key_agreement",
    KeyUsageBit.KEY_CERT_SIGN: "key_cert_sign",
    KeyUsageBit.CRL_SIGN: "crl_sign",
    KeyUsageBit.ENCIPHER_ONLY: "encipher_only",
    KeyUsageBit.DECIPHER_ONLY: "decipher_only",
}
_KU_BY_NAME = {v: k for k, v in _KU_NAMES.items()}


def _load(spec: Any, der: bytes, what: str) -> Any:
    try:
        value = spec.load(der, strict=True)
        value.native  # noqa: B018 - forces the full parse so errors surface here
    except (ValueError, TypeError, OverflowError) as exc:
        raise DecodeError(f"{what} extension is malformed: {exc}") from exc
    except AttributeError as exc:
        # asn1crypto has no reader for some universal types (REAL, …): the value of one, in a
        # field of any type such as a policy qualifier, raises AttributeError
        raise DecodeError(f"{what} extension holds a value that cannot be read: {exc}") from exc
    except RecursionError:
        # extnValue is an OCTET STRING, so check_der of the certificate does not bound the
        # nesting inside it; asn1crypto parses recursively.
        raise DecodeError(f"{what} extension is nested too deeply") from None
    return value


@dataclass(frozen=True, slots=True)
class BasicConstraints(Extension):
    oid: ClassVar[Oid] = oids.Extension.BASIC_CONSTRAINTS
    ca: bool = False
    path_length: int | None = None

    def __post_init__(self) -> None:
        if self.path_length is not None and (not self.ca or self.path_length < 0):
            raise ValueError("pathLenConstraint needs cA TRUE and a non-negative value")

    def value_der(self) -> bytes:
        body = b"\x01\x01\xff" if self.ca else b""
        if self.path_length is not None:
            body += encode_integer(self.path_length)
        return tlv(0x30, body)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> BasicConstraints:
        v = _load(x509.BasicConstraints, der, "basicConstraints")
        path_length = v["path_len_constraint"].native
        if path_length is not None and path_length.bit_length() > 63:
            # Not a path length any chain has; an int of thousands of digits cannot even be
            # printed (Python's int-to-str limit), so refuse it here (issue 15 item 6).
            raise DecodeError(
                f"basicConstraints: pathLenConstraint of {path_length.bit_length()} bits"
            )
        try:
            return cls(critical, bool(v["ca"].native), path_length)
        except ValueError as exc:
            raise DecodeError(f"basicConstraints: {exc}") from exc


@dataclass(frozen=True, slots=True)
class KeyUsage(Extension):
    oid: ClassVar[Oid] = oids.Extension.KEY_USAGE
    usages: frozenset[KeyUsageBit] = frozenset()

    def __post_init__(self) -> None:
        if not self.usages:
            raise ValueError("keyUsage needs at least one bit set (RFC 5280 §4.2.1.3)")
        only = {KeyUsageBit.ENCIPHER_ONLY, KeyUsageBit.DECIPHER_ONLY}
        if self.usages & only and KeyUsageBit.KEY_AGREEMENT not in self.usages:
            raise ValueError("encipherOnly/decipherOnly need keyAgreement")

    def __contains__(self, bit: object) -> bool:
        return bit in self.usages

    def value_der(self) -> bytes:
        return bytes(x509.KeyUsage({_KU_NAMES[b] for b in self.usages}).dump())

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> KeyUsage:
        v = _load(x509.KeyUsage, der, "keyUsage")
        try:
            return cls(critical, frozenset(_KU_BY_NAME[n] for n in v.native))
        except (KeyError, ValueError) as exc:
            raise DecodeError(f"keyUsage: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ExtendedKeyUsage(Extension):
    oid: ClassVar[Oid] = oids.Extension.EXTENDED_KEY_USAGE
    purposes: tuple[Oid, ...] = ()

    def __post_init__(self) -> None:
        if not self.purposes:
            raise ValueError("extendedKeyUsage needs at least one purpose")
        if len({p.dotted for p in self.purposes}) != len(self.purposes):
            raise ValueError("extendedKeyUsage lists a purpose twice")

    def value_der(self) -> bytes:
        return tlv(0x30, b"".join(encode_oid(p.dotted) for p in self.purposes))

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> ExtendedKeyUsage:
        v = _load(x509.ExtKeyUsageSyntax, der, "extendedKeyUsage")
        try:
            return cls(critical, tuple(oid_of(p.dotted) for p in v))
        except ValueError as exc:
            raise DecodeError(f"extendedKeyUsage: {exc}") from exc


@functools.lru_cache(maxsize=1024)
def key_identifier(spki_der: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value."""
    check_der(spki_der, "SubjectPublicKeyInfo")
    tag, content = split_tlv(spki_der)
    parts = children(content, "SubjectPublicKeyInfo")
    if tag != 0x30 or len(parts) != 2 or parts[1][0] != 0x03 or not parts[1][2]:
        raise DecodeError("SubjectPublicKeyInfo is not SEQUENCE { algorithm, BIT STRING }")
    bits = parts[1][2][1:]
    return hashlib.sha1(bits, usedforsecurity=False).digest()


@dataclass(frozen=True, slots=True)
class SubjectKeyIdentifier(Extension):
    oid: ClassVar[Oid] = oids.Extension.SUBJECT_KEY_IDENTIFIER
    digest: bytes = b""

    def __post_init__(self) -> None:
        if not self.digest:
            raise ValueError("subjectKeyIdentifier must not be empty")

    @classmethod
    def from_public_key_info(cls, spki_der: bytes) -> SubjectKeyIdentifier:
        return cls(False, key_identifier(spki_der))

    def value_der(self) -> bytes:
        return tlv(0x04, self.digest)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> SubjectKeyIdentifier:
        v = _load(core.OctetString, der, "subjectKeyIdentifier")
        try:
            return cls(critical, bytes(v.native))
        except ValueError as exc:
            raise DecodeError(f"subjectKeyIdentifier: {exc}") from exc


@dataclass(frozen=True, slots=True)
class AuthorityKeyIdentifier(Extension):
    oid: ClassVar[Oid] = oids.Extension.AUTHORITY_KEY_IDENTIFIER
    key_id: bytes | None = None
    issuer: tuple[GeneralName, ...] = ()
    serial_number: int | None = None

    def __post_init__(self) -> None:
        if bool(self.issuer) != (self.serial_number is not None):
            raise ValueError("authorityCertIssuer and authorityCertSerialNumber go together")
        if self.key_id is None and not self.issuer:
            raise ValueError("authorityKeyIdentifier needs a keyIdentifier or issuer and serial")

    @classmethod
    def from_issuer_public_key_info(cls, spki_der: bytes) -> AuthorityKeyIdentifier:
        return cls(False, key_identifier(spki_der))

    def value_der(self) -> bytes:
        body = b""
        if self.key_id is not None:
            body += tlv(0x80, self.key_id)
        if self.issuer:
            body += _general_names_der(self.issuer, 0xA1)
        if self.serial_number is not None:
            body += b"\x82" + encode_integer(self.serial_number)[1:]
        return tlv(0x30, body)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> AuthorityKeyIdentifier:
        v = _load(x509.AuthorityKeyIdentifier, der, "authorityKeyIdentifier")
        issuer = v["authority_cert_issuer"]
        try:
            return cls(
                critical,
                v["key_identifier"].native,
                _general_names_from(issuer) if issuer.native is not None else (),
                v["authority_cert_serial_number"].native,
            )
        except ValueError as exc:
            raise DecodeError(f"authorityKeyIdentifier: {exc}") from exc


@dataclass(frozen=True, slots=True)
class DistributionPoint:
    """A distribution point by full name (the only form our CA writes)."""

    full_name: tuple[GeneralName, ...]

    def __post_init__(self) -> None:
        if not self.full_name:
            raise ValueError("a distribution point needs at least one name")


@dataclass(frozen=True, slots=True)
class CrlDistributionPoints(Extension):
    oid: ClassVar[Oid] = oids.Extension.CRL_DISTRIBUTION_POINTS
    points: tuple[DistributionPoint, ...] = ()

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("cRLDistributionPoints needs at least one point")

    @classmethod
    def of_uris(cls, *uris: str) -> CrlDistributionPoints:
        return cls(False, tuple(DistributionPoint((Uri(u),)) for u in uris))

    def value_der(self) -> bytes:
        return tlv(
            0x30,
            b"".join(
                tlv(0x30, tlv(0xA0, _general_names_der(p.full_name, 0xA0))) for p in self.points
            ),
        )

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> Extension:
        v = _load(x509.CRLDistributionPoints, der, "cRLDistributionPoints")
        points = []
        for dp in v:
            name = dp["distribution_point"]
            if (
                dp["reasons"].native is not None
                or dp["crl_issuer"].native is not None
                or name.native is None
                or name.name != "full_name"
            ):
                return UnrecognizedExtension(critical, cls.oid.dotted, der, parsed=True)
            points.append(DistributionPoint(_general_names_from(name.chosen)))
        try:
            return cls(critical, tuple(points))
        except ValueError as exc:
            raise DecodeError(f"cRLDistributionPoints: {exc}") from exc


@dataclass(frozen=True, slots=True)
class AccessDescription:
    method: Oid
    location: GeneralName


@dataclass(frozen=True, slots=True)
class AuthorityInformationAccess(Extension):
    oid: ClassVar[Oid] = oids.Extension.AUTHORITY_INFO_ACCESS
    descriptions: tuple[AccessDescription, ...] = ()

    def __post_init__(self) -> None:
        if not self.descriptions:
            raise ValueError("authorityInfoAccess needs at least one access description")

    @classmethod
    def of(
        cls, *, ca_issuers: Iterable[str] = (), ocsp: Iterable[str] = ()
    ) -> AuthorityInformationAccess:
        d = [AccessDescription(oids.AccessMethod.CA_ISSUERS, Uri(u)) for u in ca_issuers]
        d += [AccessDescription(oids.AccessMethod.OCSP, Uri(u)) for u in ocsp]
        return cls(False, tuple(d))

    def value_der(self) -> bytes:
        return tlv(
            0x30,
            b"".join(
                tlv(0x30, encode_oid(d.method.dotted) + d.location.der()) for d in self.descriptions
            ),
        )

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> AuthorityInformationAccess:
        v = _load(x509.AuthorityInfoAccessSyntax, der, "authorityInfoAccess")
        try:
            return cls(
                critical,
                tuple(
                    AccessDescription(
                        oid_of(d["access_method"].dotted),
                        general_name_from_der(bytes(d["access_location"].dump())),
                    )
                    for d in v
                ),
            )
        except ValueError as exc:
            raise DecodeError(f"authorityInfoAccess: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PolicyInformation:
    """A policy OID and, optionally, CPS URIs (the only qualifier our CA writes)."""

    policy: Oid
    cps_uris: tuple[str, ...] = ()


_CPS = oids.Policy.CPS_QUALIFIER.dotted


@dataclass(frozen=True, slots=True)
class CertificatePolicies(Extension):
    oid: ClassVar[Oid] = oids.Extension.CERTIFICATE_POLICIES
    policies: tuple[PolicyInformation, ...] = ()

    def __post_init__(self) -> None:
        if not self.policies:
            raise ValueError("certificatePolicies needs at least one policy")
        if len({p.policy.dotted for p in self.policies}) != len(self.policies):
            raise ValueError("certificatePolicies lists a policy twice (RFC 5280 §4.2.1.4)")

    @classmethod
    def of(cls, *policies: Oid) -> CertificatePolicies:
        return cls(False, tuple(PolicyInformation(p) for p in policies))

    def value_der(self) -> bytes:
        out = b""
        for p in self.policies:
            body = encode_oid(p.policy.dotted)
            if p.cps_uris:
                body += tlv(
                    0x30,
                    b"".join(
                        tlv(0x30, encode_oid(_CPS) + tlv(0x16, u.encode("ascii")))
                        for u in p.cps_uris
                    ),
                )
            out += tlv(0x30, body)
        return tlv(0x30, out)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> Extension:
        v = _load(x509.CertificatePolicies, der, "certificatePolicies")
        policies = []
        for info in v:
            uris: list[str] = []
            for q in info["policy_qualifiers"] if info["policy_qualifiers"].native else ():
                if q["policy_qualifier_id"].dotted != _CPS:
                    return UnrecognizedExtension(critical, cls.oid.dotted, der, parsed=True)
                uris.append(str(q["qualifier"].native))
            policies.append(
                PolicyInformation(oid_of(info["policy_identifier"].dotted), tuple(uris))
            )
        try:
            return cls(critical, tuple(policies))
        except ValueError as exc:
            raise DecodeError(f"certificatePolicies: {exc}") from exc


def _gtime(t: datetime) -> bytes:
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii")


@dataclass(frozen=True, slots=True)
class PrivateKeyUsagePeriod(Extension):
    """privateKeyUsagePeriod (RFC 3280 §4.2.1.4, 2.5.29.16), required by Order 795 §17."""

    oid: ClassVar[Oid] = oids.Extension.PRIVATE_KEY_USAGE_PERIOD
    not_before: datetime | None = None
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        if self.not_before is None and self.not_after is None:
            raise ValueError("privateKeyUsagePeriod needs notBefore or notAfter")
        for name in ("not_before", "not_after"):
            t = getattr(self, name)
            if t is None:
                continue
            if t.tzinfo is None:
                raise ValueError("privateKeyUsagePeriod times must be timezone-aware")
            object.__setattr__(self, name, t.astimezone(UTC).replace(microsecond=0))
        if self.not_before and self.not_after and self.not_after < self.not_before:
            raise ValueError("privateKeyUsagePeriod ends before it begins")

    def value_der(self) -> bytes:
        body = b""
        if self.not_before is not None:
            body += tlv(0x80, _gtime(self.not_before.replace(microsecond=0)))
        if self.not_after is not None:
            body += tlv(0x81, _gtime(self.not_after.replace(microsecond=0)))
        return tlv(0x30, body)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> PrivateKeyUsagePeriod:
        v = _load(x509.PrivateKeyUsagePeriod, der, "privateKeyUsagePeriod")
        try:
            return cls(critical, v["not_before"].native, v["not_after"].native)
        except ValueError as exc:
            raise DecodeError(f"privateKeyUsagePeriod: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SubjectAlternativeName(Extension):
    oid: ClassVar[Oid] = oids.Extension.SUBJECT_ALT_NAME
    names: tuple[GeneralName, ...] = ()

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("subjectAltName needs at least one name")

    def value_der(self) -> bytes:
        return _general_names_der(self.names)

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> SubjectAlternativeName:
        v = _load(x509.GeneralNames, der, "subjectAltName")
        try:
            return cls(critical, _general_names_from(v))
        except ValueError as exc:
            raise DecodeError(f"subjectAltName: {exc}") from exc


def _utf8(value: str, field_name: str, limit: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise ValueError(f"{field_name} must be a string of 1..{limit} characters (Order 795)")


@dataclass(frozen=True, slots=True)
class SubjectSignTool(Extension):
    """subjectSignTool: the subscriber's signature tool (Order 795 §19)."""

    oid: ClassVar[Oid] = oids.RuExtension.SUBJECT_SIGN_TOOL
    tool: str = ""

    def __post_init__(self) -> None:
        _utf8(self.tool, "subjectSignTool", 200)

    def value_der(self) -> bytes:
        return bytes(ru.SubjectSignTool(self.tool).dump())

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> SubjectSignTool:
        # One of every request's two per-subscriber extensions (issue 17): its DER form, a
        # primitive UTF8String with a minimal length, is read directly; anything else goes
        # through asn1crypto as before, so what is accepted or refused does not change
        # (tests/x509/test_x509_fast_paths.py compares the two on arbitrary bytes).
        text = _der_utf8_string(der)
        if text is None:
            text = _load(ru.SubjectSignTool, der, "subjectSignTool").native
        try:
            return cls(critical, text)
        except ValueError as exc:
            raise DecodeError(f"subjectSignTool: {exc}") from exc


def _der_utf8_string(der: bytes) -> str | None:
    """The text of a DER UTF8String spanning ``der``, or ``None`` when ``der`` is anything else
    (another tag, a BER length, trailing bytes, bad UTF-8): the caller decodes it the slow way."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    lb = der[1]
    if lb < 0x80:
        start, length = 2, lb
    elif lb == 0x81 and len(der) > 2 and der[2] >= 0x80:
        start, length = 3, der[2]
    elif lb == 0x82 and len(der) > 3 and der[2]:
        start, length = 4, (der[2] << 8) | der[3]
    else:
        return None
    if start + length != len(der):
        return None
    try:
        return der[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class IssuerSignTool(Extension):
    """issuerSignTool: the CA's tools and their conformity certificates (Order 795 §20)."""

    oid: ClassVar[Oid] = oids.RuExtension.ISSUER_SIGN_TOOL
    sign_tool: str = ""
    ca_tool: str = ""
    sign_tool_cert: str = ""
    ca_tool_cert: str = ""

    def __post_init__(self) -> None:
        _utf8(self.sign_tool, "signTool", 200)
        _utf8(self.ca_tool, "cATool", 200)
        _utf8(self.sign_tool_cert, "signToolCert", 100)
        _utf8(self.ca_tool_cert, "cAToolCert", 100)

    def value_der(self) -> bytes:
        return bytes(
            ru.IssuerSignTool(
                {
                    "sign_tool": self.sign_tool,
                    "ca_tool": self.ca_tool,
                    "sign_tool_cert": self.sign_tool_cert,
                    "ca_tool_cert": self.ca_tool_cert,
                }
            ).dump()
        )

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> IssuerSignTool:
        v = _load(ru.IssuerSignTool, der, "issuerSignTool")
        try:
            return cls(
                critical,
                v["sign_tool"].native,
                v["ca_tool"].native,
                v["sign_tool_cert"].native,
                v["ca_tool_cert"].native,
            )
        except ValueError as exc:
            raise DecodeError(f"issuerSignTool: {exc}") from exc


class IdentificationKindValue(enum.IntEnum):
    """How the subscriber was identified (Order 795 as amended by Order 31)."""

    PERSONAL = 0
    REMOTE_WITH_QUALIFIED_SIGNATURE = 1
    REMOTE_WITH_PASSPORT_CHIP = 2
    REMOTE_WITH_BIOMETRICS = 3


@dataclass(frozen=True, slots=True)
class IdentificationKind(Extension):
    oid: ClassVar[Oid] = oids.RuExtension.IDENTIFICATION_KIND
    kind: IdentificationKindValue = IdentificationKindValue.PERSONAL

    def __post_init__(self) -> None:
        if not isinstance(self.kind, IdentificationKindValue):
            raise TypeError("identificationKind takes an IdentificationKindValue")

    def value_der(self) -> bytes:
        return encode_integer(int(self.kind))

    @classmethod
    def from_value_der(cls, der: bytes, critical: bool) -> IdentificationKind:
        v = _load(ru.IdentificationKind, der, "identificationKind")
        try:
            return cls(critical, IdentificationKindValue(v.native))
        except ValueError as exc:
            raise DecodeError(f"identificationKind is {v.native}, expected 0..3") from exc


KNOWN_EXTENSIONS: tuple[type[Extension], ...] = (
    BasicConstraints,
    KeyUsage,
    ExtendedKeyUsage,
    SubjectKeyIdentifier,
    AuthorityKeyIdentifier,
    CrlDistributionPoints,
    AuthorityInformationAccess,
    CertificatePolicies,
    PrivateKeyUsagePeriod,
    SubjectAlternativeName,
    SubjectSignTool,
    IssuerSignTool,
    IdentificationKind,
)
_BY_OID = {cls.oid.dotted: cls for cls in KNOWN_EXTENSIONS}


def parse_extension(dotted: str, critical: bool, value_der: bytes) -> Extension:
    """The typed extension for ``dotted`` (or :class:`UnrecognizedExtension`)."""
    cls = _BY_OID.get(dotted)
    if cls is None:
        return UnrecognizedExtension(critical, dotted, value_der, parsed=True)
    return cls.from_value_der(value_der, critical)


E = TypeVar("E", bound=Extension)


@dataclass(frozen=True, slots=True)
class Extensions:
    """An ordered set of extensions, at most one per OID (RFC 5280 §4.2)."""

    items: tuple[Extension, ...] = field(default=())

    def __post_init__(self) -> None:
        seen = [e.oid_dotted for e in self.items]
        if len(set(seen)) != len(seen):
            dup = next(d for d in seen if seen.count(d) > 1)
            raise ValueError(f"extension {oid_of(dup).name} appears more than once")

    @classmethod
    def trusted(cls, items: tuple[Extension, ...]) -> Extensions:
        """``Extensions(items)`` for a tuple whose OIDs the caller has already kept unique (the
        certificate builder refuses a second extension of an OID as it is added)."""
        new = object.__new__(cls)
        object.__setattr__(new, "items", items)
        return new

    def __iter__(self) -> Iterator[Extension]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, kind: type[E]) -> E | None:
        for e in self.items:
            if isinstance(e, kind) and e.oid_dotted == kind.oid.dotted:
                return e
        return None

    def by_oid(self, oid: Oid) -> Extension | None:
        return next((e for e in self.items if e.oid_dotted == oid.dotted), None)

    def der(self) -> bytes:
        """``Extensions`` SEQUENCE OF Extension (without the [3] wrapper)."""
        return tlv(0x30, b"".join(e.der() for e in self.items))

    @classmethod
    def from_der(cls, der: bytes) -> Extensions:
        """From the DER of ``Extensions`` (SEQUENCE OF Extension), already checked as DER."""
        tag, content = split_tlv(der)
        if tag != 0x30:
            raise DecodeError("extensions: expected a SEQUENCE")
        items = []
        for etag, _, econtent in children(content, "extension"):
            parts = children(econtent, "extension")
            if etag != 0x30 or len(parts) not in (2, 3) or parts[0][0] != 0x06:
                raise DecodeError("extension is not SEQUENCE { OID, BOOLEAN?, OCTET STRING }")
            critical = False
            if len(parts) == 3:
                if parts[1][0] != 0x01 or len(parts[1][2]) != 1:
                    raise DecodeError("extension criticality is not a BOOLEAN")
                critical = parts[1][2] != b"\x00"
            if parts[-1][0] != 0x04:
                raise DecodeError("extension value is not an OCTET STRING")
            dotted = decode_oid(parts[0][2], "extension id")
            items.append(parse_extension(dotted, critical, parts[-1][2]))
        try:
            return cls(tuple(items))
        except ValueError as exc:
            raise DecodeError(str(exc)) from exc


__all__ = [
    "AccessDescription",
    "AuthorityInformationAccess",
    "AuthorityKeyIdentifier",
    "BasicConstraints",
    "CertificatePolicies",
    "CrlDistributionPoints",
    "DirectoryName",
    "DistributionPoint",
    "DnsName",
    "ExtendedKeyUsage",
    "Extension",
    "Extensions",
    "GeneralName",
    "IdentificationKind",
    "IdentificationKindValue",
    "IpAddress",
    "IssuerSignTool",
    "KeyUsage",
    "KeyUsageBit",
    "OtherGeneralName",
    "PolicyInformation",
    "PrivateKeyUsagePeriod",
    "Rfc822Name",
    "SubjectAlternativeName",
    "SubjectKeyIdentifier",
    "SubjectSignTool",
    "UnrecognizedExtension",
    "Uri",
    "general_name_from_der",
    "key_identifier",
    "parse_extension",
]

"""Distinguished names as typed values: ordered RDNs with explicit ASN.1 string types.

A :class:`Name` keeps the exact DER it was built or parsed from, so an issuer name copied from a
CA certificate is byte-for-byte the CA's subject (RFC 5280 §4.1.2.4, name chaining §7.1).
Names carry personal data: never log them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import DecodeError
from atlas_ca.x509.der import check_der, children, decode_oid, encode_oid, split_tlv, tlv


class StringType(enum.Enum):
    """ASN.1 string types a name attribute may use; ``value`` is the universal tag number."""

    UTF8 = 12
    NUMERIC = 18
    PRINTABLE = 19
    TELETEX = 20
    IA5 = 22
    UNIVERSAL = 28
    BMP = 30


_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")
_NUMERIC = re.compile(r"[0-9 ]*")

_NUMERIC_ATTRS = frozenset(
    o.dotted
    for o in (
        oids.RuAttribute.OGRN,
        oids.RuAttribute.SNILS,
        oids.RuAttribute.INNLE,
        oids.RuAttribute.OGRNIP,
        oids.RuAttribute.INN,
    )
)

#: Short names for ``str(name)`` (RFC 4514 keys where defined, OpenSSL's otherwise).
_SHORT: dict[str, str] = {
    oids.NameAttribute.COMMON_NAME.dotted: "CN",
    oids.NameAttribute.SURNAME.dotted: "SN",
    oids.NameAttribute.SERIAL_NUMBER.dotted: "serialNumber",
    oids.NameAttribute.COUNTRY_NAME.dotted: "C",
    oids.NameAttribute.LOCALITY_NAME.dotted: "L",
    oids.NameAttribute.STATE_OR_PROVINCE_NAME.dotted: "ST",
    oids.NameAttribute.STREET_ADDRESS.dotted: "STREET",
    oids.NameAttribute.ORGANIZATION_NAME.dotted: "O",
    oids.NameAttribute.ORGANIZATIONAL_UNIT_NAME.dotted: "OU",
    oids.NameAttribute.TITLE.dotted: "title",
    oids.NameAttribute.GIVEN_NAME.dotted: "GN",
    oids.NameAttribute.EMAIL_ADDRESS.dotted: "emailAddress",
    oids.RuAttribute.OGRN.dotted: "OGRN",
    oids.RuAttribute.SNILS.dotted: "SNILS",
    oids.RuAttribute.INNLE.dotted: "INNLE",
    oids.RuAttribute.OGRNIP.dotted: "OGRNIP",
    oids.RuAttribute.INN.dotted: "INN",
}

_KNOWN: dict[str, Oid] = {o.dotted: o for o in oids.ALL}


def oid_of(dotted: str) -> Oid:
    """The declared :class:`Oid` for ``dotted``, or an ad-hoc one named by its dotted form."""
    return _KNOWN.get(dotted) or Oid(dotted, dotted)


def default_string_type(oid: Oid) -> StringType:
    """The string type we encode ``oid`` with (Order 795 and RFC 5280 Appendix A)."""
    if oid.dotted in _NUMERIC_ATTRS:
        return StringType.NUMERIC
    if oid.dotted in (
        oids.NameAttribute.COUNTRY_NAME.dotted,
        oids.NameAttribute.SERIAL_NUMBER.dotted,
    ):
        return StringType.PRINTABLE
    if oid.dotted == oids.NameAttribute.EMAIL_ADDRESS.dotted:
        return StringType.IA5
    return StringType.UTF8


_ENCODE = {
    StringType.UTF8: "utf-8",
    StringType.NUMERIC: "ascii",
    StringType.PRINTABLE: "ascii",
    StringType.TELETEX: "latin-1",
    StringType.IA5: "ascii",
    StringType.UNIVERSAL: "utf-32-be",
    StringType.BMP: "utf-16-be",
}


@dataclass(frozen=True, slots=True)
class NameAttribute:
    """One attribute type and value; the constructor checks the value fits its string type."""

    oid: Oid
    value: str
    string_type: StringType

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError("a name attribute value must be a str")
        if self.value == "":
            raise ValueError(f"{self.oid.name} must not be empty")
        if self.string_type is StringType.NUMERIC and not _NUMERIC.fullmatch(self.value):
            raise ValueError(f"{self.oid.name} is a NumericString: only digits and spaces")
        if self.string_type is StringType.PRINTABLE and not _PRINTABLE.fullmatch(self.value):
            raise ValueError(f"{self.oid.name} is a PrintableString: character outside its set")
        if self.string_type is StringType.IA5 and not self.value.isascii():
            raise ValueError(f"{self.oid.name} is an IA5String: ASCII only")
        if self.string_type is StringType.BMP and any(ord(c) > 0xFFFF for c in self.value):
            raise ValueError(f"{self.oid.name} is a BMPString: no characters beyond U+FFFF")
        if self.string_type is StringType.TELETEX and any(ord(c) > 0xFF for c in self.value):
            raise ValueError(f"{self.oid.name} is read as Latin-1 TeletexString: U+0000–U+00FF")
        if self.oid.dotted == oids.NameAttribute.COUNTRY_NAME.dotted and not re.fullmatch(
            r"[A-Z]{2}", self.value
        ):
            raise ValueError("countryName must be two capital letters (ISO 3166)")

    @classmethod
    def of(cls, oid: Oid, value: str) -> NameAttribute:
        """An attribute with the string type our profile uses for ``oid``."""
        return cls(oid, value, default_string_type(oid))

    @property
    def short_name(self) -> str:
        return _SHORT.get(self.oid.dotted, self.oid.dotted)

    def der(self) -> bytes:
        value = tlv(self.string_type.value, self.value.encode(_ENCODE[self.string_type]))
        return tlv(0x30, encode_oid(self.oid.dotted) + value)


@dataclass(frozen=True, slots=True)
class RelativeDistinguishedName:
    """A non-empty set of attributes (almost always exactly one)."""

    attributes: tuple[NameAttribute, ...]

    def __post_init__(self) -> None:
        if not self.attributes:
            raise ValueError("a relative distinguished name needs at least one attribute")
        if len(self.attributes) > 1 and len({a.oid.dotted for a in self.attributes}) != len(
            self.attributes
        ):
            raise ValueError("an attribute type repeats inside one relative distinguished name")

    def der(self) -> bytes:
        return tlv(0x31, b"".join(sorted(a.der() for a in self.attributes)))


@dataclass(frozen=True, slots=True)
class Name:
    """An X.501 Name: ordered RDNs (most significant first) and their exact DER."""

    rdns: tuple[RelativeDistinguishedName, ...]
    der: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.der:
            object.__setattr__(self, "der", tlv(0x30, b"".join(r.der() for r in self.rdns)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    @classmethod
    def build(cls, attributes: Iterable[tuple[Oid, str] | NameAttribute]) -> Name:
        """A name of single-attribute RDNs in the given order, default string types."""
        rdns = []
        for item in attributes:
            attr = item if isinstance(item, NameAttribute) else NameAttribute.of(*item)
            rdns.append(RelativeDistinguishedName((attr,)))
        return cls(tuple(rdns))

    @classmethod
    def from_der(cls, der: bytes) -> Name:
        """Parse a DER Name; the result keeps ``der`` byte-for-byte."""
        der = bytes(der)
        check_der(der, "name")
        return cls.from_checked_der(der)

    @classmethod
    def from_checked_der(cls, der: bytes) -> Name:
        """:meth:`from_der` for bytes inside a structure already checked by ``check_der``."""
        tag, content = split_tlv(der)
        if tag != 0x30:
            raise DecodeError(f"name: expected a SEQUENCE, found tag 0x{tag:02x}")
        rdns = []
        for rtag, rtlv, rcontent in children(content, "name"):
            if rtag != 0x31:
                raise DecodeError(f"name: an RDN must be a SET, found tag 0x{rtag:02x}")
            shared = _SHARED_RDNS.get(rtlv)
            if shared is not None:
                rdns.append(shared)
                continue
            attrs = []
            for atag, _, acontent in children(rcontent, "name"):
                parts = children(acontent, "name")
                if atag != 0x30 or len(parts) != 2 or parts[0][0] != 0x06:
                    raise DecodeError("name: an attribute is not SEQUENCE { OID, value }")
                oid = oid_of(decode_oid(parts[0][2], "name attribute type"))
                attrs.append(_attribute(oid, parts[1][0], parts[1][2]))
            try:
                rdn = RelativeDistinguishedName(tuple(attrs))
            except ValueError as exc:
                raise DecodeError(f"name: {exc}") from exc
            if len(attrs) == 1 and attrs[0].oid.dotted in _SHARED_TYPES:
                _remember_shared(rtlv, rdn)
            rdns.append(rdn)
        return cls(tuple(rdns), der)

    def __iter__(self) -> Iterator[NameAttribute]:
        for rdn in self.rdns:
            yield from rdn.attributes

    def get(self, oid: Oid) -> tuple[str, ...]:
        """The values of every attribute of type ``oid``, in order."""
        return tuple(a.value for a in self if a.oid.dotted == oid.dotted)

    def __str__(self) -> str:
        return self.rfc4514()

    def rfc4514(self, render: Callable[[NameAttribute], str] | None = None) -> str:
        """RFC 4514-like: least significant RDN first, ``+`` joins multi-valued RDNs.

        ``render`` replaces each attribute's value in the output (the CLI masks a person's
        СНИЛС and ИНН with it, R21); the default prints the value as it is.
        """
        show = render or (lambda a: a.value)
        return ",".join(
            "+".join(f"{a.short_name}={_escape(show(a))}" for a in rdn.attributes)
            for rdn in reversed(self.rdns)
        )

    def __repr__(self) -> str:
        return f"Name({len(self.rdns)} RDNs)"


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


#: tag -> (type, codec) in one look-up keyed by an int (an enum's hash is a Python call)
_DECODING = {t.value: (t, _ENCODE[t]) for t in StringType}

#: Attribute types whose values many subscribers share (country, region, locality,
#: organisation): a parsed single-attribute RDN of one of them is kept by its exact DER, so the
#: next request from the same region skips its decoding (issue 17). Personal attributes
#: (names, СНИЛС, ИНН, e-mail) are never kept: they differ per subscriber and are personal data.
_SHARED_TYPES = frozenset(
    o.dotted
    for o in (
        oids.NameAttribute.COUNTRY_NAME,
        oids.NameAttribute.STATE_OR_PROVINCE_NAME,
        oids.NameAttribute.LOCALITY_NAME,
        oids.NameAttribute.ORGANIZATION_NAME,
        oids.NameAttribute.ORGANIZATIONAL_UNIT_NAME,
    )
)
_SHARED_MAX = 256
_SHARED_RDNS: dict[bytes, RelativeDistinguishedName] = {}


def _remember_shared(der: bytes, rdn: RelativeDistinguishedName) -> None:
    # RDNs are immutable values, so sharing one between names is safe. Bounded: when full, the
    # oldest half goes (dict order is insertion order; a race only drops entries early).
    if len(_SHARED_RDNS) >= _SHARED_MAX:
        for key in list(_SHARED_RDNS)[: _SHARED_MAX // 2]:
            _SHARED_RDNS.pop(key, None)
    _SHARED_RDNS[der] = rdn


def _attribute(oid: Oid, tag: int, content: bytes) -> NameAttribute:
    known = _DECODING.get(tag)
    if known is None:
        raise DecodeError(f"name attribute {oid.name} does not hold a string value")
    stype, encoding = known
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(f"name attribute {oid.name} is not valid {stype.name}") from exc
    try:
        return NameAttribute(oid, text, stype)
    except ValueError as exc:
        raise DecodeError(f"name attribute {oid.name}: {exc}") from exc


__all__ = [
    "Name",
    "NameAttribute",
    "RelativeDistinguishedName",
    "StringType",
    "default_string_type",
    "oid_of",
]

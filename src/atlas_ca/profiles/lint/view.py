"""A tolerant, read-only view of a certificate (or a bare TBSCertificate) for the linter.

The x509 layer's parsers refuse what is wrong; a linter must instead *see* what is wrong and
report it. This view keeps every subject attribute with its raw string tag, every extension
(duplicates included) with its raw value, and the raw encodings of the validity times. Values
that cannot be decoded at all make :func:`view_of` raise :class:`~atlas_ca.errors.DecodeError`
(the CLI's "unreadable", exit 2). asn1crypto stays inside this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import core, x509

from atlas_ca.asn1 import specs
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import DecodeError
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.der import check_der
from atlas_ca.x509.names import oid_of

UTC_TIME = 23
GENERALIZED_TIME = 24

_DECODE = {
    12: "utf-8",
    18: "ascii",
    19: "ascii",
    20: "latin-1",
    22: "ascii",
    28: "utf-32-be",
    30: "utf-16-be",
}

STRING_TAG_NAMES = {
    12: "UTF8String",
    18: "NumericString",
    19: "PrintableString",
    20: "TeletexString",
    22: "IA5String",
    28: "UniversalString",
    30: "BMPString",
}


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a name as encoded: OID, universal tag, decoded text (None if not)."""

    oid: Oid
    tag: int
    text: str | None
    raw: bytes
    path: str

    @property
    def tag_name(self) -> str:
        return STRING_TAG_NAMES.get(self.tag, f"tag {self.tag}")


@dataclass(frozen=True, slots=True)
class Ext:
    """One extension as encoded: OID, criticality, the content of extnValue."""

    oid: Oid
    critical: bool
    value: bytes
    path: str

    def parsed(self) -> x509ext.Extension:
        """The typed extension of :mod:`atlas_ca.x509.extensions` (DecodeError if malformed)."""
        return x509ext.parse_extension(self.oid.dotted, self.critical, self.value)


@dataclass(frozen=True, slots=True)
class CertView:
    """What the lints read. ``outer_signature_oid`` is None for a bare TBSCertificate."""

    der: bytes
    der_problem: str | None
    version: int
    serial: int
    serial_octets: bytes
    tbs_signature_oid: str
    outer_signature_oid: str | None
    issuer: tuple[Attr, ...]
    issuer_der: bytes
    subject: tuple[Attr, ...]
    subject_der: bytes
    not_before: dt.datetime
    not_before_tag: int
    not_before_raw: bytes
    not_after: dt.datetime
    not_after_tag: int
    not_after_raw: bytes
    spki_der: bytes
    spki_algorithm: str
    extensions_present: bool
    extensions: tuple[Ext, ...]

    @property
    def is_tbs(self) -> bool:
        return self.outer_signature_oid is None

    @property
    def self_issued(self) -> bool:
        return self.issuer_der == self.subject_der

    def ext(self, oid: Oid) -> Ext | None:
        return next((e for e in self.extensions if e.oid.dotted == oid.dotted), None)

    def attrs(self, oid: Oid) -> tuple[Attr, ...]:
        return tuple(a for a in self.subject if a.oid.dotted == oid.dotted)

    def attr_text(self, oid: Oid) -> str | None:
        found = self.attrs(oid)
        return found[0].text if found else None


class _Atv(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any)]  # noqa: RUF012


class _Rdn(core.SetOf):  # type: ignore[misc]
    _child_spec = _Atv


class _Name(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _Rdn


class _RawExt(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class _RawExts(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _RawExt


class _AlgId(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _Tbs(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("version", x509.Version, {"explicit": 0, "default": "v1"}),
        ("serial_number", core.Integer),
        ("signature", _AlgId),
        ("issuer", core.Any),
        ("validity", x509.Validity),
        ("subject", core.Any),
        ("subject_public_key_info", core.Any),
        ("issuer_unique_id", core.OctetBitString, {"implicit": 1, "optional": True}),
        ("subject_unique_id", core.OctetBitString, {"implicit": 2, "optional": True}),
        ("extensions", _RawExts, {"explicit": 3, "optional": True}),
    ]


class _Cert(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("tbs_certificate", _Tbs),
        ("signature_algorithm", _AlgId),
        ("signature_value", core.OctetBitString),
    ]


def _content_of(tlv_bytes: bytes) -> bytes:
    """The content octets of one TLV with a single-octet tag."""
    lb = tlv_bytes[1]
    start = 2 if lb < 0x80 else 2 + (lb & 0x7F)
    return tlv_bytes[start:]


def _name(der: bytes, where: str) -> tuple[Attr, ...]:
    out: list[Attr] = []
    for i, rdn in enumerate(_Name.load(der)):
        for j, atv in enumerate(rdn):
            oid = oid_of(atv["type"].dotted)
            value = atv["value"]
            tlv_bytes = bytes(value.dump())
            raw = _content_of(tlv_bytes)
            text: str | None = None
            tag = tlv_bytes[0] & 0x1F if tlv_bytes[0] >> 6 == 0 else -1
            if tag in _DECODE:
                try:
                    text = raw.decode(_DECODE[tag])
                except UnicodeDecodeError:
                    text = None
            path = f"{where}.rdn[{i}]" + (f"[{j}]" if len(rdn) > 1 else "") + f".{oid.name}"
            out.append(Attr(oid, tag, text, raw, path))
    return tuple(out)


def _time(value: x509.Time, what: str) -> tuple[dt.datetime, int, bytes]:
    chosen = value.chosen
    tag = UTC_TIME if value.name == "utc_time" else GENERALIZED_TIME
    try:
        when = chosen.native
    except ValueError as exc:
        raise DecodeError(f"{what} is not a valid time: {exc}") from exc
    if not isinstance(when, dt.datetime):
        raise DecodeError(f"{what} is not a valid time")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when, tag, bytes(chosen.contents)


def _spki_algorithm(spki_der: bytes) -> str:
    """The algorithm OID of a SubjectPublicKeyInfo, read without knowing its parameters."""
    seq = _SpkiRaw.load(spki_der)
    return str(seq["algorithm"]["algorithm"].dotted)


class _SpkiRaw(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", _AlgId), ("public_key", core.OctetBitString)]  # noqa: RUF012


def _first_inner_tag(der: bytes) -> int:
    """The tag byte of the first element inside the outer SEQUENCE."""
    lb = der[1]
    offset = 2 if lb < 0x80 else 2 + (lb & 0x7F)
    if offset >= len(der):
        raise DecodeError("not a DER certificate (empty outer SEQUENCE)")
    return der[offset]


def view_of(der: bytes) -> CertView:
    """Parse a DER Certificate or TBSCertificate into a :class:`CertView`."""
    specs.register()
    der = bytes(der)
    if len(der) < 4 or der[0] != 0x30:
        raise DecodeError("not a DER certificate (no outer SEQUENCE)")
    problem: str | None = None
    try:
        check_der(der, "certificate")
    except DecodeError as exc:
        problem = str(exc)
    try:
        if _first_inner_tag(der) == 0x30:
            cert = _Cert.load(der)
            tbs = cert["tbs_certificate"]
            outer_sig: str | None = cert["signature_algorithm"]["algorithm"].dotted
        else:
            tbs = _Tbs.load(der)
            outer_sig = None
        version = int(tbs["version"].native[1:]) - 1
        serial_int = tbs["serial_number"]
        serial = int(serial_int.native)
        serial_octets = bytes(serial_int.contents)
        sig = tbs["signature"]["algorithm"].dotted
        issuer_der = bytes(tbs["issuer"].dump())
        subject_der = bytes(tbs["subject"].dump())
        issuer = _name(issuer_der, "issuer")
        subject = _name(subject_der, "subject")
        nb, nb_tag, nb_raw = _time(tbs["validity"]["not_before"], "notBefore")
        na, na_tag, na_raw = _time(tbs["validity"]["not_after"], "notAfter")
        spki = tbs["subject_public_key_info"]
        spki_der = bytes(spki.dump())
        spki_alg = _spki_algorithm(spki_der)
        raw_exts = tbs["extensions"]
        present = not isinstance(raw_exts, core.Void)
        exts: list[Ext] = []
        if present:
            for i, ext in enumerate(raw_exts):
                oid = oid_of(ext["extn_id"].dotted)
                exts.append(
                    Ext(
                        oid,
                        bool(ext["critical"].native),
                        bytes(ext["extn_value"].contents),
                        f"extensions[{i}].{oid.name}",
                    )
                )
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise DecodeError(f"not a readable X.509 certificate: {exc}") from exc
    return CertView(
        der=der,
        der_problem=problem,
        version=version,
        serial=serial,
        serial_octets=serial_octets,
        tbs_signature_oid=sig,
        outer_signature_oid=outer_sig,
        issuer=issuer,
        issuer_der=issuer_der,
        subject=subject,
        subject_der=subject_der,
        not_before=nb,
        not_before_tag=nb_tag,
        not_before_raw=nb_raw,
        not_after=na,
        not_after_tag=na_tag,
        not_after_raw=na_raw,
        spki_der=spki_der,
        spki_algorithm=spki_alg,
        extensions_present=present,
        extensions=tuple(exts),
    )


__all__ = ["GENERALIZED_TIME", "STRING_TAG_NAMES", "UTC_TIME", "Attr", "CertView", "Ext", "view_of"]

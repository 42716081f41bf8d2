"""A tolerant, read-only view of a certificate (or a bare TBSCertificate) for the linter.

The x509 layer's parsers refuse what is wrong; a linter must instead *see* what is wrong and
report it. This view keeps every subject attribute with its raw string tag, every extension
(duplicates included) with its raw value, and the raw encodings of the validity times. Values
that cannot be decoded at all make :func:`view_of` raise :class:`~atlas_ca.errors.DecodeError`
(the CLI's "unreadable", exit 2). asn1crypto stays inside this module.

Two readers, one view (issue 17). The pre-issuance lint views every TBS the CA is about to
sign, and asn1crypto's object-per-field parse was ≈ 0.9 ms of each issuance. A value that is DER
(:func:`~atlas_ca.x509.der.check_der` passes) and has exactly the shape X.509 gives it — the
shape our own TBSs and nearly every real certificate have — is read by slicing its bytes with
the strict walker of :mod:`atlas_ca.x509.der` (:func:`_fast_view`); anything else — not DER,
unique identifiers, an odd tag, a time outside the RFC 5280 DER forms, a version beyond v3 —
goes to the asn1crypto reader (:func:`_full_view`), which decides as it always has. The fast
reader never decides anything: it returns ``None`` to hand over, so it cannot accept what the
full one refuses; tests/profiles/test_lint_fast_view.py checks the two views are equal over the
test corpus and mutated TBSs.

Typed extensions (:meth:`Ext.parsed`) are parsed once per distinct ``(OID, critical, value)``
and kept in a small LRU cache: the parse is a pure function of exactly those bytes and its
results are frozen values, and most extensions of a profile (keyUsage, policies, the issuer's
tools, AKI, CDP, AIA) are byte-identical across the certificates a CA issues. Only successful
parses are cached; a malformed value is parsed (and refused) every time.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from asn1crypto import core, x509

from atlas_ca.asn1 import specs
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import DecodeError
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.der import (
    BIT_STRING,
    BOOLEAN,
    INTEGER,
    OCTET_STRING,
    OID,
    SEQUENCE,
    SET,
    check_der,
    children,
    decode_integer,
    decode_oid,
    read_time,
    split_tlv,
)
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
        if len(self.value) <= _CACHED_VALUE_BYTES:
            return _parsed(self.oid.dotted, self.critical, self.value)
        return x509ext.parse_extension(self.oid.dotted, self.critical, self.value)


#: Extension values up to this size are cached parsed (module docstring); larger ones are rare
#: and would make the cache's memory unbounded in practice.
_CACHED_VALUE_BYTES = 2048


@functools.lru_cache(maxsize=512)
def _parsed(dotted: str, critical: bool, value: bytes) -> x509ext.Extension:
    # lru_cache keeps only returned values: a DecodeError is raised again on every call
    return x509ext.parse_extension(dotted, critical, value)


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
    # Issue 17: the lints ask for an extension or a subject attribute by OID about fifty times
    # per certificate; both are indexed once (the first extension of an OID, as a scan found
    # it; the attributes of an OID in subject order). Not compared.
    _ext_by: dict[str, Ext] = field(init=False, repr=False, compare=False)
    _attrs_by: dict[str, tuple[Attr, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ext_by: dict[str, Ext] = {}
        for e in self.extensions:
            ext_by.setdefault(e.oid.dotted, e)
        attrs_by: dict[str, tuple[Attr, ...]] = {}
        for a in self.subject:
            attrs_by[a.oid.dotted] = (*attrs_by.get(a.oid.dotted, ()), a)
        object.__setattr__(self, "_ext_by", ext_by)
        object.__setattr__(self, "_attrs_by", attrs_by)

    @property
    def is_tbs(self) -> bool:
        return self.outer_signature_oid is None

    @property
    def self_issued(self) -> bool:
        return self.issuer_der == self.subject_der

    def ext(self, oid: Oid) -> Ext | None:
        return self._ext_by.get(oid.dotted)

    def attrs(self, oid: Oid) -> tuple[Attr, ...]:
        return self._attrs_by.get(oid.dotted, ())

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


def _attr(oid: Oid, first: int, raw: bytes, where: str, i: int, j: int, in_rdn: int) -> Attr:
    """One attribute of a name as both readers give it: its string tag (``-1`` for a
    non-universal class), its text when the tag's codec decodes it, and its path."""
    tag = first & 0x1F if first >> 6 == 0 else -1
    text: str | None = None
    if tag in _DECODE:
        try:
            text = raw.decode(_DECODE[tag])
        except UnicodeDecodeError:
            text = None
    path = f"{where}.rdn[{i}]" + (f"[{j}]" if in_rdn > 1 else "") + f".{oid.name}"
    return Attr(oid, tag, text, raw, path)


def _name(der: bytes, where: str) -> tuple[Attr, ...]:
    out: list[Attr] = []
    for i, rdn in enumerate(_Name.load(der)):
        for j, atv in enumerate(rdn):
            oid = oid_of(atv["type"].dotted)
            value = atv["value"]
            tlv_bytes = bytes(value.dump())
            out.append(_attr(oid, tlv_bytes[0], _content_of(tlv_bytes), where, i, j, len(rdn)))
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
    der = bytes(der)
    if len(der) < 4 or der[0] != 0x30:
        raise DecodeError("not a DER certificate (no outer SEQUENCE)")
    problem: str | None = None
    try:
        check_der(der, "certificate")
    except DecodeError as exc:
        problem = str(exc)
    if problem is None:
        view = _fast_view(der)
        if view is not None:
            return view
    return _full_view(der, problem)


# --- the fast reader: plain DER of the X.509 shape, by slicing (module docstring) -------------

_TIME_TAGS = frozenset({UTC_TIME, GENERALIZED_TIME})
_VERSIONS = frozenset({0, 1, 2})


def _fast_view(der: bytes) -> CertView | None:
    """The view of ``der`` (already checked as DER), or None to let :func:`_full_view` read it."""
    try:
        return _fast(der)
    except (DecodeError, ValueError, IndexError):
        return None


def _alg_oid(content: bytes) -> str | None:
    """The OID of an AlgorithmIdentifier's content (OID, optional parameters of any type)."""
    parts = children(content, "AlgorithmIdentifier")
    if not 1 <= len(parts) <= 2 or parts[0][0] != OID:
        return None
    return decode_oid(parts[0][2], "algorithm")


def _fast_name(content: bytes, where: str) -> tuple[Attr, ...] | None:
    out: list[Attr] = []
    for i, (tag, _, rdn_content) in enumerate(children(content, where)):
        if tag != SET:
            return None
        atvs = children(rdn_content, where)
        if not atvs:
            return None
        for j, (atv_tag, _, atv_content) in enumerate(atvs):
            if atv_tag != SEQUENCE:
                return None
            pair = children(atv_content, where)
            if len(pair) != 2 or pair[0][0] != OID:
                return None
            oid = oid_of(decode_oid(pair[0][2], where))
            first, _, raw = pair[1]
            out.append(_attr(oid, first, raw, where, i, j, len(atvs)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _fast_issuer(content: bytes) -> tuple[Attr, ...] | None:
    """:func:`_fast_name` of an issuer, kept by its exact bytes: a CA issues every certificate
    under the same name (issue 17: ≈ 50 µs per linted TBS). A pure function of the bytes; the
    value is frozen; a DecodeError is raised again on every call."""
    return _fast_name(content, "issuer")


def _fast_extensions(content: bytes) -> tuple[Ext, ...] | None:
    wrapped = children(content, "extensions")
    if len(wrapped) != 1 or wrapped[0][0] != SEQUENCE:
        return None
    out: list[Ext] = []
    for i, (tag, _, ext_content) in enumerate(children(wrapped[0][2], "extensions")):
        if tag != SEQUENCE:
            return None
        parts = children(ext_content, "extension")
        if len(parts) == 3 and parts[1][0] == BOOLEAN:
            critical = parts[1][2] == b"\xff"
            value = parts[2]
        elif len(parts) == 2:
            critical = False
            value = parts[1]
        else:
            return None
        if parts[0][0] != OID or value[0] != OCTET_STRING:
            return None
        oid = oid_of(decode_oid(parts[0][2], "extnID"))
        out.append(Ext(oid, critical, value[2], f"extensions[{i}].{oid.name}"))
    return tuple(out)


def _fast(der: bytes) -> CertView | None:
    _, outer = split_tlv(der)
    top = children(outer, "certificate")
    outer_sig: str | None = None
    if top and top[0][0] == SEQUENCE:  # a Certificate (see _first_inner_tag)
        if len(top) != 3 or top[1][0] != SEQUENCE or top[2][0] != BIT_STRING:
            return None
        outer_sig = _alg_oid(top[1][2])
        if outer_sig is None:
            return None
        fields = children(top[0][2], "tbsCertificate")
    else:
        fields = top
    version = 0
    if fields and fields[0][0] == 0xA0:
        inner = children(fields[0][2], "version")
        if len(inner) != 1 or inner[0][0] != INTEGER:
            return None
        version = decode_integer(inner[0][2], "version")
        if version not in _VERSIONS:
            return None
        fields = fields[1:]
    if len(fields) not in (6, 7):
        return None
    serial_f, sig_f, issuer_f, validity_f, subject_f, spki_f = fields[:6]
    if (serial_f[0], sig_f[0], issuer_f[0], validity_f[0], subject_f[0], spki_f[0]) != (
        INTEGER,
        SEQUENCE,
        SEQUENCE,
        SEQUENCE,
        SEQUENCE,
        SEQUENCE,
    ):
        return None
    exts: tuple[Ext, ...] = ()
    present = len(fields) == 7
    if present:
        if fields[6][0] != 0xA3:
            return None
        found = _fast_extensions(fields[6][2])
        if found is None:
            return None
        exts = found
    sig = _alg_oid(sig_f[2])
    issuer = (
        _fast_issuer(issuer_f[2])
        if len(issuer_f[2]) <= _CACHED_VALUE_BYTES
        else _fast_name(issuer_f[2], "issuer")
    )
    subject = _fast_name(subject_f[2], "subject")
    times = children(validity_f[2], "validity")
    spki = children(spki_f[2], "subjectPublicKeyInfo")
    if (
        sig is None
        or issuer is None
        or subject is None
        or len(times) != 2
        or times[0][0] not in _TIME_TAGS
        or times[1][0] not in _TIME_TAGS
        or len(spki) != 2
        or spki[0][0] != SEQUENCE
        or spki[1][0] != BIT_STRING
    ):
        return None
    spki_alg = _alg_oid(spki[0][2])
    if spki_alg is None:
        return None
    (nb_tag, _, nb_raw), (na_tag, _, na_raw) = times
    return CertView(
        der=der,
        der_problem=None,
        version=version,
        serial=decode_integer(serial_f[2], "serialNumber"),
        serial_octets=serial_f[2],
        tbs_signature_oid=sig,
        outer_signature_oid=outer_sig,
        issuer=issuer,
        issuer_der=issuer_f[1],
        subject=subject,
        subject_der=subject_f[1],
        not_before=read_time(nb_raw, nb_tag, 0, len(nb_raw), "notBefore"),
        not_before_tag=nb_tag,
        not_before_raw=nb_raw,
        not_after=read_time(na_raw, na_tag, 0, len(na_raw), "notAfter"),
        not_after_tag=na_tag,
        not_after_raw=na_raw,
        spki_der=spki_f[1],
        spki_algorithm=spki_alg,
        extensions_present=present,
        extensions=exts,
    )


# --- the full reader: asn1crypto, for everything else ----------------------------------------


def _full_view(der: bytes, problem: str | None) -> CertView:
    """The view through asn1crypto; ``problem`` is why ``der`` is not DER (None if it is)."""
    specs.register()
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

"""DER surgery for the lint tests: break exactly one thing in an otherwise clean TBS.

A TBSCertificate's children (version, serial, signature, issuer, validity, subject, spki,
[3] extensions) are kept as raw TLVs so one can be swapped without re-encoding the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import core

from atlas_ca.asn1.oids import Oid
from atlas_ca.x509.der import tlv

VERSION, SERIAL, SIGNATURE, ISSUER, VALIDITY, SUBJECT, SPKI, EXTENSIONS = range(8)


def children(der: bytes) -> list[bytes]:
    """The TLVs inside one constructed TLV."""
    lb = der[1]
    pos = 2 if lb < 0x80 else 2 + (lb & 0x7F)
    out = []
    while pos < len(der):
        start = pos
        lb = der[pos + 1]
        if lb < 0x80:
            hdr, length = 2, lb
        else:
            n = lb & 0x7F
            hdr, length = 2 + n, int.from_bytes(der[pos + 2 : pos + 2 + n], "big")
        pos += hdr + length
        out.append(der[start:pos])
    return out


def with_child(der: bytes, index: int, new: bytes) -> bytes:
    parts = children(der)
    parts[index] = new
    return tlv(der[0], b"".join(parts))


def extensions_of(tbs: bytes) -> list[bytes]:
    wrapper = children(tbs)[EXTENSIONS]
    return children(children(wrapper)[0])


def with_extensions(tbs: bytes, exts: list[bytes]) -> bytes:
    return with_child(tbs, EXTENSIONS, tlv(0xA3, tlv(0x30, b"".join(exts))))


def raw_extension(oid: Oid, value: bytes, critical: bool = False) -> bytes:
    crit = b"\x01\x01\xff" if critical else b""
    return tlv(0x30, core.ObjectIdentifier(oid.dotted).dump() + crit + tlv(0x04, value))


def raw_name(*attrs: tuple[Oid, int, bytes]) -> bytes:
    """A Name of single-attribute RDNs with explicit universal tags and raw contents."""
    return tlv(
        0x30,
        b"".join(
            tlv(0x31, tlv(0x30, core.ObjectIdentifier(oid.dotted).dump() + tlv(tag, value)))
            for oid, tag, value in attrs
        ),
    )


def name_attrs(name_der: bytes) -> list[tuple[Oid, int, bytes]]:
    """The (oid, tag, content) triples of a Name of single-attribute RDNs."""
    out = []
    for rdn in children(name_der):
        atv = children(rdn)[0]
        oid_tlv, value = children(atv)
        dotted = core.ObjectIdentifier.load(oid_tlv).dotted
        out.append((Oid(dotted, dotted), value[0], children_content(value)))
    return out


def children_content(tlv_bytes: bytes) -> bytes:
    lb = tlv_bytes[1]
    return tlv_bytes[2:] if lb < 0x80 else tlv_bytes[2 + (lb & 0x7F) :]


Attrs = list[tuple[Oid, int, bytes]]


def edit_subject(tbs: bytes, edit: Callable[[Attrs], Attrs]) -> bytes:
    attrs = name_attrs(children(tbs)[SUBJECT])
    return with_child(tbs, SUBJECT, raw_name(*edit(attrs)))

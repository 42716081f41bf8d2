"""A few DER (ITU-T X.690 §10) encoders for the hot path of the OCSP responder.

:func:`atlas_ca.status.ocsp.build_response` splices a response from pieces encoded here (and
pieces encoded once, such as OIDs and the signer certificate) instead of building asn1crypto
objects per response. Only what a BasicOCSPResponse needs: definite lengths, primitive and
constructed TLVs, non-negative INTEGERs, OIDs (through asn1crypto, once per OID), UTC
GeneralizedTime with whole seconds (RFC 5280 §4.1.2.5.2, RFC 6960 §4.2.2.1).
"""

from __future__ import annotations

import datetime as dt
import functools

from asn1crypto import core

__all__ = [
    "NotSimple",
    "bit_string",
    "explicit",
    "generalized_time",
    "integer",
    "octet_string",
    "oid",
    "read_tlv",
    "sequence",
    "tlv",
]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a one-octet identifier ``tag`` (class, constructed bit and number < 31)."""
    return bytes((tag,)) + _length(len(content)) + content


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def explicit(number: int, content: bytes) -> bytes:
    """``[number] EXPLICIT`` around an encoded value (context-specific, constructed)."""
    return tlv(0xA0 | number, content)


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def bit_string(value: bytes) -> bytes:
    """A BIT STRING of whole octets (no unused bits)."""
    return tlv(0x03, b"\x00" + value)


def integer(value: int) -> bytes:
    """A non-negative INTEGER in its minimal two's-complement form."""
    if value < 0:
        raise ValueError("only non-negative INTEGERs are encoded here")
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


@functools.lru_cache(maxsize=64)
def oid(dotted: str) -> bytes:
    encoded: bytes = core.ObjectIdentifier(dotted).dump()
    return encoded


def generalized_time(at: dt.datetime) -> bytes:
    """GeneralizedTime ``YYYYMMDDHHMMSSZ`` of an aware datetime (UTC, whole seconds)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("DER times must be timezone-aware")
    utc = at.astimezone(dt.UTC)
    if utc.microsecond:
        raise ValueError("DER GeneralizedTime here carries whole seconds")
    return tlv(0x18, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


# --- reading ----------------------------------------------------------------------------------


class NotSimple(Exception):
    """The input is not in the plain DER shape the fast reader takes: let a full parser judge."""


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the TLV at ``pos``; :class:`NotSimple` for
    anything but a one-octet tag and a minimal definite length inside ``end``."""
    if pos + 2 > end:
        raise NotSimple
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise NotSimple
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end or data[pos] == 0:
            raise NotSimple
        length = int.from_bytes(data[pos : pos + n], "big")
        if length < 0x80 or (n > 1 and length < 1 << (8 * (n - 1))):
            raise NotSimple
        pos += n
    if pos + length > end:
        raise NotSimple
    return tag, pos, pos + length

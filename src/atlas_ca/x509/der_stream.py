"""A small hand-written DER encoder and walker for the streaming CRL paths.

Why not asn1crypto here: a CRL of 1,000,000 entries decoded or built with asn1crypto means
several million Python objects (each entry is a ``RevokedCertificate`` with an ``Integer``, a
``Time``, an ``Extensions`` list of ``Extension`` objects ...), gigabytes of memory and
seconds per hundred thousand entries; the CRL memory goal (half of ``openssl ca -gencrl``'s
peak RSS, see ``docs/performance.md``) cannot be met that way. This module encodes an entry
straight to bytes with a handful of ``bytes`` operations, and walks DER by offsets into one
``bytes`` object, so a parsed CRL keeps its entries as the bytes they arrived in.

Only what CRLs need is here: single-octet tags, definite minimal lengths (DER, X.690 §10.1),
INTEGER, ENUMERATED, BOOLEAN, OBJECT IDENTIFIER, OCTET/BIT STRING, UTCTime/GeneralizedTime
(RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always UTC, whole
seconds). The walker raises :class:`~atlas_ca.errors.DecodeError` and nothing else on bad
input.
"""

from __future__ import annotations

from datetime import UTC, datetime

from atlas_ca.errors import DecodeError

# Universal tags (X.690 §8) and the context tags the CRL uses.
BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
ENUMERATED = 0x0A
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31


def context(number: int, *, constructed: bool) -> int:
    """The single-octet tag of ``[number]`` (0–30) with the given form."""
    if not 0 <= number <= 30:
        raise ValueError(f"context tag number {number} needs the high-tag-number form")
    return 0x80 | (0x20 if constructed else 0) | number


# --- encoding --------------------------------------------------------------------------------


def length_octets(n: int) -> bytes:
    """The DER length octets of a content of ``n`` bytes (short form below 128)."""
    if n < 0x80:
        return bytes((n,))
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(size),)) + size


def header(tag: int, length: int) -> bytes:
    """Tag and length octets of a TLV whose content (``length`` bytes) is written separately."""
    if length < 0x80:
        return bytes((tag, length))
    return bytes((tag,)) + length_octets(length)


def tlv(tag: int, content: bytes) -> bytes:
    """One complete TLV."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + length_octets(n) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer_content(value: int) -> bytes:
    """Minimal two's-complement content octets of an INTEGER (X.690 §8.3)."""
    if value >= 0:
        return value.to_bytes(value.bit_length() // 8 + 1, "big")
    return value.to_bytes((value + 1).bit_length() // 8 + 1, "big", signed=True)


def integer(value: int) -> bytes:
    return tlv(INTEGER, integer_content(value))


def enumerated(value: int) -> bytes:
    return tlv(ENUMERATED, integer_content(value))


def boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    if not 0 <= unused_bits <= 7 or (unused_bits and not value):
        raise ValueError(f"a BIT STRING cannot have {unused_bits} unused bits here")
    return tlv(BIT_STRING, bytes((unused_bits,)) + value)


def oid(dotted: str) -> bytes:
    """The OBJECT IDENTIFIER TLV of a dotted string (X.690 §8.19)."""
    try:
        arcs = [int(a) for a in dotted.split(".")]
    except ValueError:
        raise ValueError(f"{dotted!r} is not a dotted object identifier") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise ValueError(f"{dotted!r} is not a valid object identifier")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(OID, bytes(out))


def time(moment: datetime) -> bytes:
    """RFC 5280 §4.1.2.5 Time of an aware ``moment``: UTCTime to 2049, GeneralizedTime after.

    Fractions of a second are dropped (RFC 5280 forbids them in both forms).
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC time; pass an aware datetime")
    t = moment.astimezone(UTC)
    if 1950 <= t.year <= 2049:
        text = (
            f"{t.year % 100:02d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}Z"
        )
        return b"\x17\x0d" + text.encode("ascii")
    return generalized_time(t)


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime ``YYYYMMDDHHMMSSZ`` of an aware ``moment`` (RFC 5280 §4.1.2.5.2)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC time; pass an aware datetime")
    t = moment.astimezone(UTC)
    text = f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}Z"
    return b"\x18\x0f" + text.encode("ascii")


# --- walking ---------------------------------------------------------------------------------


def read_header(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int, int]:
    """Read the TLV at ``pos`` (which must end by ``limit``): ``(tag, content_start, end)``.

    Refuses high tag numbers, indefinite and non-minimal lengths, and values running past
    ``limit``.
    """
    if pos >= limit:
        raise DecodeError(f"{what}: truncated, expected a value at offset {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError(f"{what}: high tag number at offset {pos} is not used in a CRL")
    if pos + 1 >= limit:
        raise DecodeError(f"{what}: truncated, no length at offset {pos + 1}")
    lb = data[pos + 1]
    start = pos + 2
    if lb & 0x80:
        n = lb & 0x7F
        if n == 0:
            raise DecodeError(f"{what}: indefinite length at offset {pos} (BER, not DER)")
        if n > 4:
            raise DecodeError(f"{what}: length of {n} octets at offset {pos} is too large")
        if start + n > limit:
            raise DecodeError(f"{what}: truncated length at offset {pos}")
        length = int.from_bytes(data[start : start + n], "big")
        if data[start] == 0 or length < 0x80:
            raise DecodeError(f"{what}: non-minimal length at offset {pos} (not DER)")
        start += n
    else:
        length = lb
    end = start + length
    if end > limit:
        raise DecodeError(
            f"{what}: value at offset {pos} declares {length} bytes, only {limit - start} remain"
        )
    return tag, start, end


def expect(data: bytes, pos: int, limit: int, tag: int, what: str) -> tuple[int, int]:
    """Read the TLV at ``pos`` and require ``tag``: ``(content_start, end)``."""
    got, start, end = read_header(data, pos, limit, what)
    if got != tag:
        raise DecodeError(f"{what}: expected tag 0x{tag:02x} at offset {pos}, found 0x{got:02x}")
    return start, end


def children(data: bytes, start: int, end: int, what: str) -> list[tuple[int, int, int, int]]:
    """The TLVs filling ``data[start:end]`` exactly: ``(tag, tlv_start, content_start, end)``."""
    out = []
    pos = start
    while pos < end:
        tag, cs, ce = read_header(data, pos, end, what)
        out.append((tag, pos, cs, ce))
        pos = ce
    return out


def decode_integer(data: bytes, start: int, end: int, what: str) -> int:
    """An INTEGER/ENUMERATED content, refusing empty and non-minimal encodings."""
    if start >= end:
        raise DecodeError(f"{what}: empty INTEGER")
    if end - start > 1 and (
        (data[start] == 0 and not data[start + 1] & 0x80)
        or (data[start] == 0xFF and data[start + 1] & 0x80)
    ):
        raise DecodeError(f"{what}: non-minimal INTEGER encoding (not DER)")
    return int.from_bytes(data[start:end], "big", signed=True)


def decode_boolean(data: bytes, start: int, end: int, what: str) -> bool:
    if end - start != 1 or data[start] not in (0x00, 0xFF):
        raise DecodeError(f"{what}: BOOLEAN must be one octet 0x00 or 0xFF in DER")
    return data[start] == 0xFF


def decode_oid(data: bytes, start: int, end: int, what: str) -> str:
    """The dotted form of an OBJECT IDENTIFIER content."""
    if start >= end:
        raise DecodeError(f"{what}: empty OBJECT IDENTIFIER")
    if data[end - 1] & 0x80:
        raise DecodeError(f"{what}: OBJECT IDENTIFIER ends inside an arc")
    arcs: list[int] = []
    value = 0
    fresh = True
    for b in data[start:end]:
        if fresh and b == 0x80:
            raise DecodeError(f"{what}: OBJECT IDENTIFIER arc with a leading 0x80 (not DER)")
        value = (value << 7) | (b & 0x7F)
        fresh = not b & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def decode_time(data: bytes, tag: int, start: int, end: int, what: str) -> datetime:
    """A UTCTime or GeneralizedTime in the RFC 5280 DER form (``Z``, whole seconds)."""
    raw = data[start:end]
    if tag == UTC_TIME:
        if len(raw) != 13:
            raise DecodeError(f"{what}: UTCTime must be YYMMDDHHMMSSZ, got {len(raw)} octets")
        digits = raw[:12]
    elif tag == GENERALIZED_TIME:
        if len(raw) != 15:
            raise DecodeError(
                f"{what}: GeneralizedTime must be YYYYMMDDHHMMSSZ, got {len(raw)} octets"
            )
        digits = raw[:14]
    else:
        raise DecodeError(f"{what}: expected UTCTime or GeneralizedTime, found tag 0x{tag:02x}")
    if raw[-1:] != b"Z" or not digits.isdigit():
        raise DecodeError(f"{what}: time {raw!r} is not digits followed by Z")
    text = digits.decode("ascii")
    if tag == UTC_TIME:
        yy = int(text[:2])
        year = 1900 + yy if yy >= 50 else 2000 + yy
        rest = text[2:]
    else:
        year = int(text[:4])
        rest = text[4:]
    try:
        return datetime(
            year,
            int(rest[0:2]),
            int(rest[2:4]),
            int(rest[4:6]),
            int(rest[6:8]),
            int(rest[8:10]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise DecodeError(f"{what}: time {raw!r} is not a valid date: {exc}") from exc


__all__ = [
    "BIT_STRING",
    "BOOLEAN",
    "ENUMERATED",
    "GENERALIZED_TIME",
    "INTEGER",
    "NULL",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "SET",
    "UTC_TIME",
    "bit_string",
    "boolean",
    "children",
    "context",
    "decode_boolean",
    "decode_integer",
    "decode_oid",
    "decode_time",
    "enumerated",
    "expect",
    "generalized_time",
    "header",
    "integer",
    "integer_content",
    "length_octets",
    "octet_string",
    "oid",
    "read_header",
    "sequence",
    "time",
    "tlv",
]

"""Small DER helpers: a strictness check over TLVs and a few encoders.

asn1crypto happily parses BER (indefinite lengths, non-minimal lengths, constructed strings);
a CA must not: what it signs and what it parses from a subscriber is DER (X.690 §10). The
:func:`check_der` walker refuses the BER-only forms before asn1crypto sees the bytes.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from atlas_ca.errors import DecodeError

_MAX_DEPTH = 40
#: Universal tags whose DER encoding is always primitive (X.690 §10.2).
_PRIMITIVE_ONLY = frozenset({1, 2, 3, 4, 5, 6, 10, 12, 18, 19, 20, 22, 23, 24, 26, 28, 30})


def check_der(data: bytes, what: str) -> None:
    """Raise :class:`DecodeError` unless ``data`` is exactly one DER-encoded TLV.

    Checks definite and minimal lengths, primitive encoding of strings, BOOLEAN values,
    minimal INTEGER encodings and nesting depth; it does not know the schema.
    """
    if not data:
        raise DecodeError(f"{what}: empty input")
    end = _walk(data, 0, len(data), 0, what)
    if end != len(data):
        raise DecodeError(f"{what}: {len(data) - end} bytes of trailing data after the DER value")


def _walk(data: bytes, pos: int, limit: int, depth: int, what: str) -> int:
    if depth > _MAX_DEPTH:
        raise DecodeError(f"{what}: nesting deeper than {_MAX_DEPTH} levels")
    start = pos
    if pos >= limit:
        raise DecodeError(f"{what}: truncated (expected a tag at offset {pos})")
    first = data[pos]
    pos += 1
    cls = first >> 6
    constructed = bool(first & 0x20)
    tag = first & 0x1F
    if tag == 0x1F:
        tag = 0
        while True:
            if pos >= limit:
                raise DecodeError(f"{what}: truncated tag at offset {start}")
            b = data[pos]
            pos += 1
            tag = (tag << 7) | (b & 0x7F)
            if tag > 0xFFFFFF:
                raise DecodeError(f"{what}: tag number too large at offset {start}")
            if not b & 0x80:
                break
    if pos >= limit:
        raise DecodeError(f"{what}: truncated (no length at offset {pos})")
    lb = data[pos]
    pos += 1
    if lb == 0x80:
        raise DecodeError(f"{what}: indefinite length at offset {start} (BER, not DER)")
    if lb & 0x80:
        n = lb & 0x7F
        if n > 4 or pos + n > limit:
            raise DecodeError(f"{what}: length of {n} octets at offset {start} is invalid")
        length = int.from_bytes(data[pos : pos + n], "big")
        if data[pos] == 0 or length < 0x80:
            raise DecodeError(f"{what}: non-minimal length encoding at offset {start} (not DER)")
        pos += n
    else:
        length = lb
    end = pos + length
    if end > limit:
        raise DecodeError(
            f"{what}: truncated (value at offset {start} declares {length} bytes, "
            f"{limit - pos} remain)"
        )
    if cls == 0:
        if constructed and tag in _PRIMITIVE_ONLY:
            raise DecodeError(f"{what}: constructed encoding of universal tag {tag} (BER, not DER)")
        if tag == 1 and (length != 1 or data[pos] not in (0x00, 0xFF)):
            raise DecodeError(f"{what}: BOOLEAN at offset {start} is not 0x00 or 0xFF (not DER)")
        if tag in (2, 10):
            if length == 0:
                raise DecodeError(f"{what}: empty INTEGER at offset {start}")
            if length > 1 and (
                (data[pos] == 0 and not data[pos + 1] & 0x80)
                or (data[pos] == 0xFF and data[pos + 1] & 0x80)
            ):
                raise DecodeError(f"{what}: non-minimal INTEGER at offset {start} (not DER)")
        if tag == 3 and (length == 0 or data[pos] > 7):
            raise DecodeError(f"{what}: BIT STRING at offset {start} has a bad unused-bits octet")
    if constructed:
        inner = pos
        while inner < end:
            inner = _walk(data, inner, end, depth + 1, what)
    return end


def tlv(tag: int, content: bytes) -> bytes:
    """Encode one TLV with a single-octet ``tag`` and a DER length."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def split_tlv(data: bytes) -> tuple[int, bytes]:
    """Split one DER TLV with a single-octet tag into ``(tag, content)``; must span ``data``."""
    if len(data) < 2:
        raise DecodeError("truncated DER value")
    lb = data[1]
    if lb < 0x80:
        start, length = 2, lb
    else:
        n = lb & 0x7F
        if n == 0 or n > 4 or len(data) < 2 + n:
            raise DecodeError("bad DER length")
        start, length = 2 + n, int.from_bytes(data[2 : 2 + n], "big")
    if start + length != len(data):
        raise DecodeError("DER length does not match the value")
    return data[0], data[start:]


def children(content: bytes, what: str) -> list[tuple[int, bytes, bytes]]:
    """The TLVs inside a constructed value's ``content``: ``(tag, whole TLV, content)``.

    Only single-octet tags (everything X.509 uses); call after :func:`check_der`, which has
    validated the lengths, but every bound is checked again here.
    """
    out = []
    pos, end = 0, len(content)
    while pos < end:
        if end - pos < 2:
            raise DecodeError(f"{what}: truncated value")
        tag = content[pos]
        if tag & 0x1F == 0x1F:
            raise DecodeError(f"{what}: unexpected multi-octet tag")
        lb = content[pos + 1]
        if lb < 0x80:
            start, length = pos + 2, lb
        else:
            n = lb & 0x7F
            if n == 0 or n > 4 or pos + 2 + n > end:
                raise DecodeError(f"{what}: bad length")
            start, length = pos + 2 + n, int.from_bytes(content[pos + 2 : pos + 2 + n], "big")
        stop = start + length
        if stop > end:
            raise DecodeError(f"{what}: truncated value")
        out.append((tag, content[pos:stop], content[start:stop]))
        pos = stop
    return out


def decode_oid(content: bytes, what: str) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets (X.690 §8.19)."""
    if len(content) <= 32:  # the OIDs of real certificates: a handful, parsed over and over
        return _decode_oid_cached(bytes(content), what)
    return _decode_oid(content, what)


@functools.lru_cache(maxsize=1024)
def _decode_oid_cached(content: bytes, what: str) -> str:
    return _decode_oid(content, what)


def _decode_oid(content: bytes, what: str) -> str:
    if not content or content[-1] & 0x80:
        raise DecodeError(f"{what}: malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for i, b in enumerate(content):
        if value == 0 and b == 0x80 and (i == 0 or not content[i - 1] & 0x80):
            raise DecodeError(f"{what}: OBJECT IDENTIFIER arc with a leading 0x80 (not DER)")
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def decode_integer(content: bytes, what: str) -> int:
    if not content:
        raise DecodeError(f"{what}: empty INTEGER")
    return int.from_bytes(content, "big", signed=True)


def decode_time(tag: int, content: bytes, what: str) -> datetime:
    """UTCTime (``YYMMDDHHMMSSZ``) or GeneralizedTime (``YYYYMMDDHHMMSSZ``), RFC 5280 §4.1.2.5."""
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{what}: time is not ASCII") from exc
    if tag == 0x17 and len(text) == 13 and text.endswith("Z") and text[:12].isdigit():
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:12]
    elif tag == 0x18 and len(text) == 15 and text.endswith("Z") and text[:14].isdigit():
        year = int(text[:4])
        rest = text[4:14]
    else:
        raise DecodeError(f"{what}: time {text!r} is not UTCTime/GeneralizedTime in Z form")
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
        raise DecodeError(f"{what}: time {text!r} is not a valid date: {exc}") from exc


@functools.lru_cache(maxsize=512)
def encode_oid(dotted: str) -> bytes:
    """DER of an OBJECT IDENTIFIER (tag and length included)."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"{dotted!r} is not a valid OID")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def encode_integer(value: int) -> bytes:
    """DER of an INTEGER (minimal two's complement)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


__all__ = [
    "check_der",
    "children",
    "decode_integer",
    "decode_oid",
    "decode_time",
    "encode_integer",
    "encode_oid",
    "split_tlv",
    "tlv",
]

"""Hand-written DER for atlas_ca: a strictness check, small encoders and two kinds of decoders.

Why not asn1crypto on these paths:

* asn1crypto happily parses BER (indefinite lengths, non-minimal lengths, constructed
  strings); a CA must not: what it signs and what it parses from a subscriber is DER (X.690
  §10). :func:`check_der` refuses the BER-only forms before anything else sees the bytes.
* A CRL of 1,000,000 entries decoded or built with asn1crypto means several million Python
  objects (each entry is a ``RevokedCertificate`` with an ``Integer``, a ``Time``, an
  ``Extensions`` list of ``Extension`` objects ...), gigabytes of memory and seconds per hundred
  thousand entries; the CRL memory goal (half of ``openssl ca -gencrl``'s peak RSS, see
  ``docs/performance.md``) cannot be met that way. The encoders here build a value straight to
  bytes with a handful of ``bytes`` operations, and the ``read_*`` walker reads DER by offsets
  into one ``bytes`` object, so a parsed CRL keeps its entries as the bytes they arrived in.

The module has three parts:

* :func:`check_der` validates a whole value (definite minimal lengths, primitive strings,
  BOOLEAN, minimal INTEGER, BIT STRING unused bits, nesting depth) without knowing the schema.
* Encoders (:func:`tlv`, :func:`header`, ``encode_*``): single-octet tags, definite minimal
  lengths; times in the RFC 5280 §4.1.2.5 forms (UTCTime through 2049, GeneralizedTime from
  2050, always UTC, whole seconds).
* Decoders. Over content slices, for certificates, CSRs and names, called after
  :func:`check_der`: :func:`split_tlv`, :func:`children`, ``decode_*``. Over offsets into one
  buffer, for the streaming CRL paths, each checking DER itself: :func:`read_header`,
  :func:`expect`, :func:`read_children` and ``read_*``.

Only single-octet tags are encoded and walked (everything X.509 and CRLs use). Decoders raise
:class:`~atlas_ca.errors.DecodeError` and nothing else on bad input; encoders raise
``ValueError`` on values DER cannot carry.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from atlas_ca.errors import DecodeError

# Universal tags (X.690 §8).
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

_MAX_DEPTH = 40
#: Universal tags whose DER encoding is always primitive (X.690 §10.2).
_PRIMITIVE_ONLY = frozenset({1, 2, 3, 4, 5, 6, 10, 12, 18, 19, 20, 22, 23, 24, 26, 28, 30})


# --- the strictness check --------------------------------------------------------------------


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


def canonical_booleans(data: bytes) -> bytes | None:
    """``data`` with every BOOLEAN TRUE that is not 0xFF rewritten as 0xFF, or ``None`` when
    there is none (or when ``data`` is not a definite-length TLV tree).

    For *reading* only: OpenSSL and certtool accept a BOOLEAN TRUE of 0x01 (BER), so real
    certificates with one circulate; ``show`` reads them through this copy and says so. The
    lengths do not change, so the copy is the DER a conforming encoder would have written;
    what we sign and what we accept for issuance still pass :func:`check_der` unchanged.
    Extension values (OCTET STRINGs holding DER) are looked into as well.
    """
    out = bytearray(data)
    try:
        end = _fix_booleans(out, 0, len(out), 0)
    except (IndexError, ValueError):
        return None
    if end != len(out) or out == data:
        return None
    return bytes(out)


def _fix_booleans(buf: bytearray, pos: int, limit: int, depth: int) -> int:
    if depth > _MAX_DEPTH or pos + 2 > limit:
        raise ValueError("not a TLV")
    first = buf[pos]
    if first & 0x1F == 0x1F:
        raise ValueError("multi-octet tag")
    lb = buf[pos + 1]
    pos += 2
    if lb == 0x80:
        raise ValueError("indefinite length")
    if lb & 0x80:
        n = lb & 0x7F
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    else:
        length = lb
    end = pos + length
    if end > limit:
        raise ValueError("truncated")
    if first == BOOLEAN and length == 1 and buf[pos] not in (0x00, 0xFF):
        buf[pos] = 0xFF
    elif first & 0x20:
        inner = pos
        while inner < end:
            inner = _fix_booleans(buf, inner, end, depth + 1)
    elif first == OCTET_STRING and length >= 2:
        saved = bytes(buf[pos:end])
        try:
            inner = pos
            while inner < end:
                inner = _fix_booleans(buf, inner, end, depth + 1)
        except (IndexError, ValueError):
            buf[pos:end] = saved  # an opaque OCTET STRING, not DER inside
    return end


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
    """Encode one TLV with a single-octet ``tag`` and a DER length."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + length_octets(n) + content


def encode_sequence(*parts: bytes) -> bytes:
    """A SEQUENCE of the already encoded ``parts``."""
    return tlv(SEQUENCE, b"".join(parts))


def integer_content(value: int) -> bytes:
    """Minimal two's-complement content octets of an INTEGER (X.690 §8.3)."""
    if value >= 0:
        return value.to_bytes(value.bit_length() // 8 + 1, "big")
    return value.to_bytes((value + 1).bit_length() // 8 + 1, "big", signed=True)


def encode_integer(value: int) -> bytes:
    """DER of an INTEGER (minimal two's complement)."""
    return tlv(INTEGER, integer_content(value))


def encode_enumerated(value: int) -> bytes:
    return tlv(ENUMERATED, integer_content(value))


def encode_boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def encode_octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def encode_bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    if not 0 <= unused_bits <= 7 or (unused_bits and not value):
        raise ValueError(f"a BIT STRING cannot have {unused_bits} unused bits here")
    return tlv(BIT_STRING, bytes((unused_bits,)) + value)


@functools.lru_cache(maxsize=512)
def encode_oid(dotted: str) -> bytes:
    """DER of an OBJECT IDENTIFIER (tag and length included) from its dotted form (X.690 §8.19)."""
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


def encode_time(moment: datetime) -> bytes:
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
    return encode_generalized_time(t)


def encode_generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime ``YYYYMMDDHHMMSSZ`` of an aware ``moment`` (RFC 5280 §4.1.2.5.2)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC time; pass an aware datetime")
    t = moment.astimezone(UTC)
    text = f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}Z"
    return b"\x18\x0f" + text.encode("ascii")


# --- decoding content slices (certificates, CSRs, names; after check_der) --------------------


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
    return read_oid(content, 0, len(content), what)


@functools.lru_cache(maxsize=1024)
def _decode_oid_cached(content: bytes, what: str) -> str:
    return read_oid(content, 0, len(content), what)


#: The longest INTEGER the X.509 parsers read as a number (versions, serials, CRL numbers,
#: reason codes; RFC 5280 caps serials at 20 octets). Longer ones are refused before they become
#: an ``int``, so that no message ever tries to format thousands of digits (issue 15 item 6).
MAX_INTEGER_OCTETS = 64


def decode_integer(content: bytes, what: str) -> int:
    """An INTEGER's content; its minimal encoding is :func:`check_der`'s to enforce."""
    if not content:
        raise DecodeError(f"{what}: empty INTEGER")
    if len(content) > MAX_INTEGER_OCTETS:
        raise DecodeError(f"{what}: INTEGER of {len(content)} octets is too long")
    return int.from_bytes(content, "big", signed=True)


def decode_time(tag: int, content: bytes, what: str) -> datetime:
    """UTCTime (``YYMMDDHHMMSSZ``) or GeneralizedTime (``YYYYMMDDHHMMSSZ``), RFC 5280 §4.1.2.5."""
    return read_time(content, tag, 0, len(content), what)


# --- decoding by offsets into one buffer (the streaming CRL paths) ---------------------------


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


def read_children(
    data: bytes, start: int, end: int, what: str, *, max_count: int | None = None
) -> list[tuple[int, int, int, int]]:
    """The TLVs filling ``data[start:end]`` exactly: ``(tag, tlv_start, content_start, end)``.

    ``max_count`` refuses more children than a fixed structure has *before* listing them all:
    20 MB of two-byte TLVs would otherwise become ten million tuples (gigabytes).
    """
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        if max_count is not None and len(out) >= max_count:
            raise DecodeError(f"{what}: more than {max_count} fields")
        tag, cs, ce = read_header(data, pos, end, what)
        out.append((tag, pos, cs, ce))
        pos = ce
    return out


def read_integer(data: bytes, start: int, end: int, what: str) -> int:
    """An INTEGER/ENUMERATED content, refusing empty and non-minimal encodings."""
    if start >= end:
        raise DecodeError(f"{what}: empty INTEGER")
    if end - start > MAX_INTEGER_OCTETS:
        raise DecodeError(f"{what}: INTEGER of {end - start} octets is too long")
    if end - start > 1 and (
        (data[start] == 0 and not data[start + 1] & 0x80)
        or (data[start] == 0xFF and data[start + 1] & 0x80)
    ):
        raise DecodeError(f"{what}: non-minimal INTEGER encoding (not DER)")
    return int.from_bytes(data[start:end], "big", signed=True)


def read_boolean(data: bytes, start: int, end: int, what: str) -> bool:
    if end - start != 1 or data[start] not in (0x00, 0xFF):
        raise DecodeError(f"{what}: BOOLEAN must be one octet 0x00 or 0xFF in DER")
    return data[start] == 0xFF


def read_oid(data: bytes, start: int, end: int, what: str) -> str:
    """The dotted form of an OBJECT IDENTIFIER content, refusing arcs padded with 0x80."""
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


def read_time(data: bytes, tag: int, start: int, end: int, what: str) -> datetime:
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
    "check_der",
    "children",
    "decode_integer",
    "decode_oid",
    "decode_time",
    "encode_bit_string",
    "encode_boolean",
    "encode_enumerated",
    "encode_generalized_time",
    "encode_integer",
    "encode_octet_string",
    "encode_oid",
    "encode_sequence",
    "encode_time",
    "expect",
    "header",
    "integer_content",
    "length_octets",
    "read_boolean",
    "read_children",
    "read_header",
    "read_integer",
    "read_oid",
    "read_time",
    "split_tlv",
    "tlv",
]

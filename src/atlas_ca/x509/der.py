"""Small DER helpers: a strictness check over TLVs and a few encoders.

asn1crypto happily parses BER (indefinite lengths, non-minimal lengths, constructed strings);
a CA must not: what it signs and what it parses from a subscriber is DER (X.690 §10). The
:func:`check_der` walker refuses the BER-only forms before asn1crypto sees the bytes.
"""

from __future__ import annotations

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


__all__ = ["check_der", "split_tlv", "tlv"]

"""PEM ⇄ DER with OpenSSL's labels (RFC 7468 §5, §7, §6)."""

from __future__ import annotations

import base64
import binascii
import enum

from atlas_ca.errors import DecodeError, InputTooLarge
from atlas_ca.limits import LIMITS, InputKind


class PemLabel(enum.Enum):
    """The PEM labels of the objects a CA reads and writes."""

    CERTIFICATE = "CERTIFICATE"
    CERTIFICATE_REQUEST = "CERTIFICATE REQUEST"
    X509_CRL = "X509 CRL"


#: Labels older tools write for the same objects (RFC 7468 §7: "NEW CERTIFICATE REQUEST").
_ALIASES = {
    "NEW CERTIFICATE REQUEST": PemLabel.CERTIFICATE_REQUEST,
    "X509 CERTIFICATE": PemLabel.CERTIFICATE,
}

_BEGIN = b"-----BEGIN "
_END = b"-----END "
_DASHES = b"-----"
_MAX_LABEL = 40
_LABEL_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
#: The largest PEM input at all: the largest input of any kind (a CRL, see atlas_ca.limits).
_MAX_INPUT = LIMITS[InputKind.ANY_ARTIFACT]


def pem_encode(der: bytes, label: PemLabel) -> bytes:
    """``der`` as one PEM block: base64 in 64-character lines, ``\\n`` line ends."""
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    begin = f"-----BEGIN {label.value}-----\n".encode()
    end = f"-----END {label.value}-----\n".encode()
    return begin + b"".join(line + b"\n" for line in lines) + end


def _label_at(data: bytes, start: int) -> tuple[str, int] | None:
    """The label that starts at ``start`` and ends with ``-----``, and the index after the
    dashes; ``None`` if there is none within :data:`_MAX_LABEL` characters (bounded look)."""
    close = data.find(_DASHES, start, start + _MAX_LABEL + len(_DASHES))
    if close <= start:
        return None
    raw = data[start:close]
    if not _LABEL_CHARS.issuperset(raw):
        return None
    return raw.decode("ascii"), close + len(_DASHES)


def _blocks(data: bytes) -> list[tuple[str, bytes]]:
    """``(label, body)`` of each complete block, scanning ``data`` once, left to right.

    Written by hand rather than as a regular expression: the old ``BEGIN (...) (.*?) END``
    pattern rescanned to the end of the input for every BEGIN line, so 720 KB of BEGIN lines
    took minutes. Here each ``find`` either moves the position forward for good or ends the scan
    (no END after this BEGIN means none after any later BEGIN either), and a label is looked
    for only within 40 characters: linear in ``len(data)``. The blocks found are those of
    RFC 7468's lax parser: a BEGIN line, anything up to the next END line, the END line.
    """
    out: list[tuple[str, bytes]] = []
    pos = 0
    while True:
        begin = data.find(_BEGIN, pos)
        if begin < 0:
            return out
        found = _label_at(data, begin + len(_BEGIN))
        if found is None:
            pos = begin + len(_BEGIN)
            continue
        label, after = found
        if data.startswith(b"\r\n", after):
            body_start = after + 2
        elif data.startswith(b"\n", after):
            body_start = after + 1
        else:
            pos = after
            continue
        end = data.find(_END, body_start)
        if end < 0:
            return out  # no END line after this BEGIN: no later block can be complete
        end_found = _label_at(data, end + len(_END))
        if end_found is None:
            raise DecodeError(f"PEM block {label} has a malformed END line")
        end_label, pos = end_found
        if end_label != label:
            raise DecodeError(f"PEM block BEGIN {label} ends with END {end_label[:_MAX_LABEL]}")
        out.append((label, data[body_start:end]))


def pem_blocks(data: bytes) -> list[tuple[PemLabel | str, bytes]]:
    """Every PEM block in ``data`` as ``(label, der)``; unknown labels come back as strings.

    Linear time in ``len(data)``; input above the largest limit of :mod:`atlas_ca.limits` is
    refused before it is scanned (callers reading a file cap it by kind before this).
    """
    if len(data) > _MAX_INPUT:
        raise InputTooLarge(
            f"PEM input of {len(data)} bytes is larger than {_MAX_INPUT}",
            limit=_MAX_INPUT,
            size=len(data),
        )
    out: list[tuple[PemLabel | str, bytes]] = []
    for begin, body in _blocks(bytes(data)):
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"PEM block {begin} has invalid base64: {exc}") from exc
        if not der:
            raise DecodeError(f"PEM block {begin} is empty")
        label: PemLabel | str
        try:
            label = PemLabel(begin)
        except ValueError:
            label = _ALIASES.get(begin, begin)
        out.append((label, der))
    return out


def pem_decode(data: bytes, expected: PemLabel) -> bytes:
    """The DER of the first block labelled ``expected`` in ``data``."""
    blocks = pem_blocks(data)
    for label, der in blocks:
        if label == expected:
            return der
    found = ", ".join(str(getattr(lab, "value", lab)) for lab, _ in blocks) or "no PEM block"
    raise DecodeError(f"expected a PEM block {expected.value}, found {found}")


def is_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data[:4096]


def label_text(label: PemLabel | str) -> str:
    """A PEM label as written between the dashes ("X509 CRL"), never an enum's name."""
    return label.value if isinstance(label, PemLabel) else label


def read_der_or_pem(data: bytes) -> tuple[PemLabel | str | None, bytes]:
    """``(label, der)`` of PEM input (its first block), or ``(None, data)`` for DER input."""
    if is_pem(data):
        blocks = pem_blocks(data)
        if not blocks:
            raise DecodeError("input looks like PEM but holds no complete PEM block")
        return blocks[0]
    return None, bytes(data)


__all__ = [
    "PemLabel",
    "is_pem",
    "label_text",
    "pem_blocks",
    "pem_decode",
    "pem_encode",
    "read_der_or_pem",
]

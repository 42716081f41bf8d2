"""PEM ⇄ DER with OpenSSL's labels (RFC 7468 §5, §7, §6)."""

from __future__ import annotations

import base64
import binascii
import enum
import re

from atlas_ca.errors import DecodeError


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

_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n(.*?)-----END ([A-Z0-9 ]{1,40})-----",
    re.DOTALL,
)
_MAX_INPUT = 64 * 1024 * 1024


def pem_encode(der: bytes, label: PemLabel) -> bytes:
    """``der`` as one PEM block: base64 in 64-character lines, ``\\n`` line ends."""
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    begin = f"-----BEGIN {label.value}-----\n".encode()
    end = f"-----END {label.value}-----\n".encode()
    return begin + b"".join(line + b"\n" for line in lines) + end


def pem_blocks(data: bytes) -> list[tuple[PemLabel | str, bytes]]:
    """Every PEM block in ``data`` as ``(label, der)``; unknown labels come back as strings."""
    if len(data) > _MAX_INPUT:
        raise DecodeError(f"input of {len(data)} bytes is larger than {_MAX_INPUT}")
    out: list[tuple[PemLabel | str, bytes]] = []
    for m in _BLOCK.finditer(data):
        begin, body, end = m.group(1).decode(), m.group(2), m.group(3).decode()
        if begin != end:
            raise DecodeError(f"PEM block BEGIN {begin} ends with END {end}")
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

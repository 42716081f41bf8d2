"""The size limits of every input atlas_ca reads from outside, defined once (issue 15 item 3).

Each limit caps the bytes *as read* (PEM or DER), before any parsing: a reader takes at most
``limit + 1`` bytes, so ``/dev/zero`` or a 20 MB "certificate" is refused after one bounded
read, and nothing quadratic or memory-hungry ever sees an oversized input. The DER parsers
check the decoded size again (:data:`MAX_DER`), for callers that hand them bytes directly.

Real objects are far smaller: a qualified certificate or request is 1–4 KB, an OCSP or
time-stamp request a few hundred bytes, a configuration file a few KB. A CRL grows with the
revoked serials: 1,000,000 entries are ≈ 66 MB in PEM (docs/performance.md), hence its cap.
See docs/architecture.md, "Threat model and limits".
"""

from __future__ import annotations

import enum
import errno
import io
import os
import stat

from atlas_ca.errors import InputTooLarge, NotARegularFile

KiB = 1024
MiB = 1024 * KiB


class InputKind(enum.Enum):
    """What an input is, which fixes its limit (bytes as read, PEM or DER)."""

    CERTIFICATE = "certificate"
    CERTIFICATION_REQUEST = "certification request"
    CRL = "CRL"
    OCSP_REQUEST = "OCSP request"
    TSA_REQUEST = "time-stamp request"
    CONFIG = "configuration file"
    ANY_ARTIFACT = "certificate, request or CRL"


#: Bytes as read (PEM base64 is 4/3 of the DER plus line breaks and armour).
LIMITS: dict[InputKind, int] = {
    InputKind.CERTIFICATE: 256 * KiB,
    InputKind.CERTIFICATION_REQUEST: 128 * KiB,
    InputKind.CRL: 128 * MiB,
    InputKind.OCSP_REQUEST: 64 * KiB,
    InputKind.TSA_REQUEST: 64 * KiB,
    InputKind.CONFIG: 1 * MiB,
    InputKind.ANY_ARTIFACT: 128 * MiB,  # `show`/`verify` of an unknown kind: the largest
}

#: The largest DER the parsers accept, per kind (checked again after PEM decoding).
MAX_DER: dict[InputKind, int] = {
    InputKind.CERTIFICATE: 192 * KiB,
    InputKind.CERTIFICATION_REQUEST: 64 * KiB,
    InputKind.CRL: 96 * MiB,
    InputKind.OCSP_REQUEST: 48 * KiB,
    InputKind.TSA_REQUEST: 48 * KiB,
}


def limit_of(kind: InputKind) -> int:
    return LIMITS[kind]


def check_size(data: bytes, kind: InputKind, *, der: bool = False) -> None:
    """Raise :class:`InputTooLarge` if ``data`` exceeds the limit of ``kind``."""
    limit = MAX_DER[kind] if der else LIMITS[kind]
    if len(data) > limit:
        raise InputTooLarge(
            f"{kind.value} of {len(data)} bytes exceeds the limit of {limit} bytes",
            kind=kind.value,
            limit=limit,
            size=len(data),
        )


def read_input(path: str | os.PathLike[str], kind: InputKind) -> bytes:
    """The bytes of the regular file ``path``, at most the limit of ``kind``.

    The file is opened with ``O_NONBLOCK`` (opening a fifo without a writer returns at once)
    and refused unless ``fstat`` says it is a regular file: a fifo, a socket or a device
    (``/dev/zero``) raise :class:`NotARegularFile`. At most ``limit + 1`` bytes are read; more
    raises :class:`InputTooLarge`. ``OSError`` (missing file, no permission) passes through.
    """
    limit = LIMITS[kind]
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a fifo or socket that cannot be opened for reading
            raise NotARegularFile(f"{name} is not a regular file", path=name) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(
                f"{name} is not a regular file (a {kind.value} is read from a file)",
                path=name,
            )
        if st.st_size > limit:
            raise InputTooLarge(
                f"{name}: {kind.value} of {st.st_size} bytes exceeds the limit of {limit} bytes",
                kind=kind.value,
                limit=limit,
                size=st.st_size,
                path=name,
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 * MiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:  # the file grew after fstat
        raise InputTooLarge(
            f"{name}: {kind.value} exceeds the limit of {limit} bytes",
            kind=kind.value,
            limit=limit,
            path=name,
        )
    return b"".join(chunks)


def open_input(path: str | os.PathLike[str], kind: InputKind) -> io.BytesIO:
    """:func:`read_input` as a binary file object (for ``tomllib.load`` and the like)."""
    return io.BytesIO(read_input(path, kind))


__all__ = [
    "LIMITS",
    "MAX_DER",
    "InputKind",
    "KiB",
    "MiB",
    "check_size",
    "limit_of",
    "open_input",
    "read_input",
]

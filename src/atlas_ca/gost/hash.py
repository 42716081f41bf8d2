"""Streebog, GOST R 34.11-2012 (RFC 6986), one-shot and incremental, on either engine.

Digests are returned in the byte order OpenSSL, PKCS#11 tokens and X.509 use (the order
``openssl dgst -md_gost12_256`` prints); RFC 6986 prints the same values as big-endian numbers,
that is byte-reversed.
"""

from __future__ import annotations

from typing import Protocol

from atlas_ca.gost import _pure
from atlas_ca.gost.engine import EngineName, native_module, resolve

Buffer = bytes | bytearray | memoryview


class _State(Protocol):
    def update(self, data: memoryview) -> None: ...

    def digest(self) -> bytes: ...

    def copy(self) -> _State: ...


def _as_bytes_view(data: Buffer) -> memoryview:
    if isinstance(data, str):
        raise TypeError("Streebog input must be bytes-like, not str")
    try:
        view = memoryview(data)  # also mmap, array.array: anything with the buffer protocol
    except TypeError:
        raise TypeError(f"Streebog input must be bytes-like, not {type(data).__name__}") from None
    if view.format != "B" or view.ndim != 1:
        if not view.c_contiguous:
            raise ValueError("Streebog input memoryview must be C-contiguous")
        view = view.cast("B")
    return view


class Streebog:
    """Incremental Streebog-256 (``digest_size=32``) or Streebog-512 (``digest_size=64``).

    ``update`` accepts any bytes-like object and never copies it whole: the native engine reads
    it in place chunk by chunk, the pure engine slices 64 KiB at a time.
    """

    __slots__ = ("_state", "digest_size", "engine", "name")

    name: str
    digest_size: int
    engine: EngineName

    def __init__(self, digest_size: int, *, engine: EngineName | None = None) -> None:
        if digest_size not in (32, 64):
            raise ValueError(f"Streebog digest_size must be 32 or 64, not {digest_size!r}")
        self.digest_size = digest_size
        self.name = f"streebog{digest_size * 8}"
        self.engine = resolve(engine)
        if self.engine == "native":
            self._state: _State = native_module().NativeStreebog(digest_size)
        else:
            self._state = _pure.PureStreebog(digest_size)

    @property
    def block_size(self) -> int:
        """64 bytes, as in :mod:`hashlib`."""
        return 64

    def update(self, data: Buffer) -> None:
        self._state.update(_as_bytes_view(data))

    def digest(self) -> bytes:
        """The digest of everything fed so far; the object stays usable."""
        return self._state.digest()

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> Streebog:
        clone = object.__new__(Streebog)
        clone.digest_size = self.digest_size
        clone.name = self.name
        clone.engine = self.engine
        clone._state = self._state.copy()
        return clone

    def __repr__(self) -> str:
        return f"Streebog({self.digest_size}, engine={self.engine!r})"


def _one_shot(digest_size: int, data: bytes) -> bytes:
    """``bytes`` on the native engine: one libcrypto call instead of a context object."""
    digest: bytes = native_module().digest_bytes(digest_size, data)
    return digest


def streebog256(data: Buffer, *, engine: EngineName | None = None) -> bytes:
    """Streebog-256 of ``data`` (32 bytes)."""
    if type(data) is bytes and resolve(engine) == "native":
        return _one_shot(32, data)
    h = Streebog(32, engine=engine)
    h.update(data)
    return h.digest()


def streebog512(data: Buffer, *, engine: EngineName | None = None) -> bytes:
    """Streebog-512 of ``data`` (64 bytes)."""
    if type(data) is bytes and resolve(engine) == "native":
        return _one_shot(64, data)
    h = Streebog(64, engine=engine)
    h.update(data)
    return h.digest()

"""The native engine: the system libcrypto.so.3 with OpenSSL's gost ENGINE, through ctypes.

Loading: ``ENGINE_load_builtin_engines`` (which brings the *dynamic* engine), ``ENGINE_by_id
("gost")`` (found in ENGINESDIR, Debian package libengine-gost-openssl), ``ENGINE_init`` and
``ENGINE_set_default`` for the GOST algorithms — what ``openssl_conf`` with ``default_algorithms
= ALL`` does. The engine, not the gostprov provider: only the engine decodes GOST keys in
X.509 (see /work/shared/gost-notes.md).

* Streebog: ``EVP_DigestInit_ex`` with the engine's ``md_gost12_256/512``; input is read in place
  (``PyObject_GetBuffer``) and fed in 1 MiB chunks, never copied whole. One-shot hashing of
  ``bytes`` is one ``EVP_Digest`` call (no context object in Python).
* Verify: ``d2i_PUBKEY`` of our SubjectPublicKeyInfo, ``EVP_PKEY_verify`` on the raw digest.
* Sign: an ``EVP_PKEY`` with the curve copied from a cached template and ``d`` set through
  ``EC_KEY_set_private_key`` (from a scrubbed ``bytearray``); ``EVP_PKEY_sign`` on the raw
  digest. Public keys from private ones: ``d2i_AutoPrivateKey`` of a PKCS#8 (the engine derives
  the point), ``i2d_PUBKEY``. The engine reads the digest little-endian and returns ``s||r``
  big-endian, the X.509 conventions, so no conversion happens here.

Every call clears libcrypto's thread error queue before returning, so that stale errors never
reach Python's own ``ssl``/``hashlib``, which share this libcrypto.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections import OrderedDict
from ctypes import (
    POINTER,
    byref,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_ssize_t,
    c_ubyte,
    c_ulong,
    c_void_p,
)
from typing import Any

from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.errors import GostEngineFailure, GostEngineUnavailable
from atlas_ca.gost.keys import GostPublicKey
from atlas_ca.gost.params import ParamSet

_LIBCRYPTO = "libcrypto.so.3"
_ENGINE_METHOD_ALL = 0xFFFF
_CHUNK = 1 << 20
_PYBUF_SIMPLE = 0


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", c_ssize_t),
        ("itemsize", c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    ]


class _Lib:
    """libcrypto's functions we call, with their C signatures, and the loaded gost engine."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(_LIBCRYPTO)
        except OSError as exc:
            raise GostEngineUnavailable(f"cannot load {_LIBCRYPTO}: {exc}") from exc
        self.lib = lib

        def fn(name: str, restype: Any, *argtypes: Any) -> Any:
            f = getattr(lib, name)
            f.restype = restype
            f.argtypes = list(argtypes)
            return f

        self.ERR_clear_error = fn("ERR_clear_error", None)
        self.ERR_get_error = fn("ERR_get_error", c_ulong)
        self.ERR_error_string_n = fn("ERR_error_string_n", None, c_ulong, c_char_p, c_size_t)
        self.ENGINE_load_builtin_engines = fn("ENGINE_load_builtin_engines", None)
        self.ENGINE_by_id = fn("ENGINE_by_id", c_void_p, c_char_p)
        self.ENGINE_init = fn("ENGINE_init", c_int, c_void_p)
        self.ENGINE_set_default = fn("ENGINE_set_default", c_int, c_void_p, ctypes.c_uint)
        self.ENGINE_get_digest = fn("ENGINE_get_digest", c_void_p, c_void_p, c_int)
        self.OBJ_sn2nid = fn("OBJ_sn2nid", c_int, c_char_p)
        self.EVP_MD_CTX_new = fn("EVP_MD_CTX_new", c_void_p)
        self.EVP_MD_CTX_free = fn("EVP_MD_CTX_free", None, c_void_p)
        self.EVP_MD_CTX_copy_ex = fn("EVP_MD_CTX_copy_ex", c_int, c_void_p, c_void_p)
        self.EVP_DigestInit_ex = fn("EVP_DigestInit_ex", c_int, c_void_p, c_void_p, c_void_p)
        self.EVP_DigestUpdate = fn("EVP_DigestUpdate", c_int, c_void_p, c_void_p, c_size_t)
        self.EVP_DigestFinal_ex = fn(
            "EVP_DigestFinal_ex", c_int, c_void_p, POINTER(c_ubyte), POINTER(ctypes.c_uint)
        )
        self.EVP_Digest = fn(
            "EVP_Digest",
            c_int,
            c_char_p,
            c_size_t,
            POINTER(c_ubyte),
            POINTER(ctypes.c_uint),
            c_void_p,
            c_void_p,
        )
        self.d2i_PUBKEY = fn("d2i_PUBKEY", c_void_p, c_void_p, POINTER(c_void_p), c_long)
        self.d2i_AutoPrivateKey = fn(
            "d2i_AutoPrivateKey", c_void_p, c_void_p, POINTER(c_void_p), c_long
        )
        self.i2d_PUBKEY = fn("i2d_PUBKEY", c_int, c_void_p, POINTER(c_void_p))
        self.CRYPTO_free = fn("CRYPTO_free", None, c_void_p, c_char_p, c_int)
        self.EVP_PKEY_free = fn("EVP_PKEY_free", None, c_void_p)
        self.EVP_PKEY_new = fn("EVP_PKEY_new", c_void_p)
        self.EVP_PKEY_copy_parameters = fn("EVP_PKEY_copy_parameters", c_int, c_void_p, c_void_p)
        self.EVP_PKEY_get0 = fn("EVP_PKEY_get0", c_void_p, c_void_p)
        self.EC_KEY_set_private_key = fn("EC_KEY_set_private_key", c_int, c_void_p, c_void_p)
        self.BN_bin2bn = fn("BN_bin2bn", c_void_p, c_void_p, c_int, c_void_p)
        self.BN_clear_free = fn("BN_clear_free", None, c_void_p)
        self.EVP_PKEY_CTX_new = fn("EVP_PKEY_CTX_new", c_void_p, c_void_p, c_void_p)
        self.EVP_PKEY_CTX_free = fn("EVP_PKEY_CTX_free", None, c_void_p)
        self.EVP_PKEY_sign_init = fn("EVP_PKEY_sign_init", c_int, c_void_p)
        self.EVP_PKEY_sign = fn(
            "EVP_PKEY_sign", c_int, c_void_p, c_void_p, POINTER(c_size_t), c_char_p, c_size_t
        )
        self.EVP_PKEY_verify_init = fn("EVP_PKEY_verify_init", c_int, c_void_p)
        self.EVP_PKEY_verify = fn(
            "EVP_PKEY_verify", c_int, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t
        )
        get_buffer = ctypes.pythonapi.PyObject_GetBuffer
        get_buffer.restype = c_int
        get_buffer.argtypes = [ctypes.py_object, POINTER(_PyBuffer), c_int]
        release_buffer = ctypes.pythonapi.PyBuffer_Release
        release_buffer.restype = None
        release_buffer.argtypes = [POINTER(_PyBuffer)]
        self.PyObject_GetBuffer = get_buffer
        self.PyBuffer_Release = release_buffer

        self.engine = self._load_engine()
        self.md: dict[int, int] = {}
        for size, sn in ((32, b"md_gost12_256"), (64, b"md_gost12_512")):
            nid = self.OBJ_sn2nid(sn)
            md = self.ENGINE_get_digest(self.engine, nid) if nid else None
            if not md:
                raise GostEngineUnavailable(
                    f"the gost engine offers no {sn.decode()} digest: {self.last_error()}"
                )
            self.md[size] = md
        self.ERR_clear_error()

    def _load_engine(self) -> int:
        self.ENGINE_load_builtin_engines()
        engine = self.ENGINE_by_id(b"gost")
        if not engine:
            raise GostEngineUnavailable(
                "OpenSSL has no 'gost' engine (install libengine-gost-openssl): "
                + self.last_error()
            )
        if self.ENGINE_init(engine) != 1:
            raise GostEngineUnavailable(f"ENGINE_init(gost) failed: {self.last_error()}")
        if self.ENGINE_set_default(engine, _ENGINE_METHOD_ALL) != 1:
            raise GostEngineUnavailable(f"ENGINE_set_default(gost) failed: {self.last_error()}")
        return int(engine)

    def last_error(self) -> str:
        """The oldest queued libcrypto error as text (the queue is then cleared)."""
        code = self.ERR_get_error()
        self.ERR_clear_error()
        if not code:
            return "no libcrypto error queued"
        text = ctypes.create_string_buffer(256)
        self.ERR_error_string_n(code, text, len(text))
        return text.value.decode(errors="replace")


_lib: _Lib | None = None
_load_lock = threading.Lock()


def load() -> None:
    """Load libcrypto and the gost engine once; :class:`GostEngineUnavailable` if impossible."""
    global _lib
    with _load_lock:
        if _lib is None:
            _lib = _Lib()


def _L() -> _Lib:  # noqa: N802 - short accessor
    if _lib is None:
        load()
    assert _lib is not None
    return _lib


# --- Streebog --------------------------------------------------------------------------------


class NativeStreebog:
    """An ``EVP_MD_CTX`` of md_gost12_256/512, freed when the object is collected."""

    __slots__ = ("__weakref__", "_ctx", "_size")

    def __init__(self, digest_size: int, *, _from: NativeStreebog | None = None) -> None:
        lib = _L()
        ctx = lib.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new failed")
        self._ctx: int = ctx
        self._size = digest_size
        weakref.finalize(self, lib.EVP_MD_CTX_free, ctx)
        if _from is not None:
            ok = lib.EVP_MD_CTX_copy_ex(ctx, _from._ctx)
        else:
            ok = lib.EVP_DigestInit_ex(ctx, lib.md[digest_size], lib.engine)
        if ok != 1:
            raise GostEngineFailure(
                f"initialising Streebog in libcrypto failed: {lib.last_error()}"
            )

    def update(self, data: memoryview) -> None:
        lib = _L()
        total = len(data)
        if total == 0:
            return
        view = _PyBuffer()
        try:
            lib.PyObject_GetBuffer(data, byref(view), _PYBUF_SIMPLE)
        except BufferError:
            # A strided view: copy it a chunk at a time.
            for start in range(0, total, _CHUNK):
                piece = data[start : start + _CHUNK].tobytes()
                self._feed(lib, ctypes.cast(c_char_p(piece), c_void_p).value, len(piece))
            return
        try:
            base = int(view.buf)
            for start in range(0, total, _CHUNK):
                self._feed(lib, base + start, min(_CHUNK, total - start))
        finally:
            lib.PyBuffer_Release(byref(view))

    def _feed(self, lib: _Lib, address: int | None, length: int) -> None:
        if lib.EVP_DigestUpdate(self._ctx, address, length) != 1:
            raise GostEngineFailure(f"EVP_DigestUpdate failed: {lib.last_error()}")

    def digest(self) -> bytes:
        lib = _L()
        final = NativeStreebog(self._size, _from=self)
        out = (c_ubyte * 64)()
        length = ctypes.c_uint(0)
        if lib.EVP_DigestFinal_ex(final._ctx, out, byref(length)) != 1:
            raise GostEngineFailure(f"EVP_DigestFinal_ex failed: {lib.last_error()}")
        return bytes(out[: length.value])

    def copy(self) -> NativeStreebog:
        return NativeStreebog(self._size, _from=self)


def digest_bytes(digest_size: int, data: bytes) -> bytes:
    """Streebog of ``data`` in one ``EVP_Digest`` call: no context object lives in Python.

    For the small inputs of the issuance path (a TBS, a request's info: a few KiB), where
    creating, copying and finalising a :class:`NativeStreebog` costs more than the hashing.
    ``data`` must be ``bytes`` (read in place); anything else goes through :class:`NativeStreebog`.
    """
    lib = _L()
    out = (c_ubyte * 64)()
    length = ctypes.c_uint(0)
    md = lib.md[digest_size]
    try:
        if lib.EVP_Digest(data, len(data), out, byref(length), md, lib.engine) != 1:
            raise GostEngineFailure(f"EVP_Digest failed: {lib.last_error()}")
    finally:
        lib.ERR_clear_error()
    if length.value != digest_size:
        raise GostEngineFailure(f"EVP_Digest returned {length.value} bytes, not {digest_size}")
    return bytes(out[:digest_size])


# --- keys ------------------------------------------------------------------------------------


class _PKey:
    """An owned ``EVP_PKEY*``."""

    __slots__ = ("__weakref__", "ptr")

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        weakref.finalize(self, _L().EVP_PKEY_free, ptr)


_prefix_lock = threading.Lock()
_spki_prefix: dict[ParamSet, bytes] = {}
_pkcs8_prefix: dict[ParamSet, bytes] = {}
_pub_cache: OrderedDict[GostPublicKey, _PKey] = OrderedDict()
_PUB_CACHE_SIZE = 64


def _digest_oid(ps: ParamSet) -> str | None:
    return ps.digest_param_set.dotted if ps.digest_param_set is not None else None


def _prefixes(ps: ParamSet) -> tuple[bytes, bytes]:
    """DER of the SPKI and PKCS#8 of ``ps`` up to the key bytes, which come last in both."""
    with _prefix_lock:
        if ps not in _spki_prefix:
            n = ps.size
            alg, curve, digest = ps.algorithm_oid.dotted, ps.oid.dotted, _digest_oid(ps)
            _spki_prefix[ps] = asn1_gost.encode_spki(alg, curve, digest, bytes(2 * n))[: -2 * n]
            _pkcs8_prefix[ps] = asn1_gost.encode_pkcs8(alg, curve, digest, bytes(n))[:-n]
        return _spki_prefix[ps], _pkcs8_prefix[ps]


def _d2i(lib: _Lib, func: Any, der: bytes | bytearray, what: str) -> _PKey:
    if isinstance(der, bytearray):
        keep: Any = (c_ubyte * len(der)).from_buffer(der)
        address: int | None = ctypes.addressof(keep)
    else:
        keep = c_char_p(der)
        address = ctypes.cast(keep, c_void_p).value
    pointer = c_void_p(address)
    pkey = func(None, byref(pointer), len(der))
    del keep
    if not pkey:
        raise GostEngineFailure(f"libcrypto cannot read the {what}: {lib.last_error()}")
    return _PKey(pkey)


def _public_pkey(lib: _Lib, key: GostPublicKey) -> _PKey:
    with _prefix_lock:
        cached = _pub_cache.get(key)
        if cached is not None:
            _pub_cache.move_to_end(key)
            return cached
    spki, _ = _prefixes(key.param_set)
    pkey = _d2i(lib, lib.d2i_PUBKEY, spki + key.to_bytes(), "GOST public key")
    with _prefix_lock:
        _pub_cache[key] = pkey
        while len(_pub_cache) > _PUB_CACHE_SIZE:
            _pub_cache.popitem(last=False)
    return pkey


_templates: dict[ParamSet, _PKey] = {}


def _signing_pkey(lib: _Lib, ps: ParamSet, d: int) -> _PKey:
    """An EVP_PKEY holding only the private scalar: the curve copied from a cached template
    (the base point as a public key), ``d`` set with ``EC_KEY_set_private_key``.

    Ten times faster than decoding PKCS#8, which also runs OpenSSL's decoder chain and derives
    the public key on every call; signing needs neither.
    """
    with _prefix_lock:
        template = _templates.get(ps)
    if template is None:
        spki, _ = _prefixes(ps)
        base = ps.x.to_bytes(ps.size, "little") + ps.y.to_bytes(ps.size, "little")
        template = _d2i(lib, lib.d2i_PUBKEY, spki + base, "GOST parameter set")
        with _prefix_lock:
            _templates[ps] = template
    pkey = _PKey(lib.EVP_PKEY_new())
    if not pkey.ptr or lib.EVP_PKEY_copy_parameters(pkey.ptr, template.ptr) != 1:
        raise GostEngineFailure(f"EVP_PKEY_copy_parameters failed: {lib.last_error()}")
    ec_key = lib.EVP_PKEY_get0(pkey.ptr)
    if not ec_key:
        raise GostEngineFailure(f"the gost engine key holds no EC_KEY: {lib.last_error()}")
    scalar = bytearray(d.to_bytes(ps.size, "big"))
    try:
        holder = (c_ubyte * len(scalar)).from_buffer(scalar)
        bn = lib.BN_bin2bn(ctypes.addressof(holder), len(scalar), None)
        del holder
    finally:
        scalar[:] = bytes(len(scalar))
    if not bn:
        raise GostEngineFailure(f"BN_bin2bn failed: {lib.last_error()}")
    try:
        if lib.EC_KEY_set_private_key(ec_key, bn) != 1:
            raise GostEngineFailure(f"EC_KEY_set_private_key failed: {lib.last_error()}")
    finally:
        lib.BN_clear_free(bn)
    return pkey


def _private_pkey(lib: _Lib, ps: ParamSet, d: int) -> _PKey:
    _, prefix = _prefixes(ps)
    der = bytearray(prefix) + bytearray(d.to_bytes(ps.size, "little"))
    try:
        return _d2i(lib, lib.d2i_AutoPrivateKey, der, "GOST private key")
    finally:
        der[:] = bytes(len(der))


def public_point(ps: ParamSet, d: int) -> tuple[int, int]:
    lib = _L()
    try:
        pkey = _private_pkey(lib, ps, d)
        out = c_void_p(None)
        length = lib.i2d_PUBKEY(pkey.ptr, byref(out))
        if length <= 0 or not out.value:
            raise GostEngineFailure(f"i2d_PUBKEY failed: {lib.last_error()}")
        try:
            der = ctypes.string_at(out.value, length)
        finally:
            lib.CRYPTO_free(out.value, None, 0)
    finally:
        lib.ERR_clear_error()
    point = asn1_gost.decode_spki(der).point
    n = ps.size
    return int.from_bytes(point[:n], "little"), int.from_bytes(point[n:], "little")


def sign_digest(ps: ParamSet, d: int, digest: bytes) -> bytes:
    lib = _L()
    try:
        pkey = _signing_pkey(lib, ps, d)
        ctx = lib.EVP_PKEY_CTX_new(pkey.ptr, lib.engine)
        if not ctx:
            raise GostEngineFailure(f"EVP_PKEY_CTX_new failed: {lib.last_error()}")
        try:
            if lib.EVP_PKEY_sign_init(ctx) != 1:
                raise GostEngineFailure(f"EVP_PKEY_sign_init failed: {lib.last_error()}")
            out = ctypes.create_string_buffer(2 * ps.size)
            length = c_size_t(len(out))
            if lib.EVP_PKEY_sign(ctx, out, byref(length), digest, len(digest)) != 1:
                raise GostEngineFailure(f"EVP_PKEY_sign failed: {lib.last_error()}")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        if length.value != 2 * ps.size:
            raise GostEngineFailure(
                f"EVP_PKEY_sign returned {length.value} bytes, not {2 * ps.size}"
            )
        return out.raw[: length.value]
    finally:
        lib.ERR_clear_error()


def verify_digest(key: GostPublicKey, digest: bytes, signature: bytes) -> bool:
    lib = _L()
    try:
        pkey = _public_pkey(lib, key)
        ctx = lib.EVP_PKEY_CTX_new(pkey.ptr, lib.engine)
        if not ctx:
            raise GostEngineFailure(f"EVP_PKEY_CTX_new failed: {lib.last_error()}")
        try:
            if lib.EVP_PKEY_verify_init(ctx) != 1:
                raise GostEngineFailure(f"EVP_PKEY_verify_init failed: {lib.last_error()}")
            result = lib.EVP_PKEY_verify(ctx, signature, len(signature), digest, len(digest))
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        return bool(result == 1)
    finally:
        lib.ERR_clear_error()

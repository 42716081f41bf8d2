"""GOST R 34.10-2012 signatures in the X.509 conventions (RFC 9215 §3.2).

* the digest is the Streebog output *bytes*, read as a little-endian integer (as OpenSSL's gost
  engine and PKCS#11 tokens read it);
* the signature is ``s||r``, each big-endian, exactly the ``signatureValue`` BIT STRING content.

Private scalars are plain ``int`` here (the hazmat layer); the HSM layer wraps them so that they
never show in a repr, log or message — nor do they here.
"""

from __future__ import annotations

import secrets

from atlas_ca.errors import InvalidKey
from atlas_ca.gost import _pure
from atlas_ca.gost.engine import EngineName, extension_module, native_module, resolve
from atlas_ca.gost.hash import streebog256, streebog512
from atlas_ca.gost.keys import GostPublicKey
from atlas_ca.gost.params import ParamSet


def _check_scalar(param_set: ParamSet, d: int) -> None:
    if not isinstance(d, int) or isinstance(d, bool):
        raise TypeError("a private scalar must be int")
    if not 0 < d < param_set.q:
        # Never print d: only say it is out of range.
        raise InvalidKey(
            f"private scalar out of range 1..q-1 for {param_set.name}", param_set=param_set.name
        )


def _check_digest(param_set: ParamSet, digest: bytes) -> bytes:
    if not isinstance(digest, bytes | bytearray | memoryview):
        raise TypeError(f"digest must be bytes, not {type(digest).__name__}")
    digest = bytes(digest)
    if len(digest) != param_set.size:
        raise ValueError(
            f"a {param_set.bits}-bit GOST signature signs a {param_set.size}-byte Streebog "
            f"digest, got {len(digest)} bytes"
        )
    return digest


def generate_private_scalar(param_set: ParamSet) -> int:
    """A uniformly random scalar ``1 <= d < q`` from the OS CSPRNG."""
    return secrets.randbelow(param_set.q - 1) + 1


def public_key_from_private(
    param_set: ParamSet, d: int, *, engine: EngineName | None = None
) -> GostPublicKey:
    """The public key ``d·P`` of private scalar ``d``."""
    _check_scalar(param_set, d)
    if resolve(engine) == "native":
        x, y = native_module().public_point(param_set, d)
    else:
        x, y = _pure.public_point(param_set, d)
    return GostPublicKey(param_set, x, y)


def sign_digest(
    param_set: ParamSet,
    d: int,
    digest: bytes,
    *,
    k: int | None = None,
    engine: EngineName | None = None,
) -> bytes:
    """Sign a Streebog digest; returns ``s||r`` big-endian.

    ``k`` fixes the per-signature nonce, for the standard's test vectors only. libcrypto takes
    no caller nonce, so a call with ``k`` is computed by the pure engine whatever ``engine`` says.
    """
    _check_scalar(param_set, d)
    digest = _check_digest(param_set, digest)
    if k is not None:
        if not 0 < k < param_set.q:
            raise ValueError(f"nonce k out of range 1..q-1 for {param_set.name}")
        return _pure.sign_digest(param_set, d, digest, k)
    if resolve(engine) == "native":
        signature: bytes = native_module().sign_digest(param_set, d, digest)
        return signature
    return _pure.sign_digest(param_set, d, digest, None)


def verify_digest(
    public_key: GostPublicKey,
    digest: bytes,
    signature: bytes,
    *,
    engine: EngineName | None = None,
) -> bool:
    """True if ``signature`` (``s||r`` big-endian) is valid for ``digest`` under ``public_key``.

    A signature of the wrong length or with ``r``/``s`` outside ``1..q-1`` is simply invalid.
    The native engine verifies with our C extension when it is built
    (:mod:`atlas_ca.gost.ecverify`: a key verified repeatedly gets a precomputed table) and
    with the gost engine otherwise, or where that is faster.
    """
    ps = public_key.param_set
    digest = _check_digest(ps, digest)
    if not isinstance(signature, bytes | bytearray | memoryview):
        raise TypeError(f"signature must be bytes, not {type(signature).__name__}")
    signature = bytes(signature)
    if len(signature) != 2 * ps.size:
        return False
    s = int.from_bytes(signature[: ps.size], "big")
    r = int.from_bytes(signature[ps.size :], "big")
    if not (0 < r < ps.q and 0 < s < ps.q):
        return False
    if resolve(engine) == "native":
        if extension_module() is not None:
            from atlas_ca.gost import ecverify

            mine = ecverify.verify_digest(public_key, digest, signature)
            if mine is not None:
                return mine
        ok: bool = native_module().verify_digest(public_key, digest, signature)
        return ok
    return _pure.verify_digest(ps, public_key.x, public_key.y, digest, signature)


def _hash_for(param_set: ParamSet, data: bytes, engine: EngineName | None) -> bytes:
    if param_set.bits == 256:
        return streebog256(data, engine=engine)
    return streebog512(data, engine=engine)


def sign(param_set: ParamSet, d: int, data: bytes, *, engine: EngineName | None = None) -> bytes:
    """Hash ``data`` with Streebog-256/512 (by the set's size) and sign; ``s||r`` big-endian."""
    return sign_digest(param_set, d, _hash_for(param_set, data, engine), engine=engine)


def verify(
    public_key: GostPublicKey,
    data: bytes,
    signature: bytes,
    *,
    engine: EngineName | None = None,
) -> bool:
    """True if ``signature`` is a valid GOST R 34.10-2012 signature of ``data``."""
    digest = _hash_for(public_key.param_set, data, engine)
    return verify_digest(public_key, digest, signature, engine=engine)

"""asn1crypto specs for GOST R 34.10-2012 keys (RFC 9215 §3–4) and their one-time registration.

asn1crypto knows no GOST OID and its ``PublicKeyInfo`` has no GOST public-key spec.
:func:`register_gost` adds, once and idempotently:

* the key algorithms id-tc26-gost3410-12-256/-512 to ``keys.PublicKeyAlgorithmId`` and
  ``keys.PrivateKeyAlgorithmId``, with :class:`GostR34102012PublicKeyParameters` as their
  parameters spec;
* the public key spec (an OCTET STRING holding ``X||Y`` little-endian) to ``PublicKeyInfo`` and
  the private key spec (an OCTET STRING holding ``d`` little-endian) to ``PrivateKeyInfo``;
* the signature algorithms id-tc26-signwithdigest-gost3410-12-256/-512 to
  ``algos.SignedDigestAlgorithmId`` and Streebog to ``algos.DigestAlgorithmId``.

Reverse maps that asn1crypto already built are patched too, otherwise names registered late
silently fail to encode. The helpers below take and return plain bytes and OID strings: the
asn1crypto objects stay inside this module.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import algos, core, keys

from atlas_ca.asn1.oids import GostAlgorithm, GostParamSet, GostTestParamSet, Oid
from atlas_ca.errors import InvalidKey

#: asn1crypto names of the GOST algorithms (what ``.native`` returns).
KEY_256 = "gost3410_2012_256"
KEY_512 = "gost3410_2012_512"
SIG_256 = "gost3410_2012_256_streebog256"
SIG_512 = "gost3410_2012_512_streebog512"
DIGEST_256 = "streebog256"
DIGEST_512 = "streebog512"
#: GOST R 34.10-2001 (RFC 4491): read, shown and linted, never issued.
KEY_2001 = "gost3410_2001"
SIG_2001 = "gost3411_94_gost3410_2001"
DIGEST_94 = "gost3411_94"

_KEY_ALGOS: dict[str, str] = {
    GostAlgorithm.GOST3410_2012_256.dotted: KEY_256,
    GostAlgorithm.GOST3410_2012_512.dotted: KEY_512,
}
_LEGACY_KEY_ALGOS: dict[str, str] = {GostAlgorithm.GOST3410_2001.dotted: KEY_2001}
_SIG_ALGOS: dict[str, str] = {
    GostAlgorithm.SIGN_WITH_GOST3411_2012_256.dotted: SIG_256,
    GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted: SIG_512,
    GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted: SIG_2001,
}
_DIGESTS: dict[str, str] = {
    GostAlgorithm.GOST3411_2012_256.dotted: DIGEST_256,
    GostAlgorithm.GOST3411_2012_512.dotted: DIGEST_512,
}
_ALL_KEY_NAMES = (KEY_256, KEY_512, KEY_2001)


def _names(group: type) -> dict[str, str]:
    return {v.dotted: v.name for v in vars(group).values() if isinstance(v, Oid)}


class GostParamSetId(core.ObjectIdentifier):  # type: ignore[misc]
    """A GOST R 34.10 curve (R 1323565.1.024-2019, RFC 4357)."""

    _map: ClassVar[dict[str, str]] = {**_names(GostParamSet), **_names(GostTestParamSet)}


class GostDigestParamSetId(core.ObjectIdentifier):  # type: ignore[misc]
    """The digestParamSet: Streebog-256/512, or the legacy GOST R 34.11-94 CryptoPro set."""

    _map: ClassVar[dict[str, str]] = {
        **_DIGESTS,
        GostAlgorithm.GOST3411_94_CRYPTOPRO_PARAMS.dotted: (
            GostAlgorithm.GOST3411_94_CRYPTOPRO_PARAMS.name
        ),
    }


class GostR34102012PublicKeyParameters(core.Sequence):  # type: ignore[misc]
    """RFC 9215 §4: SEQUENCE { publicKeyParamSet, digestParamSet OPTIONAL }.

    ``encryptionParamSet`` (RFC 4491 §2.3.2) is accepted on input for old encoders.
    """

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("public_key_param_set", GostParamSetId),
        ("digest_param_set", GostDigestParamSetId, {"optional": True}),
        ("encryption_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


_registered = False
_register_lock = threading.Lock()


def _add_to_map(cls: type[core.ObjectIdentifier], entries: dict[str, str]) -> None:
    mapping: dict[str, str] = cls._map
    reverse: dict[str, str] | None = cls._reverse_map
    for dotted, name in entries.items():
        mapping[dotted] = name
        if reverse is not None:
            reverse[name] = dotted


def register_gost() -> None:
    """Teach asn1crypto the GOST algorithms; safe to call any number of times."""
    global _registered
    if _registered:
        return
    with _register_lock:
        if _registered:
            return
        _add_to_map(keys.PublicKeyAlgorithmId, {**_KEY_ALGOS, **_LEGACY_KEY_ALGOS})
        _add_to_map(keys.PrivateKeyAlgorithmId, {**_KEY_ALGOS, **_LEGACY_KEY_ALGOS})
        _add_to_map(algos.SignedDigestAlgorithmId, _SIG_ALGOS)
        _add_to_map(
            algos.DigestAlgorithmId,
            {**_DIGESTS, GostAlgorithm.GOST3411_94.dotted: DIGEST_94},
        )
        for name in _ALL_KEY_NAMES:
            keys.PublicKeyAlgorithm._oid_specs[name] = GostR34102012PublicKeyParameters
            keys.PrivateKeyAlgorithm._oid_specs[name] = GostR34102012PublicKeyParameters

        original_public = keys.PublicKeyInfo._spec_callbacks["public_key"]
        original_private = keys.PrivateKeyInfo._spec_callbacks["private_key"]

        def public_key_spec(info: Any) -> Any:
            if info["algorithm"]["algorithm"].native in _ALL_KEY_NAMES:
                return core.OctetString
            return original_public(info)

        def private_key_spec(info: Any) -> Any:
            if info["private_key_algorithm"]["algorithm"].native in _ALL_KEY_NAMES:
                return core.OctetString
            return original_private(info)

        # Other libraries replace the "public_key" callback in place with one that calls the
        # method _public_key_spec (pyhanko-certvalidator does, on import): patch the method too,
        # so GOST keys stay readable whichever was imported first.
        original_method = keys.PublicKeyInfo._public_key_spec

        def public_key_spec_method(info: Any) -> Any:
            if info["algorithm"]["algorithm"].native in _ALL_KEY_NAMES:
                return core.OctetString
            return original_method(info)

        keys.PublicKeyInfo._public_key_spec = public_key_spec_method
        keys.PublicKeyInfo._spec_callbacks = {
            **keys.PublicKeyInfo._spec_callbacks,
            "public_key": public_key_spec,
        }
        keys.PrivateKeyInfo._spec_callbacks = {
            **keys.PrivateKeyInfo._spec_callbacks,
            "private_key": private_key_spec,
        }
        _registered = True


@dataclass(frozen=True, slots=True)
class GostSpki:
    """The parts of a GOST SubjectPublicKeyInfo, as plain values."""

    algorithm: str
    public_key_param_set: str
    digest_param_set: str | None
    point: bytes  # X||Y, each little-endian


def _params(public_key_param_set: str, digest_param_set: str | None) -> Any:
    params = GostR34102012PublicKeyParameters(
        {"public_key_param_set": GostParamSetId(public_key_param_set)}
    )
    if digest_param_set is not None:
        params["digest_param_set"] = GostDigestParamSetId(digest_param_set)
    return params


def encode_spki(
    algorithm: str, public_key_param_set: str, digest_param_set: str | None, point: bytes
) -> bytes:
    """DER of a GOST SubjectPublicKeyInfo (RFC 9215 §4); all OIDs dotted."""
    register_gost()
    info = keys.PublicKeyInfo(
        {
            "algorithm": keys.PublicKeyAlgorithm(
                {
                    "algorithm": keys.PublicKeyAlgorithmId(algorithm),
                    "parameters": _params(public_key_param_set, digest_param_set),
                }
            ),
            "public_key": core.OctetString(point),
        }
    )
    der: bytes = info.dump(force=True)
    return der


def decode_spki(der: bytes, *, legacy: bool = False) -> GostSpki:
    """The parts of a GOST SubjectPublicKeyInfo; :class:`InvalidKey` for anything else.

    ``legacy`` also accepts a GOST R 34.10-2001 key (RFC 4491), for reading only.

    An issuance decodes its subject's key twice (planning's key check, then the pre-issuance
    lint) and every signature check decodes the CA's: the last few results are kept, keyed by
    the exact bytes (a pure function of them; the result is frozen; refusals are not kept).
    """
    if not isinstance(der, bytes | bytearray):
        raise InvalidKey(f"SubjectPublicKeyInfo must be bytes, not {type(der).__name__}")
    der = bytes(der)
    if len(der) > _CACHED_SPKI_BYTES:  # no GOST key is this long: not worth keeping
        return _decode_spki_uncached(der, legacy)
    return _decode_spki(der, legacy)


#: A GOST R 34.10-2012-512 SubjectPublicKeyInfo is about 170 octets.
_CACHED_SPKI_BYTES = 512


def _decode_spki_uncached(der: bytes, legacy: bool) -> GostSpki:
    register_gost()
    try:
        info = keys.PublicKeyInfo.load(bytes(der), strict=True)
        algorithm = info["algorithm"]["algorithm"].dotted
        if algorithm not in _KEY_ALGOS and not (legacy and algorithm in _LEGACY_KEY_ALGOS):
            raise InvalidKey(
                f"SubjectPublicKeyInfo algorithm {algorithm} is not GOST R 34.10-2012",
                algorithm=algorithm,
            )
        params = info["algorithm"]["parameters"]
        if not isinstance(params, GostR34102012PublicKeyParameters):
            raise InvalidKey("GOST SubjectPublicKeyInfo lacks its parameters SEQUENCE")
        digest = params["digest_param_set"]
        point = info["public_key"].parsed
        if not isinstance(point, core.OctetString):
            raise InvalidKey("GOST subjectPublicKey is not a DER OCTET STRING")
        return GostSpki(
            algorithm=algorithm,
            public_key_param_set=params["public_key_param_set"].dotted,
            digest_param_set=None if isinstance(digest, core.Void) else digest.dotted,
            point=bytes(point.native),
        )
    except InvalidKey:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError, ...
        raise InvalidKey(f"SubjectPublicKeyInfo is not valid DER: {exc}") from None


_decode_spki = functools.lru_cache(maxsize=256)(_decode_spki_uncached)


def encode_pkcs8(
    algorithm: str, public_key_param_set: str, digest_param_set: str | None, scalar_le: bytes
) -> bytes:
    """DER of a PKCS#8 PrivateKeyInfo for a GOST key, ``privateKey`` = OCTET STRING of ``d`` LE.

    The layout OpenSSL's gost engine writes and reads (``priv_encode_gost``). Only the native
    engine uses it, to hand a key to libcrypto; callers must wipe nothing here, ints are immutable.
    """
    register_gost()
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": keys.PrivateKeyAlgorithm(
                {
                    "algorithm": keys.PrivateKeyAlgorithmId(algorithm),
                    "parameters": _params(public_key_param_set, digest_param_set),
                }
            ),
            "private_key": core.OctetString(scalar_le),
        }
    )
    der: bytes = info.dump(force=True)
    return der


__all__ = [
    "DIGEST_256",
    "DIGEST_512",
    "KEY_256",
    "KEY_512",
    "KEY_2001",
    "SIG_256",
    "SIG_512",
    "SIG_2001",
    "GostR34102012PublicKeyParameters",
    "GostSpki",
    "decode_spki",
    "encode_pkcs8",
    "encode_spki",
    "register_gost",
]

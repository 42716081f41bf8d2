"""The HSM layer: keys named by URI, signing through :class:`~atlas_ca.hsm.base.SigningKey`.

``open_key(uri, pin=None)`` finds the backend by the URI's scheme in a registry:

* ``pkcs11:`` — RFC 7512 URI of a key on a PKCS#11 token (:mod:`atlas_ca.hsm.pkcs11`);
* ``file:`` — a password-encrypted PKCS#8 file (:mod:`atlas_ca.hsm.software`, not for qualified
  certificates).

Plug-ins add schemes with :func:`register_backend`, or through the entry-point group
``atlas_ca.hsm_backends`` (each entry point loads a callable ``(uri, pin) -> SigningKey``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from atlas_ca.errors import InvalidKeyUri
from atlas_ca.hsm.base import Hasher, PrehashSigningKey, SigningKey

#: A backend: opens the key a URI of its scheme names, with an optional explicit PIN/password.
KeyOpener = Callable[[str, "str | None"], SigningKey]

ENTRY_POINT_GROUP = "atlas_ca.hsm_backends"

_backends: dict[str, KeyOpener] = {}
_lock = threading.Lock()
_entry_points_loaded = False


def register_backend(scheme: str, opener: KeyOpener, *, replace: bool = False) -> None:
    """Make ``open_key`` send URIs of ``scheme`` (e.g. ``"pkcs11"``) to ``opener``."""
    key = scheme.lower().rstrip(":")
    if not key or not key.replace("-", "").replace("+", "").replace(".", "").isalnum():
        raise ValueError(f"{scheme!r} is not a URI scheme")
    with _lock:
        if key in _backends and not replace:
            raise ValueError(f"a key backend for scheme {key!r} is already registered")
        _backends[key] = opener


def registered_schemes() -> tuple[str, ...]:
    _load_entry_points()
    with _lock:
        return tuple(sorted(_backends))


def _open_pkcs11(uri: str, pin: str | None) -> SigningKey:
    from atlas_ca.hsm.pkcs11 import open_pkcs11_key

    return open_pkcs11_key(uri, pin=pin)


def _open_file(uri: str, pin: str | None) -> SigningKey:
    from atlas_ca.hsm.software import open_software_key

    return open_software_key(uri, password=pin)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    with _lock:
        if _entry_points_loaded:
            return
        # Imported here: importlib.metadata costs ≈ 0.15 s at start-up (email, zipfile, csv),
        # paid only by a process that opens a key through a plug-in scheme.
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _backends.setdefault(ep.name.lower(), ep.load())
        _entry_points_loaded = True


def open_key(uri: str, *, pin: str | None = None) -> SigningKey:
    """The signing key ``uri`` names, opened by the backend registered for its scheme.

    ``pin`` overrides the URI's ``pin-source``/``pin-value`` (for ``file:`` keys: the password).
    """
    scheme, colon, _ = uri.partition(":")
    if not colon:
        raise InvalidKeyUri("a key URI needs a scheme: pkcs11:... or file:...")
    _load_entry_points()
    with _lock:
        opener = _backends.get(scheme.lower())
    if opener is None:
        known = ", ".join(f"{s}:" for s in registered_schemes())
        raise InvalidKeyUri(
            f"no key backend for URI scheme {scheme.lower()!r}: (known: {known})", scheme=scheme
        )
    return opener(uri, pin)


register_backend("pkcs11", _open_pkcs11)
register_backend("file", _open_file)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Hasher",
    "KeyOpener",
    "PrehashSigningKey",
    "SigningKey",
    "open_key",
    "register_backend",
    "registered_schemes",
]

"""open_key: backends found by URI scheme in a registry that plug-ins extend."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.errors import InvalidKeyUri
from atlas_ca.hsm import SigningKey, open_key, register_backend, registered_schemes
from atlas_ca.hsm.software import generate_software_key


class _PluginKey:
    """A stand-in backend key, as a third-party plug-in would provide."""

    def __init__(self, uri: str, pin: str | None) -> None:
        self.uri = uri
        self.pin = pin

    @property
    def key_type(self) -> KeyType:
        return KeyType.ED25519

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return SignatureAlgorithm.ED25519

    @property
    def public_key_info(self) -> bytes:
        return b""

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        return data[::-1]


def test_the_builtin_schemes_are_registered() -> None:
    assert {"pkcs11", "file"} <= set(registered_schemes())


def test_a_plugin_scheme_receives_the_uri_and_pin() -> None:
    register_backend("x-test-kms", _PluginKey, replace=True)
    key = open_key("X-Test-KMS:keys/ca-2026", pin="p")
    assert isinstance(key, _PluginKey)
    assert isinstance(key, SigningKey)
    assert (key.uri, key.pin) == ("X-Test-KMS:keys/ca-2026", "p")
    with pytest.raises(ValueError, match="already registered"):
        register_backend("x-test-kms", _PluginKey)
    with pytest.raises(ValueError, match="is not a URI scheme"):
        register_backend("bad scheme", _PluginKey)


def test_unknown_or_missing_schemes_are_refused() -> None:
    with pytest.raises(InvalidKeyUri, match="no key backend for URI scheme 'vault'"):
        open_key("vault:secret/ca")
    with pytest.raises(InvalidKeyUri, match="needs a scheme"):
        open_key("/etc/keys/ca.pem")


def test_file_scheme_opens_a_software_key(tmp_path: Path) -> None:
    uri = generate_software_key(tmp_path / "k.pem", KeyType.ED25519, password="pw", iterations=1000)
    key = open_key(uri, pin="pw")
    assert key.key_type is KeyType.ED25519
    assert key.qualified_use_allowed is False

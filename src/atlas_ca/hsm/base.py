"""Ports of the HSM layer: what the rest of atlas_ca signs through.

A :class:`SigningKey` is a *reference* to a private key that lives somewhere else (a PKCS#11
token, an encrypted PKCS#8 file); nothing outside a backend ever holds private key bytes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from atlas_ca.algorithms import KeyType, SignatureAlgorithm


@runtime_checkable
class SigningKey(Protocol):
    """A private key the library can sign with, and its public half.

    ``sign(data)`` hashes ``data`` as ``signature_algorithm`` requires (Streebog for GOST,
    SHA-2 for ECDSA/RSA, none for Ed25519) and returns the bytes that go *as is* into an X.509
    ``signatureValue`` BIT STRING: for GOST ``s || r`` big-endian (RFC 9215 §3.2), for ECDSA the
    DER ``Ecdsa-Sig-Value``, for Ed25519 the 64 raw bytes, for RSA the PKCS #1 v1.5 block.
    """

    @property
    def key_type(self) -> KeyType: ...

    @property
    def signature_algorithm(self) -> SignatureAlgorithm: ...

    @property
    def public_key_info(self) -> bytes:
        """DER of the SubjectPublicKeyInfo."""
        ...

    @property
    def qualified_use_allowed(self) -> bool:
        """False for keys outside a certified HSM (the software backend): profiles refuse them."""
        ...

    def sign(self, data: bytes) -> bytes: ...


class Hasher(Protocol):
    """An incremental hash (Streebog, SHA-2) fed in pieces, e.g. a streamed CRL's TBS."""

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...


@runtime_checkable
class PrehashSigningKey(SigningKey, Protocol):
    """Optional ability: sign a digest computed elsewhere (not Ed25519, which hashes itself).

    ``new_hasher()`` returns the hash ``sign`` would apply; ``sign_digest(h.digest())`` equals
    ``sign(data)`` for the same data, up to the randomness of the signature scheme.
    """

    def new_hasher(self) -> Hasher: ...

    def sign_digest(self, digest: bytes) -> bytes: ...

"""The hash algorithms the status services read in requests, declared once: OCSP CertIDs
(RFC 6960 §4.1.1: SHA-1, what OpenSSL and most clients send, SHA-256 and GOST R 34.11-2012)
and RFC 3161 message imprints (GOST R 34.11-2012 256/512 and SHA-256) choose among them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from atlas_ca import gost
from atlas_ca.asn1.oids import Digest, GostAlgorithm, Oid

__all__ = ["SHA1", "SHA256", "STREEBOG256", "STREEBOG512", "DigestSpec"]


@dataclass(frozen=True)
class DigestSpec:
    """A hash algorithm: its OID, its output size and the function computing it."""

    oid: Oid
    size: int
    compute: Callable[[bytes], bytes] = field(compare=False, repr=False)

    def digest(self, data: bytes) -> bytes:
        return self.compute(data)


SHA1 = DigestSpec(Digest.SHA1, 20, lambda d: hashlib.sha1(d, usedforsecurity=False).digest())
SHA256 = DigestSpec(Digest.SHA256, 32, lambda d: hashlib.sha256(d).digest())
STREEBOG256 = DigestSpec(GostAlgorithm.GOST3411_2012_256, 32, gost.streebog256)
STREEBOG512 = DigestSpec(GostAlgorithm.GOST3411_2012_512, 64, gost.streebog512)

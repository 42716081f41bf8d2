"""What pyhanko-certvalidator needs to know about GOST: plugged in once, through its own seams.

pyhanko-certvalidator (the RFC 5280 §6 engine behind :mod:`atlas_ca.trust`) verifies signatures
through a pluggable ``SignatureValidator`` and decides which algorithms it accepts through an
``AlgorithmUsagePolicy``. This module provides both:

* :class:`GostSignatureValidator` verifies GOST R 34.10-2012 (256 and 512) signatures with
  :mod:`atlas_ca.gost` (Streebog digest, the native engine or the pure fallback) for
  certificates, CRLs and OCSP responses alike, and hands every other algorithm to the library's
  default validator (``cryptography``: RSA, DSA, ECDSA, EdDSA);
* :class:`TrustAlgorithmPolicy` accepts GOST R 34.10-2012 and the usual international
  algorithms above a strength floor, and refuses GOST R 34.10-2001 with a clear reason: such
  certificates are read and shown, but not accepted for qualified use;
* :func:`register_streebog_hashes` teaches asn1crypto's ``Name`` and ``PublicKeyInfo`` the
  Streebog hashes the library looks up by digest name when it matches an OCSP CertID (RFC 6960
  §4.1.1: issuerNameHash, issuerKeyHash), so an OCSP response whose CertID uses
  GOST R 34.11-2012 (as Russian responders answer) is matched like a SHA-1 one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import algos, keys
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.policy_decl import (
    AlgorithmUsageConstraint,
    AlgorithmUsagePolicy,
)
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
    SignatureValidator,
)

from atlas_ca import gost
from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.gost import DIGEST_256, DIGEST_512, register_gost
from atlas_ca.asn1.oids import GostAlgorithm
from atlas_ca.errors import AtlasCaError
from atlas_ca.x509.signatures import verify_gost_digest, verify_signature

#: Signature algorithms of GOST R 34.10-2012, by dotted OID.
GOST_2012_SIGNATURES: dict[str, SignatureAlgorithm] = {
    GostAlgorithm.SIGN_WITH_GOST3411_2012_256.dotted: SignatureAlgorithm.GOST3410_2012_256,
    GostAlgorithm.SIGN_WITH_GOST3411_2012_512.dotted: SignatureAlgorithm.GOST3410_2012_512,
}

#: GOST R 34.10-2001 (with the GOST R 34.11-94 digest): read and shown, never accepted.
GOST_2001_SIGNATURES = frozenset({GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted})

GOST_2001_VERDICT = (
    "GOST R 34.10-2001 is not accepted for qualified use (a qualified signature and the "
    "certificates behind it are made with GOST R 34.10-2012)"
)

#: What pyhanko-certvalidator's default validator can verify (asn1crypto names).
_DEFAULT_VERIFIES = frozenset({"rsassa_pkcs1v15", "rsassa_pss", "dsa", "ecdsa", "ed25519", "ed448"})


def is_gost_2001(signature_oid: str) -> bool:
    return signature_oid in GOST_2001_SIGNATURES


class GostSignatureValidator(SignatureValidator):
    """GOST R 34.10-2012 through :mod:`atlas_ca.gost`; anything else through the default."""

    #: Successful verifications remembered, by (signature, key, data): the same CRL is checked
    #: again for every path that uses it, and a 100,000-entry CRL's TBS is 4 MB of Streebog.
    CACHE_SIZE = 32

    def __init__(self) -> None:
        self._default = DefaultSignatureValidator()
        # (signature, key, prehashed) -> the data it verified over (compared, not hashed: a
        # dictionary key of 4 MB would be hashed on every lookup)
        self._verified: OrderedDict[tuple[bytes, bytes, bool], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        dotted = signature_algorithm["algorithm"].dotted
        algorithm = GOST_2012_SIGNATURES.get(dotted)
        if dotted in GOST_2001_SIGNATURES:
            # a CRL or OCSP answer signed with GOST R 34.10-2001 is unusable, never trusted
            raise InvalidSignature(GOST_2001_VERDICT)
        if algorithm is None:
            try:
                self._default.validate_signature(
                    signature, signed_data, public_key_info, signature_algorithm, context
                )
            except (UnsupportedAlgorithm, AlgorithmNotSupported, TypeError, ValueError) as exc:
                raise InvalidSignature(f"signature algorithm {dotted}: {exc}") from exc
            return
        spki = public_key_info.dump()
        key = (bytes(signature), spki, context.prehashed)
        with self._lock:
            if self._verified.get(key) == signed_data:
                self._verified.move_to_end(key)
                return
        try:
            if context.prehashed:
                verify_gost_digest(spki, algorithm, signed_data, signature)
            else:
                verify_signature(spki, algorithm, signed_data, signature)
        except AtlasCaError as exc:  # SignatureInvalid, DecodeError (unreadable key)
            raise InvalidSignature(str(exc)) from exc
        with self._lock:
            self._verified[key] = bytes(signed_data)
            while len(self._verified) > self.CACHE_SIZE:
                self._verified.popitem(last=False)


@dataclass(frozen=True, slots=True)
class AlgorithmPolicy:
    """Which algorithms a path may use. Defaults fit qualified Russian certificates and modern
    international ones; the NIST PKITS suite (1024-bit RSA/DSA, SHA-1) needs the looser floor."""

    allow_sha1: bool = False
    min_rsa_bits: int = 2048
    min_dsa_bits: int = 2048


class TrustAlgorithmPolicy(AlgorithmUsagePolicy):
    """:class:`AlgorithmPolicy` in the form pyhanko-certvalidator asks it (per signature)."""

    def __init__(self, policy: AlgorithmPolicy | None = None) -> None:
        policy = policy or AlgorithmPolicy()
        self.policy = policy
        weak = {"md2", "md5"} | (set() if policy.allow_sha1 else {"sha1"})
        self._weak_digests = frozenset(weak)

    def digest_algorithm_allowed(
        self, algo: algos.DigestAlgorithm, moment: datetime | None
    ) -> AlgorithmUsageConstraint:
        name = algo["algorithm"].native
        if algo["algorithm"].dotted == GostAlgorithm.GOST3411_94.dotted:
            return AlgorithmUsageConstraint(False, failure_reason=GOST_2001_VERDICT)
        if name in self._weak_digests:
            return AlgorithmUsageConstraint(False, failure_reason=f"{name} is too weak")
        return AlgorithmUsageConstraint(True)

    def signature_algorithm_allowed(
        self,
        algo: algos.SignedDigestAlgorithm,
        moment: datetime | None,
        public_key: keys.PublicKeyInfo | None,
    ) -> AlgorithmUsageConstraint:
        dotted = algo["algorithm"].dotted
        if dotted in GOST_2012_SIGNATURES:
            return AlgorithmUsageConstraint(True)
        if dotted in GOST_2001_SIGNATURES:
            return AlgorithmUsageConstraint(False, failure_reason=GOST_2001_VERDICT)
        try:
            name = algo.signature_algo
            hash_name = algo.hash_algo if name not in ("ed25519", "ed448") else None
        except ValueError:
            return AlgorithmUsageConstraint(
                False, failure_reason=f"signature algorithm {dotted} is not supported"
            )
        if name not in _DEFAULT_VERIFIES:
            return AlgorithmUsageConstraint(
                False, failure_reason=f"signature algorithm {name} is not supported"
            )
        if hash_name is not None and hash_name in self._weak_digests:
            return AlgorithmUsageConstraint(
                False, failure_reason=f"its digest {hash_name} is too weak"
            )
        if public_key is not None and name.startswith("rsa"):
            return self._size(public_key, "RSA", self.policy.min_rsa_bits)
        if public_key is not None and name == "dsa":
            return self._size(public_key, "DSA", self.policy.min_dsa_bits)
        return AlgorithmUsageConstraint(True)

    @staticmethod
    def _size(public_key: keys.PublicKeyInfo, what: str, floor: int) -> AlgorithmUsageConstraint:
        try:
            bits = int(public_key.bit_size)
        except (ValueError, TypeError, KeyError):
            return AlgorithmUsageConstraint(True)  # inherited DSA parameters: size unknown here
        if bits < floor:
            return AlgorithmUsageConstraint(
                False, failure_reason=f"{what} key of {bits} bits is below {floor}"
            )
        return AlgorithmUsageConstraint(True)


_registered = False
_lock = threading.Lock()


def _hash_property(attr: str, digest: Any, of: Any) -> property:
    cache = f"_atlas_{attr}"

    def get(self: Any) -> bytes:
        value: bytes | None = self.__dict__.get(cache)
        if value is None:
            value = digest(of(self))
            self.__dict__[cache] = value
        return value

    return property(get)


def _name_der(name: Any) -> bytes:
    der: bytes = name.dump()
    return der


def _key_bits(info: Any) -> bytes:
    return bytes(info["public_key"])


def register_streebog_hashes() -> None:
    """Give asn1crypto ``Name`` and ``PublicKeyInfo`` the Streebog digests by their asn1crypto
    names (``streebog256``, ``streebog512``), as they have ``sha1``/``sha256``; idempotent."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        register_gost()
        for attr, fn in ((DIGEST_256, gost.streebog256), (DIGEST_512, gost.streebog512)):
            setattr(asn1_x509.Name, attr, _hash_property(attr, fn, _name_der))
            setattr(keys.PublicKeyInfo, attr, _hash_property(attr, fn, _key_bits))
        _registered = True


__all__ = [
    "GOST_2001_SIGNATURES",
    "GOST_2001_VERDICT",
    "GOST_2012_SIGNATURES",
    "AlgorithmPolicy",
    "GostSignatureValidator",
    "TrustAlgorithmPolicy",
    "is_gost_2001",
    "register_streebog_hashes",
]

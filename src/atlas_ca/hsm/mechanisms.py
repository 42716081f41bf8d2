"""PKCS#11 mechanisms as data: one table per key family, numbers as plain ``int``.

Standard numbers are from PKCS #11 v2.40/3.0 (``pkcs11t.h``). The GOST R 34.10-2012-512 and
Streebog numbers are the TC26 vendor extension ("Guidelines: the PKCS#11 extensions for
implementing the GOST R 34.10-2012 and GOST R 34.11-2012 Russian standards"): vendor base
``CK_VENDOR_PKCS11_RU_TEAM_TC26 = 0xD4321000`` (``CKR_VENDOR_DEFINED | 0x54321000``), as the
p11-kit header ``common/pkcs11x.h`` and the Rutoken SDK (``RtPkcs11Constants``) define it
(``tests/vectors/tc26_pkcs11_constants.txt`` records them; a test checks this table against it).

Because a mechanism is a plain number, SoftHSM's ``CKM_GOSTR3410`` (0x1201) and a Russian
token's ``CKM_GOSTR3410_512`` (0xD4321006) take the same code path in :mod:`atlas_ca.hsm.pkcs11`;
only the entry of the table differs.

Each signing entry says what happens *before* the token is called (``prehash``: the digest is
computed in software, e.g. Streebog-256 for ``CKM_GOSTR3410``; ``prefix``: the DigestInfo of
``CKM_RSA_PKCS``) and *after* (``post``: ECDSA's ``r || s`` becomes the DER ``Ecdsa-Sig-Value``;
GOST's ``s || r`` big-endian is already the X.509 signatureValue, per docs/hsm.md).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.hsm.base import Hasher

# --- PKCS #11 constants (pkcs11t.h) ------------------------------------------------------------

CKO_PUBLIC_KEY: Final = 0x2
CKO_PRIVATE_KEY: Final = 0x3

CKK_RSA: Final = 0x0
CKK_EC: Final = 0x3
CKK_GOSTR3410: Final = 0x30
CKK_EC_EDWARDS: Final = 0x40

CKM_RSA_PKCS_KEY_PAIR_GEN: Final = 0x0
CKM_RSA_PKCS: Final = 0x1
CKM_EC_KEY_PAIR_GEN: Final = 0x1040
CKM_ECDSA: Final = 0x1041
CKM_EC_EDWARDS_KEY_PAIR_GEN: Final = 0x1055
CKM_EDDSA: Final = 0x1057
CKM_GOSTR3410_KEY_PAIR_GEN: Final = 0x1200
CKM_GOSTR3410: Final = 0x1201
CKM_GOSTR3410_WITH_GOSTR3411: Final = 0x1202
CKM_GOSTR3411: Final = 0x1210

CKA_GOSTR3410_PARAMS: Final = 0x250
CKA_GOSTR3411_PARAMS: Final = 0x251

# --- TC26 vendor extension ---------------------------------------------------------------------

CKR_VENDOR_DEFINED: Final = 0x80000000
CK_VENDOR_PKCS11_RU_TEAM_TC26: Final = CKR_VENDOR_DEFINED | 0x54321000

CKK_GOSTR3410_512: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x003
CKM_GOSTR3410_512_KEY_PAIR_GEN: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x005
CKM_GOSTR3410_512: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x006
CKM_GOSTR3410_2012_DERIVE: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x007
CKM_GOSTR3410_WITH_GOSTR3411_2012_256: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x008
CKM_GOSTR3410_WITH_GOSTR3411_2012_512: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x009
CKM_GOSTR3411_2012_256: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x012
CKM_GOSTR3411_2012_512: Final = CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x013

#: Every constant above by name, for messages ("CKM_GOSTR3410_512 (0xD4321006)") and the test
#: against the primary source.
NAMES: Final[Mapping[str, int]] = MappingProxyType(
    {
        name: value
        for name, value in dict(globals()).items()
        if name.startswith(("CKK_", "CKM_", "CKA_", "CKO_", "CK_VENDOR")) and isinstance(value, int)
    }
)


def mechanism_name(number: int) -> str:
    """``"CKM_GOSTR3410 (0x1201)"`` for a known mechanism, ``"mechanism 0x…"`` otherwise."""
    for name, value in NAMES.items():
        if value == number and name.startswith("CKM_"):
            return f"{name} (0x{number:X})"
    return f"mechanism 0x{number:X}"


# --- what happens around the token call --------------------------------------------------------


class PreHash(enum.Enum):
    """The digest computed in software before the token signs (NONE: the token hashes)."""

    NONE = "none"
    STREEBOG256 = "streebog256"
    STREEBOG512 = "streebog512"
    SHA256 = "sha256"
    SHA384 = "sha384"

    @property
    def digest_size(self) -> int:
        return {"none": 0, "streebog256": 32, "streebog512": 64, "sha256": 32, "sha384": 48}[
            self.value
        ]


class PostStep(enum.Enum):
    """How the token's output becomes the X.509 signatureValue."""

    AS_IS = "as-is"  # GOST s||r big-endian, Ed25519 R||S, RSA PKCS #1 v1.5 block
    ECDSA_RAW_TO_DER = "ecdsa-raw-to-der"  # r||s (PKCS #11 §2.3.1) -> Ecdsa-Sig-Value


class _HashlibHasher:
    __slots__ = ("_h",)

    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()


def new_hasher(step: PreHash) -> Hasher:
    """A fresh incremental hasher for ``step`` (not for :attr:`PreHash.NONE`)."""
    if step is PreHash.STREEBOG256 or step is PreHash.STREEBOG512:
        from atlas_ca.gost import Streebog

        return Streebog(step.digest_size)
    if step is PreHash.SHA256 or step is PreHash.SHA384:
        return _HashlibHasher(step.value)
    raise ValueError(f"pre-hash step {step.value!r} has no software hasher")


def prehash(step: PreHash, data: bytes) -> bytes:
    """``data`` hashed as ``step`` says; ``data`` itself for :attr:`PreHash.NONE`."""
    if step is PreHash.NONE:
        return data
    if step is PreHash.STREEBOG256:
        from atlas_ca.gost import streebog256

        return streebog256(data)
    if step is PreHash.STREEBOG512:
        from atlas_ca.gost import streebog512

        return streebog512(data)
    return hashlib.new(step.value, data).digest()


def post_process(step: PostStep, raw: bytes) -> bytes:
    if step is PostStep.AS_IS:
        return raw
    half = len(raw) // 2
    if len(raw) % 2 or half == 0:
        raise ValueError(f"ECDSA signature from the token has odd length {len(raw)}")
    r = int.from_bytes(raw[:half], "big")
    s = int.from_bytes(raw[half:], "big")
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature(r, s)


# DigestInfo prefixes of RFC 8017 §9.2 note 1 (the DER before the hash in EMSA-PKCS1-v1_5).
_SHA256_DIGEST_INFO: Final = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True, slots=True)
class SignMechanism:
    """How one key family signs through PKCS#11: mechanism, steps before and after."""

    name: str
    number: int
    signature_algorithm: SignatureAlgorithm
    prehash: PreHash
    post: PostStep = PostStep.AS_IS
    prefix: bytes = b""
    parameter: bytes | None = None

    def token_input(self, digest_or_data: bytes) -> bytes:
        """What ``C_Sign`` receives, given the software digest (or the data for NONE)."""
        return self.prefix + digest_or_data


@dataclass(frozen=True, slots=True)
class KeygenMechanism:
    name: str
    number: int
    key_class_type: int  # CKA_KEY_TYPE of the pair


#: The signing table. GOST 256 uses the standard CKM_GOSTR3410 over a Streebog-256 digest
#: (the 2001 mechanism is the same mathematics for 34.10-2012-256, see docs/hsm.md); GOST 512
#: uses the TC26 CKM_GOSTR3410_512 over a Streebog-512 digest.
SIGNING: Final[Mapping[KeyType, SignMechanism]] = MappingProxyType(
    {
        KeyType.GOST3410_2012_256: SignMechanism(
            "CKM_GOSTR3410",
            CKM_GOSTR3410,
            SignatureAlgorithm.GOST3410_2012_256,
            PreHash.STREEBOG256,
        ),
        KeyType.GOST3410_2012_512: SignMechanism(
            "CKM_GOSTR3410_512",
            CKM_GOSTR3410_512,
            SignatureAlgorithm.GOST3410_2012_512,
            PreHash.STREEBOG512,
        ),
        KeyType.EC_P256: SignMechanism(
            "CKM_ECDSA",
            CKM_ECDSA,
            SignatureAlgorithm.ECDSA_SHA256,
            PreHash.SHA256,
            PostStep.ECDSA_RAW_TO_DER,
        ),
        KeyType.EC_P384: SignMechanism(
            "CKM_ECDSA",
            CKM_ECDSA,
            SignatureAlgorithm.ECDSA_SHA384,
            PreHash.SHA384,
            PostStep.ECDSA_RAW_TO_DER,
        ),
        KeyType.ED25519: SignMechanism(
            "CKM_EDDSA", CKM_EDDSA, SignatureAlgorithm.ED25519, PreHash.NONE
        ),
        KeyType.RSA: SignMechanism(
            "CKM_RSA_PKCS",
            CKM_RSA_PKCS,
            SignatureAlgorithm.RSA_SHA256,
            PreHash.SHA256,
            prefix=_SHA256_DIGEST_INFO,
        ),
    }
)

#: The key-generation table.
KEYGEN: Final[Mapping[KeyType, KeygenMechanism]] = MappingProxyType(
    {
        KeyType.GOST3410_2012_256: KeygenMechanism(
            "CKM_GOSTR3410_KEY_PAIR_GEN", CKM_GOSTR3410_KEY_PAIR_GEN, CKK_GOSTR3410
        ),
        KeyType.GOST3410_2012_512: KeygenMechanism(
            "CKM_GOSTR3410_512_KEY_PAIR_GEN", CKM_GOSTR3410_512_KEY_PAIR_GEN, CKK_GOSTR3410_512
        ),
        KeyType.EC_P256: KeygenMechanism("CKM_EC_KEY_PAIR_GEN", CKM_EC_KEY_PAIR_GEN, CKK_EC),
        KeyType.EC_P384: KeygenMechanism("CKM_EC_KEY_PAIR_GEN", CKM_EC_KEY_PAIR_GEN, CKK_EC),
        KeyType.ED25519: KeygenMechanism(
            "CKM_EC_EDWARDS_KEY_PAIR_GEN", CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS
        ),
        KeyType.RSA: KeygenMechanism(
            "CKM_RSA_PKCS_KEY_PAIR_GEN", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA
        ),
    }
)


__all__ = [
    "KEYGEN",
    "NAMES",
    "SIGNING",
    "KeygenMechanism",
    "PostStep",
    "PreHash",
    "SignMechanism",
    "mechanism_name",
    "new_hasher",
    "post_process",
    "prehash",
]

"""GOST primitives: Streebog (GOST R 34.11-2012) and GOST R 34.10-2012 signatures.

One interface, two engines (see :mod:`atlas_ca.gost.engine`): the system libcrypto with
OpenSSL's gost engine ("native", fast) and gostcrypto ("pure", portable fallback). Byte orders
follow X.509 and PKCS#11: public key ``X||Y`` little-endian, digest read as a little-endian
integer, signature ``s||r`` big-endian.

Importing this package registers the GOST OIDs and key specs with asn1crypto
(:func:`atlas_ca.asn1.gost.register_gost`).
"""

from __future__ import annotations

from atlas_ca.asn1.gost import register_gost
from atlas_ca.gost.engine import ENV_VAR, EngineName, active_engine
from atlas_ca.gost.hash import Streebog, streebog256, streebog512
from atlas_ca.gost.keys import GostPublicKey
from atlas_ca.gost.params import PARAM_SETS, TEST_PARAM_SETS, ParamSet, param_set
from atlas_ca.gost.sign import (
    generate_private_scalar,
    public_key_from_private,
    sign,
    sign_digest,
    verify,
    verify_digest,
)

register_gost()

__all__ = [
    "ENV_VAR",
    "PARAM_SETS",
    "TEST_PARAM_SETS",
    "EngineName",
    "GostPublicKey",
    "ParamSet",
    "Streebog",
    "active_engine",
    "generate_private_scalar",
    "param_set",
    "public_key_from_private",
    "sign",
    "sign_digest",
    "streebog256",
    "streebog512",
    "verify",
    "verify_digest",
]

"""Trust: RFC 5280 path validation with revocation (pyhanko-certvalidator with GOST plugged in),
trust stores of head-CA certificates, and signed requests validated up to them."""

from atlas_ca.trust.gost_plugin import GOST_2001_VERDICT, AlgorithmPolicy
from atlas_ca.trust.validation import (
    Check,
    PathCertificate,
    PathValidator,
    PolicyInputs,
    RevocationMode,
    ValidatedPath,
    algorithm_verdict,
    describe,
    load_certificate,
)

__all__ = [
    "GOST_2001_VERDICT",
    "AlgorithmPolicy",
    "Check",
    "PathCertificate",
    "PathValidator",
    "PolicyInputs",
    "RevocationMode",
    "ValidatedPath",
    "algorithm_verdict",
    "describe",
    "load_certificate",
]

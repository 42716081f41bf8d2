"""NIST PKITS (RFC 5280 path validation suite) §4.1–4.16 through atlas_ca.trust.PathValidator.

Every case of tests/vectors/pkits/pkits.json runs, none skipped: a valid path must validate
with the expected length, an invalid one must be refused with the expected kind of error (and
the library's own failure text, which names the certificate's position and the check).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.errors import CertificateRevoked, PathValidationFailed, RevocationUnknown
from atlas_ca.trust import AlgorithmPolicy, PathValidator, PolicyInputs, RevocationMode

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "pkits"
AT = datetime(2022, 5, 1, tzinfo=UTC)  # the moment the fixtures' expectations were made for
# PKITS (2011) uses 1024-bit RSA/DSA and SHA-1: accepted here only, never by default.
PKITS_ALGORITHMS = AlgorithmPolicy(allow_sha1=True, min_rsa_bits=1024, min_dsa_bits=1024)

EXPECTED_ERRORS: dict[str, type[PathValidationFailed]] = {
    "PathValidationError": PathValidationFailed,
    "RevokedError": CertificateRevoked,
    "InsufficientRevinfoError": RevocationUnknown,
    "StaleRevinfoError": RevocationUnknown,
}


def cert(name: str) -> bytes:
    return (VECTORS / "certs" / name).read_bytes()


def crl(name: str) -> bytes:
    return (VECTORS / "crls" / name).read_bytes()


def policy_inputs(params: dict[str, Any] | None) -> PolicyInputs:
    if params is None:
        return PolicyInputs()
    initial = params.get("user_initial_policy_set")
    return PolicyInputs(
        initial_policies=None if initial is None else frozenset(initial),
        explicit_policy=bool(params.get("initial_explicit_policy", False)),
        inhibit_policy_mapping=bool(params.get("initial_policy_mapping_inhibit", False)),
        inhibit_any_policy=bool(params.get("initial_any_policy_inhibit", False)),
    )


@dataclass(frozen=True)
class Case:
    raw: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.raw['id']}-{self.raw['name']}"

    def validator(self) -> PathValidator:
        return PathValidator(
            [cert("TrustAnchorRootCertificate.crt")],
            intermediates=[cert(n) for n in self.raw.get("other_certs", [])],
            crls=[crl("TrustAnchorRootCRL.crl"), *(crl(n) for n in self.raw.get("crls", []))],
            revocation=(
                RevocationMode.REQUIRE
                if self.raw.get("revocation", True)
                else RevocationMode.IF_DECLARED
            ),
            algorithms=PKITS_ALGORITHMS,
        )


CASES = [Case(c) for c in json.loads((VECTORS / "pkits.json").read_text())]
NOTICE_CASES = [Case(c) for c in json.loads((VECTORS / "pkits-user-notice.json").read_text())]


def test_the_suite_covers_every_section_4_1_to_4_16() -> None:
    sections = {int(c.raw["id"][1:3]) for c in CASES}
    assert sections == set(range(1, 17))
    assert len(CASES) == 246


@pytest.mark.parametrize("case", CASES, ids=str)
def test_pkits_case(case: Case) -> None:
    validator = case.validator()
    path = case.raw.get("path_intermediates")
    params = policy_inputs(case.raw.get("params"))
    kwargs: dict[str, Any] = {"at": AT, "policy": params}
    if path is not None:
        kwargs["path"] = [cert(n) for n in path]
    expected = case.raw.get("error")
    if expected is None:
        result = validator.validate(cert(case.raw["cert"]), **kwargs)
        assert len(result.certificates) == case.raw["path_len"]
        assert result.anchor.subject == "CN=Trust Anchor,O=Test Certificates 2011,C=US"
        if params.initial_policies is not None and params.initial_policies != {"2.5.29.32.0"}:
            assert result.policies <= params.initial_policies
        return
    with pytest.raises(EXPECTED_ERRORS[expected["class"]]) as info:
        validator.validate(cert(case.raw["cert"]), **kwargs)
    assert re.search(expected["msg_regex"], info.value.context["detail"]), str(info.value)
    assert info.value.context["check"] in str(info.value)


@pytest.mark.parametrize("case", NOTICE_CASES, ids=str)
def test_pkits_user_notice_cases_validate_with_a_policy(case: Case) -> None:
    result = case.validator().validate(cert(case.raw["cert"]), at=AT)
    assert result.policies


def test_pkits_4_8_20_cps_pointer_qualifier_is_valid() -> None:
    """4.8.20 is not in pkits.json (pyhanko-certvalidator runs it as a test of its own)."""
    validator = PathValidator(
        [cert("TrustAnchorRootCertificate.crt")],
        intermediates=[cert("GoodCACert.crt")],
        crls=[crl("TrustAnchorRootCRL.crl"), crl("GoodCACRL.crl")],
        algorithms=PKITS_ALGORITHMS,
    )
    path = validator.validate(cert("CPSPointerQualifierTest20EE.crt"), at=AT)
    assert len(path.certificates) == 3
    assert path.policies == {"2.16.840.1.101.3.2.1.48.1"}

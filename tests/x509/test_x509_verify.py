"""Chain checks of our own artifacts: names, signatures, validity, CA bit, pathLen, keyUsage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atlas_ca.asn1 import oids
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.extensions import BasicConstraints, Extension, KeyUsage, KeyUsageBit
from atlas_ca.x509.names import Name
from atlas_ca.x509.verify import (
    CertificateInvalid,
    require_crl_issuer,
    verify_chain,
    verify_issued_by,
)
from support.x509_signers import MemoryKey, ed25519_key, gost_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 6, 1, tzinfo=UTC)
CA_USAGE = KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}))


def _name(cn: str) -> Name:
    return Name.build([(oids.NameAttribute.COMMON_NAME, cn)])


def issue(
    subject: str,
    key: MemoryKey,
    signer: MemoryKey,
    issuer: Certificate | None,
    *extensions: Extension,
    days: int = 365,
    start: datetime = T0,
) -> Certificate:
    b = CertificateBuilder().subject_name(_name(subject)).public_key(key.public_key_info)
    b = b.issuer_certificate(issuer) if issuer is not None else b.issuer_name(_name(subject))
    return (
        b.random_serial_number()
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extensions(extensions)
        .sign(signer)
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, MemoryKey]:
    return {"root": gost_key("tc26-512-a"), "sub": gost_key("cryptopro-a"), "leaf": ed25519_key()}


def chain(
    keys: dict[str, MemoryKey], root_path_len: int | None = 1, sub_usage: KeyUsage = CA_USAGE
) -> tuple[Certificate, Certificate, Certificate]:
    root = issue(
        "Root", keys["root"], keys["root"], None,
        BasicConstraints(True, True, root_path_len), CA_USAGE, days=3650,
    )  # fmt: skip
    sub = issue(
        "Sub", keys["sub"], keys["root"], root, BasicConstraints(True, True, 0), sub_usage,
        days=1000,
    )  # fmt: skip
    leaf = issue("Leaf", keys["leaf"], keys["sub"], sub)
    return root, sub, leaf


def test_a_good_three_level_chain_verifies(keys: dict[str, MemoryKey]) -> None:
    root, sub, leaf = chain(keys)
    verify_chain(leaf, [sub, root], at=AT)
    verify_chain(sub, [root], at=AT)


def test_path_length_zero_forbids_an_intermediate(keys: dict[str, MemoryKey]) -> None:
    root, sub, leaf = chain(keys, root_path_len=0)
    verify_chain(sub, [root], at=AT)
    with pytest.raises(CertificateInvalid, match="allows 0 CA certificates below it"):
        verify_chain(leaf, [sub, root], at=AT)


def test_an_issuer_without_key_cert_sign_is_refused(keys: dict[str, MemoryKey]) -> None:
    crl_only = KeyUsage(True, frozenset({KeyUsageBit.CRL_SIGN}))
    root, sub, leaf = chain(keys, sub_usage=crl_only)
    with pytest.raises(CertificateInvalid, match="keyUsage lacks KEY_CERT_SIGN"):
        verify_chain(leaf, [sub, root], at=AT)


def test_an_end_entity_cannot_issue(keys: dict[str, MemoryKey]) -> None:
    root, sub, leaf = chain(keys)
    below = issue("Below", ed25519_key(), keys["leaf"], leaf)
    with pytest.raises(CertificateInvalid, match="is not a CA"):
        verify_chain(below, [leaf, sub, root], at=AT)


@pytest.mark.parametrize(
    ("at", "message"),
    [(T0 - timedelta(seconds=1), "not yet valid"), (T0 + timedelta(days=366), "has expired")],
)
def test_validity_is_checked_at_the_given_time(
    keys: dict[str, MemoryKey], at: datetime, message: str
) -> None:
    root, sub, leaf = chain(keys)
    with pytest.raises(CertificateInvalid, match=message):
        verify_chain(leaf, [sub, root], at=at)


def test_names_must_chain(keys: dict[str, MemoryKey]) -> None:
    _root, sub, _leaf = chain(keys)
    other_root = issue(
        "Other", keys["root"], keys["root"], None, BasicConstraints(True, True), CA_USAGE
    )
    with pytest.raises(CertificateInvalid, match="names issuer CN=Root"):
        verify_issued_by(sub, other_root)


def test_a_signature_by_another_key_is_refused(keys: dict[str, MemoryKey]) -> None:
    _root, sub, _ = chain(keys)
    impostor = issue(
        "Root", gost_key("tc26-512-a"), keys["root"], None, BasicConstraints(True, True), CA_USAGE
    )
    with pytest.raises(CertificateInvalid, match="does not verify with the issuer's key"):
        verify_issued_by(sub, impostor)


def test_the_chain_must_end_in_a_self_signed_root(keys: dict[str, MemoryKey]) -> None:
    _, sub, leaf = chain(keys)
    with pytest.raises(CertificateInvalid, match="not self-signed"):
        verify_chain(leaf, [sub], at=AT)


def test_a_crl_issuer_needs_the_ca_bit_and_crl_sign(keys: dict[str, MemoryKey]) -> None:
    root, _, leaf = chain(keys)
    require_crl_issuer(root)
    with pytest.raises(CertificateInvalid, match="not a CA"):
        require_crl_issuer(leaf)
    signer_only = issue(
        "KCS", keys["sub"], keys["sub"], None, BasicConstraints(True, True),
        KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN})),
    )  # fmt: skip
    with pytest.raises(CertificateInvalid, match="lacks CRL_SIGN"):
        require_crl_issuer(signer_only)


def test_the_crl_engineer_gets_the_issuer_key_and_subject_der(keys: dict[str, MemoryKey]) -> None:
    root, _, _ = chain(keys)
    assert root.public_key_info == keys["root"].public_key_info
    assert root.subject_der == _name("Root").der

"""OCSP answers (RFC 6960) as revocation information: GOST-signed, with Streebog or SHA-1
CertIDs, instead of the CA's CRL. As pyhanko-certvalidator does, an OCSP answer is consulted for
a certificate that names an OCSP responder in its authorityInfoAccess (our CA's always do)."""

from __future__ import annotations

import dataclasses

import pytest

from atlas_ca.errors import CertificateRevoked, RevocationUnknown
from atlas_ca.trust import PathValidator
from atlas_ca.x509.extensions import AuthorityInformationAccess
from support.trust_pki import AT, EE_USAGE, Pki, gost_key, issue, make_pki, name, ocsp_response


@pytest.fixture(scope="module")
def pki() -> Pki:
    base = make_pki()
    leaf = issue(
        name("Иванов Иван"), base.leaf_key, base.sub_key, base.sub, EE_USAGE,
        AuthorityInformationAccess.of(ocsp=["http://ocsp.ca.test"]),
    )  # fmt: skip
    return dataclasses.replace(base, leaf=leaf)


def validator(pki: Pki, *responses: bytes) -> PathValidator:
    """The root's CRL covers the CA; only OCSP answers speak for the leaf."""
    return PathValidator(
        [pki.root.der], intermediates=[pki.sub.der], crls=[pki.root_crl()],
        ocsp_responses=responses,
    )  # fmt: skip


@pytest.mark.parametrize("cert_id_hash", ["streebog256", "sha1"])
def test_a_good_ocsp_answer_is_enough_revocation_information(pki: Pki, cert_id_hash: str) -> None:
    good = ocsp_response(pki.leaf, pki.sub, pki.sub_key, cert_id_hash=cert_id_hash)
    path = validator(pki, good).validate(pki.leaf, at=AT)
    assert path.target.serial == pki.leaf.serial_number


def test_a_revoked_ocsp_answer_refuses(pki: Pki) -> None:
    revoked = ocsp_response(pki.leaf, pki.sub, pki.sub_key, status="revoked")
    with pytest.raises(CertificateRevoked) as info:
        validator(pki, revoked).validate(pki.leaf, at=AT)
    assert "OCSP" in str(info.value)


def test_without_an_answer_or_with_a_forged_one_revocation_is_unknown(pki: Pki) -> None:
    with pytest.raises(RevocationUnknown):
        validator(pki).validate(pki.leaf, at=AT)
    forged = ocsp_response(pki.leaf, pki.sub, gost_key())
    with pytest.raises(RevocationUnknown):
        validator(pki, forged).validate(pki.leaf, at=AT)


def test_an_answer_about_another_certificate_does_not_count(pki: Pki) -> None:
    about_other = ocsp_response(pki.sub, pki.sub, pki.sub_key)  # the CA's serial, not the leaf's
    with pytest.raises(RevocationUnknown):
        validator(pki, about_other).validate(pki.leaf, at=AT)

"""The CRL index answers exactly as pyhanko-certvalidator's own linear scan (every PKITS CRL,
indirect CRLs with certificateIssuer entries included, against every PKITS certificate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509

from atlas_ca.trust import crl_index
from atlas_ca.trust.crl_index import find_cert_in_list, library_find_cert_in_list
from support.trust_pki import AT, make_pki, revoked

PKITS = Path(__file__).resolve().parent.parent / "vectors" / "pkits"


def _answer(fn: Any, *args: Any) -> Any:
    try:
        date, reason = fn(*args)
    except NotImplementedError:
        return "unusable"
    return date, None if reason is None else reason.native


def test_the_index_agrees_with_the_library_on_every_pkits_crl_and_certificate() -> None:
    certs = [asn1_x509.Certificate.load(p.read_bytes()) for p in sorted(PKITS.glob("certs/*"))]
    crls = [asn1_crl.CertificateList.load(p.read_bytes()) for p in sorted(PKITS.glob("crls/*"))]
    compared = revoked_found = 0
    for crl in crls:
        entries = crl["tbs_cert_list"]["revoked_certificates"]
        if not len(entries):
            continue
        authority = crl.issuer
        for cert in certs:
            args = (cert, cert.issuer, crl, authority)
            expected = _answer(library_find_cert_in_list, *args)
            assert _answer(find_cert_in_list, *args) == expected, (
                cert.subject.native,
                crl.issuer.native,
            )
            compared += 1
            revoked_found += expected != (None, None)
    assert compared > 9_000
    assert revoked_found >= 30  # PKITS revokes certificates in dozens of its CRLs


def test_a_gost_crl_entry_is_found_and_a_missing_one_is_not() -> None:
    pki = make_pki()
    crl = asn1_crl.CertificateList.load(pki.sub_crl(revoked(pki.leaf)))
    leaf = asn1_x509.Certificate.load(pki.leaf.der)
    sub = asn1_x509.Certificate.load(pki.sub.der)
    date, reason = find_cert_in_list(leaf, leaf.issuer, crl, crl.issuer)
    assert reason.native == "key_compromise"
    assert date < AT
    assert find_cert_in_list(sub, leaf.issuer, crl, crl.issuer) == (None, None)


def test_installing_routes_the_library_through_the_index() -> None:
    from pyhanko_certvalidator.revinfo import validate_crl

    crl_index.install()
    assert validate_crl.find_cert_in_list is find_cert_in_list


@pytest.mark.parametrize("n", [0, 1])
def test_an_empty_crl_and_a_one_entry_crl_index(n: int) -> None:
    pki = make_pki()
    crl = asn1_crl.CertificateList.load(pki.sub_crl(*[revoked(pki.leaf)] * n))
    leaf = asn1_x509.Certificate.load(pki.leaf.der)
    found = find_cert_in_list(leaf, leaf.issuer, crl, crl.issuer)
    assert (found != (None, None)) == (n > 0)

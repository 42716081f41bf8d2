"""Differential check: OpenSSL (gost engine, -crl_check_all) and atlas_ca.trust reach the same
verdict on the same GOST chain and CRLs — good, revoked leaf, revoked CA, wrong root."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.errors import PathValidationFailed
from atlas_ca.trust import PathValidator
from atlas_ca.x509.pem import PemLabel, pem_encode
from support.atlas_testing import OpenSSL
from support.trust_pki import AT, Pki, make_pki, revoked

pytestmark = pytest.mark.openssl_gost


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def _ours(root: bytes, pki: Pki, crls: list[bytes]) -> bool:
    try:
        PathValidator([root], intermediates=[pki.sub.der], crls=crls).validate(pki.leaf, at=AT)
    except PathValidationFailed:
        return False
    return True


def _openssl(openssl: OpenSSL, tmp: Path, root: bytes, pki: Pki, crls: list[bytes]) -> bool:
    (tmp / "root.pem").write_bytes(pem_encode(root, PemLabel.CERTIFICATE))
    (tmp / "sub.pem").write_bytes(pki.sub.pem())
    (tmp / "leaf.pem").write_bytes(pki.leaf.pem())
    (tmp / "crls.pem").write_bytes(b"".join(pem_encode(c, PemLabel.X509_CRL) for c in crls))
    proc = openssl.run(
        ["verify", "-crl_check_all", "-attime", str(int(AT.timestamp())), "-CAfile",
         tmp / "root.pem", "-untrusted", tmp / "sub.pem", "-CRLfile", tmp / "crls.pem",
         tmp / "leaf.pem"],
        check=False,
    )  # fmt: skip
    return proc.returncode == 0


@pytest.mark.parametrize("case", ["good", "revoked leaf", "revoked CA", "another root"])
def test_openssl_and_atlas_ca_agree(
    case: str, pki: Pki, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    root = pki.root.der
    crls = [pki.root_crl(), pki.sub_crl()]
    if case == "revoked leaf":
        crls = [pki.root_crl(), pki.sub_crl(revoked(pki.leaf))]
    elif case == "revoked CA":
        crls = [pki.root_crl(revoked(pki.sub)), pki.sub_crl()]
    elif case == "another root":
        root = make_pki().root.der  # same name, another key
    ours = _ours(root, pki, crls)
    theirs = _openssl(openssl_gost, tmp_path, root, pki, crls)
    assert ours == theirs == (case == "good")

"""GOST CAdES-BES signed requests (atlas_ca.trust.cms), checked against OpenSSL both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms

from atlas_ca.asn1.oids import Cms
from atlas_ca.errors import DecodeError
from atlas_ca.trust.cms import SignedRequestInvalid, open_signed, sign_attached
from support.trust_pki import AT, Pki, gost_key, make_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def test_a_signed_request_round_trips_with_its_signer_and_chain(pki: Pki) -> None:
    der = sign_attached(b"a CSR", pki.leaf_key, pki.leaf.der, at=AT, chain=[pki.sub.der])
    opened = open_signed(der)
    assert opened.content == b"a CSR"
    assert opened.signer == pki.leaf.der
    assert opened.certificates == (pki.sub.der,)
    assert opened.signing_time == AT


def _without_attribute(der: bytes, dotted: str) -> bytes:
    info = cms.ContentInfo.load(der)
    si = info["content"]["signer_infos"][0]
    si["signed_attrs"] = [a for a in si["signed_attrs"] if a["type"].dotted != dotted]
    return info.dump(force=True)


def test_cades_needs_the_signing_certificate_attribute(pki: Pki) -> None:
    der = sign_attached(b"a CSR", pki.leaf_key, pki.leaf.der, at=AT)
    with pytest.raises(SignedRequestInvalid, match="needs exactly one signed attribute"):
        open_signed(_without_attribute(der, Cms.SIGNING_CERTIFICATE_V2.dotted))


def test_another_certificate_in_the_signer_slot_is_refused(pki: Pki) -> None:
    der = sign_attached(b"a CSR", pki.leaf_key, pki.leaf.der, at=AT)
    info = cms.ContentInfo.load(der)
    other = make_pki().leaf
    from asn1crypto import x509

    info["content"]["certificates"] = [x509.Certificate.load(other.der)]
    with pytest.raises(SignedRequestInvalid, match="not in the SignedData"):
        open_signed(info.dump(force=True))


def test_a_changed_content_does_not_match_the_digest(pki: Pki) -> None:
    der = sign_attached(b"a CSR", pki.leaf_key, pki.leaf.der, at=AT)
    info = cms.ContentInfo.load(der)
    info["content"]["encap_content_info"]["content"] = b"another CSR"
    with pytest.raises(SignedRequestInvalid, match="message digest"):
        open_signed(info.dump(force=True))


def test_a_key_that_is_not_the_certificates_cannot_sign(pki: Pki) -> None:
    with pytest.raises(ValueError, match="does not certify"):
        sign_attached(b"x", gost_key(), pki.leaf.der, at=AT)


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        open_signed(b"\x30\x03\x02\x01\x01")


@pytest.mark.openssl_gost
def test_openssl_verifies_our_signed_request_with_its_chain(
    pki: Pki,
    openssl_gost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    der = sign_attached(b"a CSR", pki.leaf_key, pki.leaf.der, at=AT, chain=[pki.sub.der])
    (tmp_path / "req.p7m").write_bytes(der)
    (tmp_path / "root.pem").write_bytes(pki.root.pem())
    args = ["cms", "-verify", "-inform", "DER", "-in", tmp_path / "req.p7m", "-CAfile",
            tmp_path / "root.pem", "-purpose", "any", "-attime", str(int(AT.timestamp())),
            "-out", tmp_path / "out"]  # fmt: skip
    ok = openssl_gost.run(args, check=False)
    assert ok.returncode == 0, ok.stderr.decode()
    assert (tmp_path / "out").read_bytes() == b"a CSR"


@pytest.mark.openssl_gost
def test_we_open_a_cades_request_signed_by_openssl(
    openssl_gost,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    openssl_gost.run(["genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
                      "-out", key])  # fmt: skip
    openssl_gost.run(["req", "-new", "-x509", "-key", key, "-subj", "/CN=client", "-days", "2",
                      "-md_gost12_256", "-out", cert])  # fmt: skip
    (tmp_path / "csr.der").write_bytes(b"a CSR from a client")
    out = tmp_path / "req.p7m"
    openssl_gost.run(["cms", "-sign", "-cades", "-nodetach", "-binary", "-in",
                      tmp_path / "csr.der", "-signer", cert, "-inkey", key, "-md",
                      "md_gost12_256", "-outform", "DER", "-out", out])  # fmt: skip
    opened = open_signed(out.read_bytes())
    assert opened.content == b"a CSR from a client"

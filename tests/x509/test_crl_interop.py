"""CRLs we build are verified by OpenSSL (gost engine) and GnuTLS certtool; theirs by us.

Keys come from the real backends of :mod:`atlas_ca.hsm`: GOST 256 on CryptoPro-A from SoftHSM
(PKCS#11), the rest from the software backend (encrypted PKCS#8 files).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.cli.demo.interop import run_openssl
from atlas_ca.hsm.base import PrehashSigningKey, SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.x509.crl import (
    CrlBuilder,
    FreshestCrl,
    IssuingDistributionPoint,
    RevocationReason,
    RevokedEntry,
    load_crl,
    revocation_time,
)
from support.crl_helpers import NOW, der_to_pem, make_ca

AT = NOW - timedelta(minutes=30)


def _generalized(moment: datetime) -> bytes:
    return moment.strftime("%Y%m%d%H%M%SZ").encode()


@dataclass(frozen=True)
class Issuer:
    key: SigningKey
    ca_der: bytes
    ca_pem: Path


def _software(key_type: KeyType, param_set: str | None = None) -> Callable[[Path, Any], SigningKey]:
    def make(tmp: Path, softhsm: Any) -> SigningKey:
        uri = generate_software_key(
            tmp / "ca.key", key_type, password="test-password", param_set=param_set
        )
        return open_software_key(uri, password="test-password")

    return make


def _softhsm_gost(tmp: Path, softhsm: Any) -> SigningKey:
    token = open_token(softhsm.uri())
    return token.generate_key(
        KeyType.GOST3410_2012_256, label=f"crl-interop-{tmp.name}", param_set="cryptopro-a"
    )


KEYS: dict[str, Callable[[Path, Any], SigningKey]] = {
    "gost256-cryptopro-a-softhsm": _softhsm_gost,
    "gost512-tc26-a-software": _software(KeyType.GOST3410_2012_512, "tc26-512-a"),
    "gost256-tc26-a-software": _software(KeyType.GOST3410_2012_256, "tc26-256-a"),
    "ecdsa-p256-software": _software(KeyType.EC_P256),
    "ed25519-software": _software(KeyType.ED25519),
}

#: GnuTLS 3.7 computes GOST through Nettle, which has only the CryptoPro-A (= TC26 256-B) and
#: TC26 512-A curves: it reports the twisted-Edwards TC26 256 paramSetA as unsupported.
CERTTOOL_UNSUPPORTED = {"gost256-tc26-a-software"}


@pytest.fixture(scope="module", params=sorted(KEYS))
def issuer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    tmp = tmp_path_factory.mktemp(request.param)
    softhsm = request.getfixturevalue("softhsm") if "softhsm" in request.param else None
    key = KEYS[request.param](tmp, softhsm)
    ca_der = make_ca(key, cn=f"Атлас {request.param}")
    ca_pem = tmp / "ca.pem"
    ca_pem.write_bytes(der_to_pem(ca_der))
    return Issuer(key, ca_der, ca_pem)


def _full_and_delta(issuer: Issuer, tmp: Path) -> tuple[Path, Path, Path]:
    base = (
        CrlBuilder()
        .issuer_certificate(issuer.ca_der)
        .this_update(NOW)
        .next_update(NOW + timedelta(days=1))
    )
    full = (
        base.crl_number(100)
        .issuing_distribution_point(
            IssuingDistributionPoint(
                full_name=("http://crl.atlas.ru/ca.crl",), only_contains_user_certs=True
            )
        )
        .freshest_crl(FreshestCrl(("http://crl.atlas.ru/ca-delta.crl",)))
        .sign(
            issuer.key,
            [
                RevokedEntry(0x01A2B3C4D5E6F7, AT, RevocationReason.KEY_COMPROMISE, AT),
                RevokedEntry(2**127 + 5, AT, RevocationReason.CERTIFICATE_HOLD),
                RevokedEntry(77, AT),
            ],
            # the bulk path (RawEntry rows) in the same CRL: serial as the register stores it,
            # as octets, as an int; times as encoded UTCTime / GeneralizedTime content
            rows=[
                ("00" * 4 + "7f" * 16, revocation_time(AT), 1, _generalized(AT)),
                (bytes.fromhex("00ff01"), revocation_time(AT), None, None),
                (2**159 - 1, revocation_time(AT), 9, None),
            ],
        )
    )
    delta = (
        base.crl_number(101)
        .delta_crl_indicator(100)
        .sign(
            issuer.key,
            [
                RevokedEntry(2**127 + 5, AT, RevocationReason.REMOVE_FROM_CRL),
                RevokedEntry(78, AT, RevocationReason.SUPERSEDED),
            ],
            rows=[(bytes.fromhex("00ff01"), revocation_time(NOW), 8, None)],
        )
    )
    full_pem, delta_pem, delta_der = tmp / "full.pem", tmp / "delta.pem", tmp / "delta.der"
    with full_pem.open("wb") as fh:
        full.write_to(fh, pem=True)
    with delta_der.open("wb") as fh:
        delta.write_to(fh)
    delta_pem.write_bytes(delta.pem())
    return full_pem, delta_pem, delta_der


def test_the_signing_key_streams_through_prehash_unless_it_is_ed25519(issuer: Issuer) -> None:
    assert isinstance(issuer.key, PrehashSigningKey) == (issuer.key.key_type is not KeyType.ED25519)


def test_openssl_verifies_our_full_and_delta_crls(
    issuer: Issuer, openssl_gost: Any, tmp_path: Path
) -> None:
    full_pem, _, delta_der = _full_and_delta(issuer, tmp_path)
    for args in (["-in", full_pem], ["-inform", "DER", "-in", delta_der]):
        out = openssl_gost.run(["crl", *args, "-verify", "-CAfile", issuer.ca_pem, "-noout"])
        assert b"verify OK" in out.stdout + out.stderr
    text = openssl_gost.run(["crl", "-inform", "DER", "-in", delta_der, "-noout", "-text"]).stdout
    assert b"Delta CRL Indicator: critical" in text
    assert b"Remove From CRL" in text
    full_text = openssl_gost.run(["crl", "-in", full_pem, "-noout", "-text"]).stdout
    assert b"Issuing Distribution Point: critical" in full_text
    assert b"Certificate Hold" in full_text
    assert b"Invalidity Date" in full_text


def test_certtool_verifies_our_full_and_delta_crls(
    issuer: Issuer, certtool: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    full_pem, delta_pem, _ = _full_and_delta(issuer, tmp_path)
    name = request.node.callspec.params["issuer"]
    for crl in (full_pem, delta_pem):
        out = certtool.run(
            ["--verify-crl", "--load-ca-certificate", issuer.ca_pem, "--infile", crl], check=False
        )
        text = out.stdout + out.stderr
        if name in CERTTOOL_UNSUPPORTED:
            assert out.returncode != 0
            assert b"curve is unsupported" in text
        else:
            assert out.returncode == 0, text.decode(errors="replace")
            assert b"Verification output: Verified." in text


def test_we_verify_our_own_crls_with_the_issuer_certificate(issuer: Issuer, tmp_path: Path) -> None:
    full_pem, delta_pem, _ = _full_and_delta(issuer, tmp_path)
    full = load_crl(full_pem.read_bytes())
    full.verify_issued_by(issuer.ca_der)
    assert full.lookup(2**127 + 5) == RevokedEntry(
        2**127 + 5, AT, RevocationReason.CERTIFICATE_HOLD
    )
    delta = load_crl(delta_pem.read_bytes())
    delta.verify_issued_by(issuer.ca_der)
    assert delta.delta_crl_indicator == 100
    assert delta.lookup(2**127 + 5) == RevokedEntry(
        2**127 + 5, AT, RevocationReason.REMOVE_FROM_CRL
    )
    assert full.lookup(int("7f" * 16, 16)) == RevokedEntry(
        int("7f" * 16, 16), AT, RevocationReason.KEY_COMPROMISE, AT
    )
    assert full.lookup(0xFF01) == RevokedEntry(0xFF01, AT)
    assert full.lookup(2**159 - 1) == RevokedEntry(
        2**159 - 1, AT, RevocationReason.PRIVILEGE_WITHDRAWN
    )
    assert delta.lookup(0xFF01) == RevokedEntry(0xFF01, NOW, RevocationReason.REMOVE_FROM_CRL)


# --- CRLs produced by the other tools --------------------------------------------------------

OPENSSL_CA_CNF = """\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
crlnumber = crlnumber
default_md = md_gost12_256
default_crl_days = 7
crl_extensions = crl_ext
certificate = ca.pem
private_key = ca.key
[crl_ext]
authorityKeyIdentifier = keyid:always
"""


@pytest.mark.parametrize(("algorithm", "paramset"), [("gost2012_256", "A"), ("gost2012_512", "A")])
def test_we_parse_and_verify_an_openssl_ca_gencrl_crl(
    openssl_gost: Any, tmp_path: Path, algorithm: str, paramset: str
) -> None:
    ossl = openssl_gost
    ossl.run(
        [
            "req", "-x509", "-newkey", algorithm, "-pkeyopt", f"paramset:{paramset}", "-nodes",
            "-keyout", tmp_path / "ca.key", "-out", tmp_path / "ca.pem", "-days", "30",
            "-subj", "/C=RU/O=Test/CN=OpenSSL GOST CA",
            "-addext", "subjectKeyIdentifier=hash",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]
    )  # fmt: skip
    (tmp_path / "ca.cnf").write_text(
        OPENSSL_CA_CNF.replace(
            "md_gost12_256", "md_gost12_512" if "512" in algorithm else "md_gost12_256"
        )
    )
    (tmp_path / "index.txt").write_text(
        "R\t301231235959Z\t250101000000Z,keyCompromise\t0A1B2C3D4E5F\tunknown\t/CN=a\n"
        "R\t301231235959Z\t250102000000Z,certificateHold\t7F000000000000000001\tunknown\t/CN=b\n"
        "V\t301231235959Z\t\t99\tunknown\t/CN=c\n"
        "R\t301231235959Z\t250103000000Z\t05\tunknown\t/CN=d\n"
    )
    (tmp_path / "crlnumber").write_text("1000\n")
    crl_pem = tmp_path / "crl.pem"
    proc = _in_dir(
        ossl, tmp_path, ["ca", "-config", "ca.cnf", "-gencrl", "-out", crl_pem, "-batch"]
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    crl = load_crl(crl_pem.read_bytes())
    crl.verify_issued_by((tmp_path / "ca.pem").read_bytes())
    assert crl.crl_number == 0x1000
    assert len(crl) == 3
    assert crl.lookup(0x0A1B2C3D4E5F) is not None
    assert crl.lookup(0x0A1B2C3D4E5F).reason is RevocationReason.KEY_COMPROMISE  # type: ignore[union-attr]
    hold = crl.lookup(0x7F000000000000000001)
    assert hold is not None
    assert hold.reason is RevocationReason.CERTIFICATE_HOLD
    assert crl.lookup(0x05) is not None
    assert crl.lookup(0x99) is None  # valid, not revoked


def _in_dir(ossl: Any, cwd: Path, args: list[Any]) -> Any:
    return run_openssl(ossl.binary, ossl.conf, args, cwd=cwd)


def test_we_parse_and_verify_a_certtool_generated_crl(certtool: Any, tmp_path: Path) -> None:
    ct = certtool
    ca_key, ca_pem = tmp_path / "ca.key", tmp_path / "ca.pem"
    leaf_key, leaf_pem = tmp_path / "leaf.key", tmp_path / "leaf.pem"
    (tmp_path / "ca.tmpl").write_text(
        'cn = "GnuTLS GOST CA"\ncountry = RU\nca\ncert_signing_key\ncrl_signing_key\n'
        "expiration_days = 30\n"
    )
    (tmp_path / "leaf.tmpl").write_text('cn = "leaf"\nserial = 0x1234abcd\nexpiration_days = 30\n')
    (tmp_path / "crl.tmpl").write_text("crl_next_update = 7\ncrl_number = 77\n")
    ct.run(["--generate-privkey", "--key-type", "gost12-256", "--outfile", ca_key])
    ct.run(
        ["--generate-self-signed", "--load-privkey", ca_key, "--template", tmp_path / "ca.tmpl",
         "--outfile", ca_pem]
    )  # fmt: skip
    ct.run(["--generate-privkey", "--key-type", "gost12-256", "--outfile", leaf_key])
    ct.run(
        ["--generate-certificate", "--load-privkey", leaf_key, "--load-ca-privkey", ca_key,
         "--load-ca-certificate", ca_pem, "--template", tmp_path / "leaf.tmpl",
         "--outfile", leaf_pem]
    )  # fmt: skip
    crl_pem = tmp_path / "crl.pem"
    ct.run(
        ["--generate-crl", "--load-ca-privkey", ca_key, "--load-ca-certificate", ca_pem,
         "--load-certificate", leaf_pem, "--template", tmp_path / "crl.tmpl", "--outfile", crl_pem]
    )  # fmt: skip
    crl = load_crl(crl_pem.read_bytes())
    crl.verify_issued_by(ca_pem.read_bytes())
    info = ct.run(["--crl-info", "--infile", crl_pem]).stdout.decode()
    number = re.search(r"CRL Number \(not critical\): ([0-9a-f]+)", info)
    assert number is not None
    assert crl.crl_number == int(number.group(1), 16)
    assert len(crl) == 1
    entry = crl.lookup(0x1234ABCD)
    assert entry is not None
    assert entry.revoked_at <= crl.this_update
    assert crl.lookup(0x1234ABCE) is None

"""Cross-checks with the OpenSSL CLI and its gost engine (the ``openssl_gost`` fixture)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from atlas_ca.gost import (
    EngineName,
    GostPublicKey,
    generate_private_scalar,
    param_set,
    public_key_from_private,
    sign,
    streebog256,
    streebog512,
    verify,
)
from support.atlas_testing import OpenSSL
from support.gost_test_support import ENGINES, require_engine

CASES = [
    ("gost2012_256", "A", "md_gost12_256"),
    ("gost2012_256", "TCA", "md_gost12_256"),
    ("gost2012_256", "TCD", "md_gost12_256"),
    ("gost2012_512", "A", "md_gost12_512"),
    ("gost2012_512", "C", "md_gost12_512"),
]

# OpenSSL's names for our parameter sets (gost engine ``paramset:`` option).
OPENSSL_PARAMSET = {
    "cryptopro-a": ("gost2012_256", "A"),
    "tc26-256-a": ("gost2012_256", "TCA"),
    "tc26-256-b": ("gost2012_256", "TCB"),
    "tc26-512-b": ("gost2012_512", "B"),
    "tc26-512-c": ("gost2012_512", "C"),
}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> EngineName:
    return require_engine(str(request.param))


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN PUBLIC KEY-----\n" + b"\n".join(lines) + b"\n-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize(("algorithm", "paramset", "md"), CASES)
def test_we_verify_what_openssl_signs(
    openssl_gost: OpenSSL,
    tmp_path: Path,
    engine: EngineName,
    algorithm: str,
    paramset: str,
    md: str,
) -> None:
    key_pem = tmp_path / "key.pem"
    openssl_gost.run(
        ["genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}", "-out", key_pem]
    )
    spki = openssl_gost.run(["pkey", "-in", key_pem, "-pubout", "-outform", "DER"]).stdout
    public_key = GostPublicKey.from_spki_der(spki)
    data = tmp_path / "tbs.bin"
    payload = b"to be signed by OpenSSL " * 50
    data.write_bytes(payload)
    sig_path = tmp_path / "sig.bin"
    openssl_gost.run(["dgst", f"-{md}", "-sign", key_pem, "-out", sig_path, data])
    signature = sig_path.read_bytes()
    assert verify(public_key, payload, signature, engine=engine)
    assert not verify(public_key, payload + b"!", signature, engine=engine)


@pytest.mark.parametrize("name", sorted(OPENSSL_PARAMSET))
def test_openssl_verifies_what_we_sign(
    openssl_gost: OpenSSL, tmp_path: Path, engine: EngineName, name: str
) -> None:
    ps = param_set(name)
    d = generate_private_scalar(ps)
    public_key = public_key_from_private(ps, d, engine=engine)
    payload = b"to be signed by atlas_ca " * 50
    signature = sign(ps, d, payload, engine=engine)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(_pem(public_key.spki_der()))
    data = tmp_path / "tbs.bin"
    data.write_bytes(payload)
    sig_path = tmp_path / "sig.bin"
    sig_path.write_bytes(signature)
    md = "md_gost12_256" if ps.bits == 256 else "md_gost12_512"
    ok = openssl_gost.run(
        ["dgst", f"-{md}", "-verify", pub, "-signature", sig_path, data], check=False
    )
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"Verified OK" in ok.stdout
    data.write_bytes(payload + b"!")
    bad = openssl_gost.run(
        ["dgst", f"-{md}", "-verify", pub, "-signature", sig_path, data], check=False
    )
    assert bad.returncode != 0
    assert b"Verification failure" in bad.stdout + bad.stderr


def test_openssl_raw_pkeyutl_verify_takes_our_digest_and_signature(
    openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    ps = param_set("tc26-512-a")
    d = generate_private_scalar(ps)
    payload = b"raw digest path"
    digest = streebog512(payload)
    signature = sign(ps, d, payload)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(_pem(public_key_from_private(ps, d).spki_der()))
    (tmp_path / "digest.bin").write_bytes(digest)
    (tmp_path / "sig.bin").write_bytes(signature)
    ok = openssl_gost.run(
        ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", tmp_path / "digest.bin",
         "-sigfile", tmp_path / "sig.bin"],
        check=False,
    )  # fmt: skip
    assert b"Signature Verified Successfully" in ok.stdout, ok.stderr.decode()


def test_large_file_digest_matches_openssl(openssl_gost: OpenSSL, tmp_path: Path) -> None:
    blob = bytes(range(251)) * 40_000 + b"!"  # ~10 MB, not a multiple of the block size
    path = tmp_path / "big.bin"
    path.write_bytes(blob)
    out = openssl_gost.run(["dgst", "-md_gost12_256", "-r", path]).stdout.split()[0].decode()
    assert streebog256(memoryview(blob)).hex() == out


@pytest.mark.parametrize(("algorithm", "paramset", "md"), [CASES[1], CASES[4]])
def test_openssl_gost_certificate_and_csr_parse_in_asn1crypto_and_verify_with_us(
    openssl_gost: OpenSSL, tmp_path: Path, algorithm: str, paramset: str, md: str
) -> None:
    from asn1crypto import csr, x509

    from atlas_ca.asn1 import gost as asn1_gost

    key_pem = tmp_path / "key.pem"
    openssl_gost.run(
        ["genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}", "-out", key_pem]
    )
    cert_der = openssl_gost.run(
        ["req", "-new", "-x509", "-key", key_pem, f"-{md}", "-subj", "/CN=gost test",
         "-days", "1", "-outform", "DER"]
    ).stdout  # fmt: skip
    csr_der = openssl_gost.run(
        ["req", "-new", "-key", key_pem, f"-{md}", "-subj", "/CN=gost csr", "-outform", "DER"]
    ).stdout

    cert = x509.Certificate.load(cert_der)
    assert cert.native["tbs_certificate"]["subject"]["common_name"] == "gost test"
    sig_name = cert["signature_algorithm"]["algorithm"].native
    assert sig_name in (asn1_gost.SIG_256, asn1_gost.SIG_512)
    key = GostPublicKey.from_spki_der(cert.public_key.dump())
    tbs = cert["tbs_certificate"].dump()
    assert verify(key, tbs, cert["signature_value"].native)

    request = csr.CertificationRequest.load(csr_der)
    info = request["certification_request_info"]
    assert info.native["subject"]["common_name"] == "gost csr"
    csr_key = GostPublicKey.from_spki_der(info["subject_pk_info"].dump())
    assert csr_key == key
    assert verify(csr_key, info.dump(), request["signature"].native)

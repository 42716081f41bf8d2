"""Everything real is read: RFC 9215's examples (test curves named as such), GOST R 34.10-2001
objects OpenSSL makes, a non-DER BOOLEAN, a v1 certificate with extensions; CRLs and requests
are linted. See tests/vectors/rfc9215/README.md for the vectors' source.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import pem as asn1_pem
from click.testing import CliRunner

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1 import oids
from atlas_ca.cli import main
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.hsm import software
from atlas_ca.profiles import INDIVIDUAL
from atlas_ca.profiles.lint import lint_crl_der, lint_csr_der, lint_der
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest, CsrBuilder
from atlas_ca.x509.der import canonical_booleans, tlv
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, pem_decode
from atlas_ca.x509.signatures import verify_signature
from support.atlas_testing import OpenSSL
from support.profiles_certkit import children
from support.profiles_samples import World, build_world

RFC9215 = Path(__file__).resolve().parents[1] / "vectors" / "rfc9215"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("read-real")))


def vector(name: str, label: PemLabel) -> bytes:
    return pem_decode((RFC9215 / name).read_bytes(), label)


def show(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["show", *extra, str(path)])
    return result.exit_code, result.output


def lint_cli(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *extra, str(path)])
    return result.exit_code, result.output


# --- RFC 9215 Appendix A ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in RFC9215.glob("*.pem")))
def test_every_rfc_9215_example_is_shown(name: str) -> None:
    code, out = show(RFC9215 / name)
    assert code == 0, out
    if "test" in name and not name.startswith("crl"):
        assert "GOST test parameter set" in out
        assert "warning: key on a GOST test parameter set" in out


def test_the_test_curve_is_named_in_the_json_too() -> None:
    code, out = show(RFC9215 / "cert-512-test.pem", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["public_key"]["parameters"].startswith("test-512 (GOST test parameter set")


def test_the_rfc_9215_paramset_a_certificate_and_crl_verify_with_its_key() -> None:
    cert = Certificate.from_der(vector("cert-256-a.pem", PemLabel.CERTIFICATE))
    cert.verify_signed_by(cert.public_key.der)
    crl = CertificateRevocationList.from_der(vector("crl-256-a.pem", PemLabel.X509_CRL))
    crl.verify(cert.public_key.der)


def test_the_rfc_9215_paramset_a_private_key_above_q_is_taken_modulo_q(tmp_path: Path) -> None:
    """RFC 9215 A.2 prints d = 0x7A92…3B28 for tc26-256-A, whose q is about 2^254: d > q."""
    keys = json.loads((RFC9215 / "keys.json").read_text())
    d = int(keys["256-a"]["d"], 16)
    pki = asn1_gost.encode_pkcs8(
        oids.GostAlgorithm.GOST3410_2012_256.dotted,
        oids.GostParamSet.TC26_256_A.dotted,
        None,
        d.to_bytes(32, "little"),
    )
    path = tmp_path / "rfc9215-a2.pem"
    path.write_bytes(
        asn1_pem.armor("ENCRYPTED PRIVATE KEY", software._encrypt_pkcs8(pki, "rfc", 1000))
    )
    key = software.open_software_key(f"file:{path}", password="rfc")
    cert = Certificate.from_der(vector("cert-256-a.pem", PemLabel.CERTIFICATE))
    assert asn1_gost.decode_spki(key.public_key_info).point == (
        asn1_gost.decode_spki(cert.public_key.der).point
    )
    signature = key.sign(b"RFC 9215")
    verify_signature(
        cert.public_key.der, SignatureAlgorithm.GOST3410_2012_256, b"RFC 9215", signature
    )


def test_the_rfc_9215_crls_lack_what_rfc_5280_requires() -> None:
    for name in ("crl-256-a.pem", "crl-256-test.pem", "crl-512-test.pem"):
        report = lint_crl_der(vector(name, PemLabel.X509_CRL))
        assert {f.code for f in report.errors} == {"e_crl_aki_missing", "e_crl_number_missing"}


def test_a_request_on_a_test_curve_is_refused_without_a_false_signature_error() -> None:
    report = lint_csr_der(vector("req-512-test.pem", PemLabel.CERTIFICATE_REQUEST))
    assert {f.code for f in report.errors} == {"e_ru_csr_key_test_curve"}
    assert "n_csr_signature_not_checked" in report.codes


def test_the_rfc_9215_paramset_a_request_is_clean() -> None:
    report = lint_csr_der(vector("req-256-a.pem", PemLabel.CERTIFICATE_REQUEST))
    assert report.findings == ()


def test_a_certificate_on_a_test_curve_is_refused_by_the_qualified_profiles() -> None:
    der = vector("cert-256-test.pem", PemLabel.CERTIFICATE)
    assert "e_ru_key_param_set_not_allowed" in {f.code for f in lint_der(der).errors}


# --- our CRLs and requests --------------------------------------------------------------------


def test_our_requests_lint_clean(world: World) -> None:
    csr = (
        CsrBuilder()
        .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "Проверка")]))
        .sign(world.keys.subscriber)
    )
    assert lint_csr_der(csr.der).findings == ()


def test_a_request_with_a_broken_signature_is_an_error(world: World) -> None:
    der = bytearray(
        CsrBuilder()
        .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "x")]))
        .sign(world.keys.subscriber)
        .der
    )
    der[-1] ^= 0x01
    assert "e_csr_signature_invalid" in {f.code for f in lint_csr_der(bytes(der)).errors}


def test_the_cli_lints_a_crl_and_names_no_enum(tmp_path: Path) -> None:
    path = tmp_path / "crl.pem"
    path.write_bytes((RFC9215 / "crl-256-a.pem").read_bytes())
    code, out = lint_cli(path)
    assert code == 1
    assert "e_crl_number_missing" in out
    assert "PemLabel" not in out
    other = tmp_path / "key.pem"
    other.write_bytes(asn1_pem.armor("PRIVATE KEY", b"\x30\x00"))
    code, out = lint_cli(other)
    assert code == 2
    assert "PEM block PRIVATE KEY is not a certificate, CRL or certificate request" in out
    code, out = show(other)
    assert code == 2
    assert "PemLabel" not in out


# --- GOST R 34.10-2001, made by OpenSSL's gost engine ------------------------------------------


@pytest.mark.openssl_gost
def test_a_gost_2001_certificate_and_request_are_shown_and_linted(
    openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    key, cert, req = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "r.pem"
    base = ["req", "-newkey", "gost2001", "-pkeyopt", "paramset:A", "-nodes", "-keyout", key]
    openssl_gost.run([*base, "-x509", "-subj", "/C=RU/CN=2001", "-days", "30", "-out", cert])
    openssl_gost.run(["req", "-new", "-key", key, "-subj", "/CN=2001", "-out", req])
    for path in (cert, req):
        code, out = show(path)
        assert code == 0, out
        assert "gost2001 (cryptopro-a)" in out
        assert "warning: GOST R 34.10-2001 key: not for qualified use since 2019-01-01" in out
    parsed = Certificate.load(cert.read_bytes())
    assert parsed.public_key.key_type is KeyType.GOST3410_2001
    assert parsed.signature_algorithm is SignatureAlgorithm.GOST3410_2001
    cert_der = pem_decode(cert.read_bytes(), PemLabel.CERTIFICATE)
    assert "n_ru_key_gost2001" in lint_der(cert_der).codes
    # Issued now, so after 2018: against a qualified profile an error, not a notice.
    assert "e_ru_key_not_gost2012" in {f.code for f in lint_der(cert_der, "ca").errors}
    csr_report = lint_csr_der(pem_decode(req.read_bytes(), PemLabel.CERTIFICATE_REQUEST))
    assert {f.code for f in csr_report.errors} == {"e_ru_csr_key_not_gost2012"}
    assert "n_csr_signature_not_checked" in csr_report.codes
    # Never accepted for issuance: no profile allows the key, and its signature is not checked.
    request = CertificationRequest.load(req.read_bytes())
    assert not INDIVIDUAL.allows_key(request.public_key.key_type, oids.GostParamSet.CRYPTOPRO_A)
    with pytest.raises(SignatureInvalid, match="2001"):
        request.verify()


# --- non-DER BOOLEAN and a v1 certificate with extensions -------------------------------------


def _boolean_true_as_01(der: bytes) -> bytes:
    """Our certificate with basicConstraints' (or keyUsage's) critical TRUE written as 0x01."""
    at = der.find(bytes.fromhex("0101ff"))
    assert at > 0
    return der[:at] + bytes.fromhex("010101") + der[at + 3 :]


def test_a_non_der_boolean_is_shown_with_a_warning_but_never_accepted(
    world: World, tmp_path: Path
) -> None:
    ber = _boolean_true_as_01(world.individual.der)
    path = tmp_path / "ber.der"
    path.write_bytes(ber)
    code, out = show(path)
    assert code == 0, out
    assert "warning: not DER" in out
    assert "BOOLEAN" in out
    assert canonical_booleans(ber) == world.individual.der
    with pytest.raises(DecodeError, match="BOOLEAN"):
        Certificate.from_der(ber)  # what we accept stays strict DER
    assert "e_x690_not_der" in {f.code for f in lint_der(ber).errors}


def test_a_v1_certificate_with_extensions_is_told_so(world: World, tmp_path: Path) -> None:
    tbs, alg, sig = children(world.individual.der)
    v1_tbs = tlv(0x30, b"".join(children(tbs)[1:]))  # drop [0] version: v1, extensions kept
    path = tmp_path / "v1.der"
    path.write_bytes(tlv(0x30, v1_tbs + alg + sig))
    code, out = show(path)
    assert code == 2
    assert "a v1 certificate carries extensions: only v3 may (RFC 5280 §4.1.2.1)" in out
    assert "e_rfc_version_not_v3" in {f.code for f in lint_der(path.read_bytes()).errors}
